"""The Hugging Face-compatible read API, driven by the real huggingface_hub client over HTTP.

The registry runs under uvicorn on a free port (huggingface_hub needs a real endpoint). Where the
emulator speaks the real Hub API, the registry's answers are compared with the emulator's: a
model mirrored from the Hub must look to the client exactly like the Hub's own repository.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import pkgutil
import socket
import struct
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from huggingface_hub import (
    HfApi,
    HfFileSystem,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import disable_progress_bars

import tmr.api
from tests.emulator.server import EmulatorServer, uvicorn_config
from tests.support import auth_request
from tmr.accounts.models import SYSTEM, User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.container import Registry

BERT = "google-bert/bert-base-uncased"
BOOKCORPUS = "bookcorpus/bookcorpus"


@contextlib.contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn in a background thread on a free port; stopped on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a guard against hanging, not a measure of speed
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the registry did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class Hub:
    url: str
    token: str  # the /authenticate answer verbatim: "bearer <jwt>"
    emulator: EmulatorServer
    cache: Path

    @property
    def api(self) -> HfApi:
        return HfApi(endpoint=self.url, token=self.token)

    @property
    def upstream(self) -> HfApi:
        return HfApi(endpoint=self.emulator.url, token=False)

    def login(self, name: str, password: str) -> str:
        response = httpx.put(f"{self.url}/authenticate", json=auth_request(password, name))
        assert response.status_code == 200, response.text
        token: str = response.json()
        return token

    def register(self, type_: str, repo_id: str) -> dict[str, Any]:
        prefix = "datasets/" if type_ == "dataset" else ""
        response = httpx.post(
            f"{self.url}/artifact/{type_}",
            json={"url": f"https://huggingface.co/{prefix}{repo_id}"},
            headers={"X-Authorization": self.token},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def upstream_bytes(self, repo_id: str, path: str, repo_type: str = "model") -> bytes:
        url = hf_hub_url(repo_id, path, repo_type=repo_type, endpoint=self.emulator.url)
        return httpx.get(url).content


@pytest.fixture(autouse=True)
def _quiet() -> None:
    disable_progress_bars()


@pytest.fixture
def hub(registry: Registry, emulator: EmulatorServer, tmp_path: Path) -> Iterator[Hub]:
    with serving(create_app(registry=registry)) as url:
        hub = Hub(url, "", emulator, tmp_path / "hf-cache")
        hub.token = hub.login(registry.settings.admin_user, auth_request()["secret"]["password"])
        yield hub


@pytest.fixture
def bert(hub: Hub) -> Hub:
    hub.register("model", BERT)
    return hub


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- downloads ---------------------------------------------------------------------------------


def test_snapshot_download_is_the_upstream_byte_for_byte(bert: Hub) -> None:
    folder = Path(snapshot_download(BERT, endpoint=bert.url, token=bert.token, cache_dir=bert.cache))
    upstream_sha = bert.upstream.model_info(BERT).sha
    assert folder.name == upstream_sha  # the Hub's commit: caches are shared with the Hub's downloads
    expected = bert.upstream.list_repo_files(BERT)
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == sorted(expected)
    for path in expected:
        assert sha256((folder / path).read_bytes()) == sha256(bert.upstream_bytes(BERT, path)), path
    verification = bert.api.verify_repo_checksums(BERT, cache_dir=bert.cache)
    assert verification.checked_count == len(expected)
    assert not verification.mismatches
    assert not verification.missing_paths


def test_snapshot_download_with_allow_patterns(bert: Hub) -> None:
    folder = Path(
        snapshot_download(
            BERT, endpoint=bert.url, token=bert.token, cache_dir=bert.cache, allow_patterns=["*.json"]
        )
    )
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["config.json", "tokenizer.json", "tokenizer_config.json"]
    assert json.loads((folder / "config.json").read_bytes()) == json.loads(
        bert.upstream_bytes(BERT, "config.json")
    )


def test_hf_hub_download_of_one_file_and_of_the_weights(bert: Hub) -> None:
    for name in ("config.json", "model.safetensors"):
        path = hf_hub_download(BERT, name, endpoint=bert.url, token=bert.token, cache_dir=bert.cache)
        assert sha256(Path(path).read_bytes()) == sha256(bert.upstream_bytes(BERT, name))
    # By commit too: what snapshot_download asks for once it knows the commit.
    commit = bert.api.model_info(BERT).sha
    assert commit is not None
    path = hf_hub_download(
        BERT, "vocab.txt", revision=commit, endpoint=bert.url, token=bert.token, cache_dir=bert.cache
    )
    assert Path(path).read_bytes() == bert.upstream_bytes(BERT, "vocab.txt")


def test_a_short_repo_id_and_a_local_dir_download(bert: Hub, tmp_path: Path) -> None:
    path = hf_hub_download(
        "bert-base-uncased", "config.json", endpoint=bert.url, token=bert.token, local_dir=tmp_path / "local"
    )
    assert Path(path).read_bytes() == bert.upstream_bytes(BERT, "config.json")


def test_metadata_of_a_file_is_the_hubs(bert: Hub) -> None:
    for name in ("config.json", "model.safetensors"):
        ours = get_hf_file_metadata(hf_hub_url(BERT, name, endpoint=bert.url), token=bert.token)
        theirs = get_hf_file_metadata(hf_hub_url(BERT, name, endpoint=bert.emulator.url), token=False)
        assert (ours.commit_hash, ours.etag, ours.size) == (theirs.commit_hash, theirs.etag, theirs.size)
        assert ours.xet_file_data is None
    head = httpx.head(
        hf_hub_url(BERT, "model.safetensors", endpoint=bert.url),
        headers={"Authorization": f"Bearer {bert.token}"},
    )
    weights = bert.upstream_bytes(BERT, "model.safetensors")
    assert head.status_code == 200
    assert head.headers["content-length"] == head.headers["x-linked-size"] == str(len(weights))
    assert head.headers["x-linked-etag"] == head.headers["etag"] == f'"{sha256(weights)}"'
    assert head.headers["accept-ranges"] == "bytes"
    assert not any(h.startswith("x-xet") for h in head.headers)


def test_range_requests(bert: Hub) -> None:
    url = hf_hub_url(BERT, "model.safetensors", endpoint=bert.url)
    auth = {"Authorization": f"Bearer {bert.token}"}
    whole = bert.upstream_bytes(BERT, "model.safetensors")
    part = httpx.get(url, headers={**auth, "Range": "bytes=10-99"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 10-99/{len(whole)}"
    assert part.content == whole[10:100]
    assert httpx.get(url, headers={**auth, "Range": "bytes=-16"}).content == whole[-16:]
    beyond = httpx.get(url, headers={**auth, "Range": f"bytes={len(whole)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(whole)}"
    stale = httpx.get(url, headers={**auth, "Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200
    assert stale.content == whole


def test_hf_file_system_reads_ranges_and_lists(bert: Hub) -> None:
    fs = HfFileSystem(endpoint=bert.url, token=bert.token, skip_instance_cache=True)
    whole = bert.upstream_bytes(BERT, "model.safetensors")
    with fs.open(f"{BERT}/model.safetensors", "rb", block_size=4096) as weights:
        weights.seek(10_000)
        assert weights.read(100) == whole[10_000:10_100]  # a ranged GET, not the whole file
    assert fs.info(f"{BERT}/model.safetensors")["size"] == len(whole)
    assert sorted(fs.glob(f"{BERT}/*.json")) == [
        f"{BERT}/config.json",
        f"{BERT}/tokenizer.json",
        f"{BERT}/tokenizer_config.json",
    ]
    assert fs.read_bytes(f"{BERT}/vocab.txt") == bert.upstream_bytes(BERT, "vocab.txt")


def test_a_corrupt_upstream_is_an_error_never_a_file(bert: Hub) -> None:
    bert.emulator.faults.add(r"model\.safetensors", corrupt=True)
    with pytest.raises(HfHubHTTPError) as caught:
        hf_hub_download(BERT, "model.safetensors", endpoint=bert.url, token=bert.token, cache_dir=bert.cache)
    assert caught.value.response.status_code == 502
    assert "digest" in str(caught.value)
    assert not list(bert.cache.rglob("model.safetensors"))
    assert not [p for p in bert.cache.rglob("blobs/*") if not p.name.endswith(".incomplete")]
    bert.emulator.faults.clear()
    path = hf_hub_download(
        BERT, "model.safetensors", endpoint=bert.url, token=bert.token, cache_dir=bert.cache
    )
    assert sha256(Path(path).read_bytes()) == sha256(bert.upstream_bytes(BERT, "model.safetensors"))


# -- repository descriptions -------------------------------------------------------------------


def test_model_info_matches_the_upstream(bert: Hub) -> None:
    ours = bert.api.model_info(BERT, files_metadata=True)
    theirs = bert.upstream.model_info(BERT, files_metadata=True)
    assert (ours.id, ours.sha, ours.private, ours.gated) == (BERT, theirs.sha, False, False)
    assert ours.siblings == theirs.siblings
    assert ours.library_name == "transformers"
    assert ours.pipeline_tag == theirs.pipeline_tag
    assert ours.tags == theirs.tags
    assert ours.card_data is not None
    assert ours.card_data.license == "apache-2.0"
    assert ours.last_modified == theirs.last_modified
    assert ours.config == {"architectures": ["BertForMaskedLM"], "model_type": "bert"}
    plain = bert.api.model_info(BERT)
    assert plain.siblings is not None
    assert {s.rfilename for s in plain.siblings} == {s.rfilename for s in theirs.siblings or []}
    assert bert.api.model_info(BERT, revision=theirs.sha).sha == theirs.sha
    assert bert.api.model_info(BERT, expand=["sha"]).sha == theirs.sha
    assert bert.api.repo_exists(BERT)
    assert bert.api.file_exists(BERT, "config.json")
    assert not bert.api.file_exists(BERT, "nope.json")


def test_list_repo_tree_matches_the_upstream(hub: Hub) -> None:
    hub.register("dataset", BOOKCORPUS)
    for recursive in (False, True):
        ours = list(hub.api.list_repo_tree(BOOKCORPUS, repo_type="dataset", recursive=recursive))
        theirs = list(hub.upstream.list_repo_tree(BOOKCORPUS, repo_type="dataset", recursive=recursive))
        assert ours == theirs  # paths, sizes, blob and tree ids, LFS facts
    sub = list(hub.api.list_repo_tree(BOOKCORPUS, "plain_text", repo_type="dataset"))
    assert [e.path for e in sub] == ["plain_text/train-00000-of-00001.parquet"]
    expanded = list(hub.api.list_repo_tree(BOOKCORPUS, repo_type="dataset", expand=True))
    upstream = list(hub.upstream.list_repo_tree(BOOKCORPUS, repo_type="dataset"))
    assert [e.path for e in expanded] == [e.path for e in upstream]  # the same entries: not vacuous
    assert all(e.last_commit is not None for e in expanded)
    with pytest.raises(EntryNotFoundError):
        list(hub.api.list_repo_tree(BOOKCORPUS, "missing", repo_type="dataset"))
    assert hub.api.list_repo_files(BOOKCORPUS, repo_type="dataset") == hub.upstream.list_repo_files(
        BOOKCORPUS, repo_type="dataset"
    )
    info = hub.api.dataset_info(BOOKCORPUS)
    assert info.sha == hub.upstream.dataset_info(BOOKCORPUS).sha
    assert info.description


def test_a_dataset_snapshot(hub: Hub) -> None:
    hub.register("dataset", BOOKCORPUS)
    folder = Path(
        snapshot_download(
            BOOKCORPUS, repo_type="dataset", endpoint=hub.url, token=hub.token, cache_dir=hub.cache
        )
    )
    parquet = "plain_text/train-00000-of-00001.parquet"
    assert (folder / parquet).read_bytes() == hub.upstream_bytes(BOOKCORPUS, parquet, "dataset")
    paths = hub.api.get_paths_info(BOOKCORPUS, [parquet, "plain_text", "nope"], repo_type="dataset")
    assert [p.path for p in paths] == [parquet, "plain_text"]


def test_one_file_asked_for_mirrors_that_file_only(hub: Hub, registry: Registry) -> None:
    dataset_id = hub.register("dataset", "rajpurkar/squad")["metadata"]["id"]
    train = "plain_text/train-00000-of-00001.parquet"
    path = hf_hub_download(
        "rajpurkar/squad", train, repo_type="dataset", endpoint=hub.url, token=hub.token, cache_dir=hub.cache
    )
    assert Path(path).read_bytes() == hub.upstream_bytes("rajpurkar/squad", train, "dataset")
    stored = {f.path: f.sha256 is not None for f in registry.artifacts.get_any(SYSTEM, dataset_id).files}
    assert stored[train] is True
    assert stored["plain_text/validation-00000-of-00001.parquet"] is False


def test_refs_name_the_one_commit_and_the_version(hub: Hub, registry: Registry) -> None:
    artifact = registry.artifacts.get_any(SYSTEM, hub.register("model", BERT)["metadata"]["id"])
    commit = hub.upstream.model_info(BERT).sha
    refs = hub.api.list_repo_refs(BERT, include_pull_requests=True)
    assert [(b.name, b.target_commit) for b in refs.branches] == [("main", commit)]
    assert artifact.version
    assert [(t.name, t.ref, t.target_commit) for t in refs.tags] == [
        (artifact.version, f"refs/tags/{artifact.version}", commit)
    ]
    assert refs.pull_requests == []
    assert hub.api.model_info(BERT, revision=artifact.version).sha == commit


# -- errors --------------------------------------------------------------------------------------


def test_unknown_repository_revision_and_file(bert: Hub) -> None:
    kwargs: dict[str, Any] = {"endpoint": bert.url, "token": bert.token, "cache_dir": bert.cache}
    with pytest.raises(RepositoryNotFoundError):
        bert.api.model_info("acme/nothing-here")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("acme/nothing-here", "config.json", **kwargs)
    with pytest.raises(RepositoryNotFoundError):
        bert.api.dataset_info(BERT)  # a model is not a dataset
    with pytest.raises(RevisionNotFoundError):
        bert.api.model_info(BERT, revision="v9")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(BERT, "config.json", revision="nope", **kwargs)
    with pytest.raises(RevisionNotFoundError):
        snapshot_download(BERT, revision="nope", **kwargs)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(BERT, "nope.json", **kwargs)


def test_tokens(bert: Hub) -> None:
    kwargs: dict[str, Any] = {"endpoint": bert.url, "cache_dir": bert.cache}
    with pytest.raises(RepositoryNotFoundError) as missing:
        hf_hub_download(BERT, "config.json", token=False, **kwargs)
    assert missing.value.response.status_code == 401
    assert "authenticated users only" in str(missing.value)
    with pytest.raises(HfHubHTTPError) as refused:
        HfApi(endpoint=bert.url, token="bearer not-a-token").model_info(BERT)
    assert refused.value.response.status_code == 401
    assert not isinstance(refused.value, RepositoryNotFoundError)
    with pytest.raises(HfHubHTTPError) as refused_file:
        hf_hub_download(BERT, "config.json", token="not-a-token", **kwargs)
    assert refused_file.value.response.status_code == 401
    # The bare JWT, and the registry's own header, work as well as "bearer <jwt>".
    jwt = bert.token.split(" ", 1)[1]
    assert HfApi(endpoint=bert.url, token=jwt).model_info(BERT).id == BERT
    own_header = HfApi(endpoint=bert.url, token=False, headers={"X-Authorization": bert.token})
    assert own_header.model_info(BERT).id == BERT


# -- uploads -------------------------------------------------------------------------------------


def _upload_route_exists() -> bool:
    for module in pkgutil.iter_modules(tmr.api.__path__):
        router = getattr(importlib.import_module(f"tmr.api.{module.name}"), "router", None)
        if any(str(getattr(r, "path", "")).endswith("/upload") for r in getattr(router, "routes", [])):
            return True
    return False


def _safetensors(values: list[float]) -> bytes:
    data = struct.pack(f"<{len(values)}f", *values)
    header = json.dumps({"w": {"dtype": "F32", "shape": [len(values)], "data_offsets": [0, len(data)]}})
    return struct.pack("<Q", len(header)) + header.encode() + data


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.skipif(not _upload_route_exists(), reason="the upload route is not written yet")
def test_a_private_upload_is_served_to_its_owner_only(hub: Hub, registry: Registry, tmp_path: Path) -> None:
    for name in ("alice", "bob"):
        registry.store.put_user(User(name, False, hash_password(f"{name}-password")))
    alice, bob = hub.login("alice", "alice-password"), hub.login("bob", "bob-password")
    files = {
        "config.json": json.dumps({"model_type": "bert", "architectures": ["BertModel"]}).encode(),
        "model.safetensors": _safetensors([0.5, 1.5, -2.0, 3.25]),
        "nested/notes.md": b"# Notes\n",
    }
    response = httpx.post(
        f"{hub.url}/artifact/model/upload",
        params={"name": "acme/secret-model", "version": "1.2.0"},
        content=_zip(files),
        headers={"X-Authorization": alice, "Content-Type": "application/zip"},
        timeout=60,
    )
    assert response.status_code == 201, response.text

    folder = Path(snapshot_download("acme/secret-model", endpoint=hub.url, token=alice, cache_dir=hub.cache))
    for path, data in files.items():
        assert (folder / path).read_bytes() == data
    owner = HfApi(endpoint=hub.url, token=alice)
    info = owner.model_info("acme/secret-model", files_metadata=True)
    assert info.private is True
    assert folder.name == info.sha
    verification = owner.verify_repo_checksums("acme/secret-model", cache_dir=hub.cache)
    assert verification.checked_count == len(files)
    assert not verification.mismatches  # blob ids and LFS oids are the real ones
    assert owner.model_info("acme/secret-model", revision="1.2.0").sha == info.sha
    assert HfApi(endpoint=hub.url, token=hub.token).model_info("acme/secret-model").sha == info.sha  # admin

    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.url, token=bob).model_info("acme/secret-model")
    with pytest.raises(RepositoryNotFoundError):
        # A cache of its own: the client would fall back to alice's cached copy otherwise.
        hf_hub_download(
            "acme/secret-model", "config.json", endpoint=hub.url, token=bob, cache_dir=tmp_path / "bob"
        )


def test_file_downloads_through_the_door_are_audited_like_packages(hub: Hub) -> None:
    artifact_id = hub.register("model", BERT)["metadata"]["id"]
    auth = {"X-Authorization": hub.token}

    def downloads() -> int:
        trail = httpx.get(f"{hub.url}/artifact/model/{artifact_id}/audit", headers=auth).json()
        return sum(entry["action"] == "DOWNLOAD" for entry in trail)

    assert downloads() == 0
    hf_hub_download(BERT, "config.json", endpoint=hub.url, token=hub.token, cache_dir=hub.cache)
    assert downloads() == 1  # the metadata HEAD is not a download; the GET is
    resolve = f"{hub.url}/{BERT}/resolve/main/config.json"
    assert httpx.get(resolve, headers={**auth, "Range": "bytes=5-9"}).status_code == 206
    assert downloads() == 1  # a later part of a file resumes a download already counted


# -- name squatting ------------------------------------------------------------------------------


def test_the_real_hub_repository_wins_over_an_artifact_named_like_it(hub: Hub) -> None:
    """A namesake registered before the real repository, then updated so it is the most recent,
    must not be what the door serves for the repository id."""
    auth = {"X-Authorization": hub.token}
    squat = httpx.post(
        f"{hub.url}/artifact/model",
        json={"url": "https://www.kaggle.com/models/mallory/bert", "name": BERT},
        headers=auth,
        timeout=30,
    )
    assert squat.status_code == 201, squat.text  # nothing named BERT from the Hub yet: allowed
    squat_id = squat.json()["metadata"]["id"]
    hub.register("model", BERT)
    body = {
        "metadata": {"name": BERT, "id": squat_id, "type": "model"},
        "data": {"url": "https://www.kaggle.com/models/mallory/bert"},
    }
    assert httpx.put(f"{hub.url}/artifacts/model/{squat_id}", json=body, headers=auth).status_code == 200

    upstream_sha = hub.upstream.model_info(BERT).sha
    assert hub.api.model_info(BERT).sha == upstream_sha
    assert hub.api.model_info(BERT.upper()).sha == upstream_sha  # case-insensitive asks too
    path = hf_hub_download(BERT, "config.json", endpoint=hub.url, token=hub.token, cache_dir=hub.cache)
    assert Path(path).read_bytes() == hub.upstream_bytes(BERT, "config.json")


def test_a_name_imitating_a_registered_hub_id_is_refused(hub: Hub) -> None:
    hub.register("model", BERT)
    auth = {"X-Authorization": hub.token}
    for name in (BERT, BERT.upper(), f" {BERT} "):
        for type_ in ("model", "code"):
            response = httpx.post(
                f"{hub.url}/artifact/{type_}",
                json={"url": f"https://www.kaggle.com/models/mallory/{type_}", "name": name},
                headers=auth,
                timeout=30,
            )
            assert response.status_code == 409, (name, type_, response.text)
            assert "Hugging Face repository id" in response.text
    upload = httpx.post(
        f"{hub.url}/artifact/model/upload",
        params={"name": BERT},
        content=_zip({"config.json": b"{}"}),
        headers={**auth, "Content-Type": "application/zip"},
        timeout=60,
    )
    assert upload.status_code == 409, upload.text
    # A name of one's own is still fine, and so is the bare short name shared by many repositories.
    for name in ("mallory/bert", "bert-base-uncased"):
        response = httpx.post(
            f"{hub.url}/artifact/model",
            json={"url": f"https://www.kaggle.com/models/mallory/{name}", "name": name},
            headers=auth,
            timeout=30,
        )
        assert response.status_code == 201, response.text
    assert hub.api.model_info(BERT).sha == hub.upstream.model_info(BERT).sha
