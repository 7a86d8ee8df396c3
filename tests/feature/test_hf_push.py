"""Pushes through the Hugging Face door, driven by the real huggingface_hub client over HTTP:
create_repo, upload_folder (a small file in the commit, a large one over LFS), upload_file,
delete_file and create_tag, pulled back with snapshot_download; and each bad input changing
nothing. The LFS threshold is lowered through the server's preupload answer to keep files small.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, constants, snapshot_download
from huggingface_hub.errors import (
    BadRequestError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
)
from huggingface_hub.utils import disable_progress_bars

from tests.feature.test_hf_compat import serving
from tmr.accounts.models import SYSTEM, Permission, User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.container import Registry

THRESHOLD = 1024  # bytes: files of at least this size go over LFS

# huggingface_hub's LFS PUT passes the file as `data=` (lfs._upload_single_part), which its HTTP
# client deprecates; the client's code, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw:DeprecationWarning")


def _safetensors(count: int) -> bytes:
    data = struct.pack(f"<{count}f", *(i / 7 for i in range(count)))
    header = json.dumps({"w": {"dtype": "F32", "shape": [count], "data_offsets": [0, len(data)]}}).encode()
    return struct.pack("<Q", len(header)) + header + data


FILES = {
    "config.json": json.dumps({"model_type": "bert", "architectures": ["BertModel"]}).encode(),
    "README.md": b"---\nlicense: mit\n---\n# Demo\n\nA pushed model.\n",
    "model.safetensors": _safetensors(1024),  # 4 KiB + header: over the threshold, sent over LFS
    "tokenizer/vocab.txt": b"[PAD]\n[UNK]\nhello\n",
}


class Pusher:
    def __init__(self, url: str, registry: Registry) -> None:
        self.url = url
        self.registry = registry
        for name, permissions in (
            ("alice", frozenset(Permission)),
            ("bob", frozenset({Permission.SEARCH, Permission.DOWNLOAD})),
        ):
            registry.store.put_user(User(name, False, hash_password(f"{name}-password-9"), permissions))
        self.alice = self.login("alice")
        self.bob = self.login("bob")

    def login(self, name: str) -> str:
        body = {"user": {"name": name, "is_admin": False}, "secret": {"password": f"{name}-password-9"}}
        response = httpx.put(f"{self.url}/authenticate", json=body)
        assert response.status_code == 200, response.text
        token: str = response.json()
        return token

    def api(self, token: str) -> HfApi:
        return HfApi(endpoint=self.url, token=token)

    def artifacts(self, token: str, name: str) -> list[dict[str, Any]]:
        response = httpx.post(
            f"{self.url}/artifacts", json=[{"name": name}], headers={"X-Authorization": token}
        )
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found


@pytest.fixture
def pusher(make_registry: Any) -> Iterator[Pusher]:
    disable_progress_bars()
    registry = make_registry(hub_lfs_threshold=THRESHOLD)
    with serving(create_app(registry=registry)) as url:
        yield Pusher(url, registry)


@pytest.fixture
def no_xet(monkeypatch: pytest.MonkeyPatch) -> None:
    """HF_HUB_DISABLE_XET=1: the client sends "lfs" files over LFS (with hf_xet it would use Xet,
    which the registry does not speak; docs/architecture.md, "Pushing")."""
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def _pulled(pusher: Pusher, repo_id: str, cache: Path) -> dict[str, bytes]:
    folder = Path(snapshot_download(repo_id, endpoint=pusher.url, token=pusher.alice, cache_dir=cache))
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_pushed_folder_comes_back_byte_for_byte_and_is_a_rated_private_artifact(
    pusher: Pusher, no_xet: None, tmp_path: Path
) -> None:
    api = pusher.api(pusher.alice)
    url = api.create_repo("demo")
    assert url.repo_id == "alice/demo"
    api.upload_folder(folder_path=_folder(tmp_path / "src", FILES), repo_id="alice/demo")
    assert _pulled(pusher, "alice/demo", tmp_path / "cache") == FILES

    info = api.model_info("alice/demo", files_metadata=True)
    lfs = {s.rfilename: s.lfs for s in info.siblings or []}
    assert lfs["model.safetensors"] is not None
    assert lfs["model.safetensors"].sha256 == hashlib.sha256(FILES["model.safetensors"]).hexdigest()
    assert info.private is True

    (found,) = pusher.artifacts(pusher.alice, "alice/demo")
    assert found["type"] == "model"
    rating = httpx.get(
        f"{pusher.url}/artifact/model/{found['id']}/rate", headers={"X-Authorization": pusher.alice}
    )
    assert rating.status_code == 200, rating.text
    assert 0 <= rating.json()["net_score"] <= 1
    assert pusher.artifacts(pusher.bob, "alice/demo") == []  # private: bob does not see it

    with pytest.raises(HfHubHTTPError) as exists:
        api.create_repo("demo")
    assert exists.value.response.status_code == 409
    assert api.create_repo("demo", exist_ok=True).repo_id == "alice/demo"


def test_commits_replace_the_content_and_tags_are_versions(pusher: Pusher, tmp_path: Path) -> None:
    """With hf_xet installed (the client's default), small files need no LFS and still push."""
    api = pusher.api(pusher.alice)
    small = {k: v for k, v in FILES.items() if len(v) < THRESHOLD}
    api.create_repo("small")
    api.upload_folder(folder_path=_folder(tmp_path / "src", small), repo_id="alice/small")
    api.upload_file(path_or_fileobj=b"extra\n", path_in_repo="notes/extra.txt", repo_id="alice/small")
    api.delete_file("tokenizer/vocab.txt", repo_id="alice/small")
    expected = {**small, "notes/extra.txt": b"extra\n"}
    del expected["tokenizer/vocab.txt"]
    assert _pulled(pusher, "alice/small", tmp_path / "c1") == expected

    api.create_tag("alice/small", tag="v1.2")
    refs = api.list_repo_refs("alice/small")
    assert [t.name for t in refs.tags] == ["1.2.0"]
    assert _pulled(pusher, "alice/small", tmp_path / "c2") == expected
    (found,) = pusher.artifacts(pusher.alice, "alice/small")
    assert pusher.registry.artifacts.get_any(SYSTEM, found["id"]).version == "1.2.0"

    before = api.model_info("alice/small").sha
    with pytest.raises(BadRequestError, match="not a version"):
        api.create_tag("alice/small", tag="nightly")
    with pytest.raises(RemoteEntryNotFoundError, match="doesn't exist"):
        api.delete_file("missing.txt", repo_id="alice/small")
    assert api.model_info("alice/small").sha == before
    assert [t.name for t in api.list_repo_refs("alice/small").tags] == ["1.2.0"]


def _batch(pusher: Pusher, oid: str, size: int) -> dict[str, Any]:
    response = httpx.post(
        f"{pusher.url}/alice/lfs.git/info/lfs/objects/batch",
        json={"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": size}]},
        headers={"Authorization": f"Bearer {pusher.alice}"},
    )
    assert response.status_code == 200, response.text
    (obj,) = response.json()["objects"]
    return dict(obj)


def _commit_lfs(pusher: Pusher, oid: str, size: int) -> httpx.Response:
    lines = [
        {"key": "header", "value": {"summary": "add weights", "description": ""}},
        {
            "key": "lfsFile",
            "value": {"path": "model.safetensors", "algo": "sha256", "oid": oid, "size": size},
        },
    ]
    return httpx.post(
        f"{pusher.url}/api/models/alice/lfs/commit/main",
        content=b"".join(json.dumps(line).encode() + b"\n" for line in lines),
        headers={"Authorization": f"Bearer {pusher.alice}", "Content-Type": "application/x-ndjson"},
    )


def test_lfs_bytes_must_match_their_sha256_and_an_interrupted_upload_changes_nothing(
    pusher: Pusher, no_xet: None, tmp_path: Path
) -> None:
    api = pusher.api(pusher.alice)
    api.create_repo("lfs")
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id="alice/lfs")
    before = api.model_info("alice/lfs").sha
    data = FILES["model.safetensors"]
    oid, size = hashlib.sha256(data).hexdigest(), len(data)
    href = _batch(pusher, oid, size)["actions"]["upload"]["href"]

    wrong = httpx.put(href, content=data[:-1] + b"\x00")
    assert wrong.status_code == 400
    assert "do not match" in wrong.json()["error"]

    def cut() -> Iterator[bytes]:
        yield data[: size // 2]
        raise ConnectionAbortedError("the client went away")

    with pytest.raises((ConnectionAbortedError, httpx.HTTPError)):
        httpx.put(href, content=cut(), headers={"Content-Length": str(size)})

    refused = _commit_lfs(pusher, oid, size)
    assert refused.status_code == 400
    assert "has not been uploaded" in refused.json()["error"]
    forged = httpx.put(href.replace("grant=", "grant=0"), content=data)
    assert forged.status_code == 403
    assert api.model_info("alice/lfs").sha == before
    assert _pulled(pusher, "alice/lfs", tmp_path / "c") == {"config.json": b"{}"}

    assert httpx.put(href, content=data).status_code == 200
    assert _commit_lfs(pusher, oid, size).status_code == 200
    assert _pulled(pusher, "alice/lfs", tmp_path / "c2") == {"config.json": b"{}", "model.safetensors": data}
    assert _batch(pusher, oid, size).get("actions") is None  # sent once: not asked for again


def test_a_token_without_upload_is_refused_and_nothing_changes(pusher: Pusher, tmp_path: Path) -> None:
    bob = pusher.api(pusher.bob)
    with pytest.raises(HfHubHTTPError) as refused:
        bob.create_repo("mine")
    assert refused.value.response.status_code == 403
    assert "upload" in str(refused.value)
    with pytest.raises(HfHubHTTPError) as commit:
        bob.upload_file(path_or_fileobj=b"x", path_in_repo="a.txt", repo_id="bob/mine")
    assert commit.value.response.status_code == 403
    alice = pusher.api(pusher.alice)
    with pytest.raises(HfHubHTTPError) as elsewhere:  # nobody pushes into another's namespace
        alice.upload_file(path_or_fileobj=b"x", path_in_repo="a.txt", repo_id="bob/mine")
    assert elsewhere.value.response.status_code == 403
    assert pusher.artifacts(pusher.alice, "*") == []


def test_a_client_that_chooses_xet_is_told_how_to_push_over_lfs(pusher: Pusher) -> None:
    response = httpx.get(
        f"{pusher.url}/api/models/alice/demo/xet-write-token/main",
        headers={"Authorization": f"Bearer {pusher.alice}"},
    )
    assert response.status_code == 501
    assert "HF_HUB_DISABLE_XET=1" in response.headers["X-Error-Message"]


PUSH_WITH_TRANSFORMERS = """
import sys
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import BertConfig, PreTrainedTokenizerFast

repo = sys.argv[1]
BertConfig(vocab_size=8, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
           intermediate_size=8).push_to_hub(repo)
words = Tokenizer(models.WordLevel({"[UNK]": 0, "hello": 1, "world": 2}, unk_token="[UNK]"))
words.pre_tokenizer = pre_tokenizers.Whitespace()
PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]").push_to_hub(repo)
print(BertConfig.from_pretrained(repo).hidden_size)
print(PreTrainedTokenizerFast.from_pretrained(repo)("hello world")["input_ids"])
"""


def test_transformers_push_to_hub_pushes_a_config_and_a_tokenizer(pusher: Pusher, tmp_path: Path) -> None:
    """transformers as engineers run it: HF_ENDPOINT and HF_TOKEN in the environment, no torch."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_ENDPOINT": pusher.url,
        "HF_TOKEN": pusher.alice,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_XET": "1",  # tokenizer.json is over the test's LFS threshold
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "TRANSFORMERS_VERBOSITY": "error",
    }
    done = subprocess.run(
        [sys.executable, "-c", PUSH_WITH_TRANSFORMERS, "alice/tiny-bert"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[:2] == ["8", "[1, 2]"]
    files = pusher.api(pusher.alice).list_repo_files("alice/tiny-bert")
    assert {"config.json", "README.md", "tokenizer.json"} <= set(files)
    (found,) = pusher.artifacts(pusher.alice, "alice/tiny-bert")
    assert found["type"] == "model"


def test_a_commit_on_a_stale_parent_is_refused_with_412_and_changes_nothing(
    pusher: Pusher, tmp_path: Path
) -> None:
    api = pusher.api(pusher.alice)
    api.upload_file(path_or_fileobj=b"one\n", path_in_repo="a.txt", repo_id="alice/race")
    first = api.model_info("alice/race").sha
    assert first is not None
    api.upload_file(path_or_fileobj=b"two\n", path_in_repo="b.txt", repo_id="alice/race", parent_commit=first)
    second = api.model_info("alice/race").sha
    with pytest.raises(HfHubHTTPError) as stale:
        api.upload_file(
            path_or_fileobj=b"3\n", path_in_repo="c.txt", repo_id="alice/race", parent_commit=first
        )
    assert stale.value.response.status_code == 412
    assert "A commit has happened since" in str(stale.value)
    assert api.model_info("alice/race").sha == second
    assert _pulled(pusher, "alice/race", tmp_path / "c") == {"a.txt": b"one\n", "b.txt": b"two\n"}


def test_a_commit_whose_head_moves_meanwhile_is_applied_on_the_new_head(
    pusher: Pusher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another push lands between a commit's read of the head and its write: the write is refused
    (conditional on the head it read) and the commit applied again, so both pushes keep their file."""
    api = pusher.api(pusher.alice)
    api.upload_file(path_or_fileobj=b"base\n", path_in_repo="base.txt", repo_id="alice/moving")
    registration = pusher.registry.registration  # the seam where a commit has read the head
    prepare = registration.prepare_upload
    interleaved: list[str] = []

    def prepare_then_interleave(*args: Any, **kwargs: Any) -> Any:
        admission = prepare(*args, **kwargs)
        if not interleaved:
            interleaved.append("other")
            other = pusher.api(pusher.alice)
            other.upload_file(path_or_fileobj=b"other\n", path_in_repo="other.txt", repo_id="alice/moving")
        return admission

    monkeypatch.setattr(registration, "prepare_upload", prepare_then_interleave)
    api.upload_file(path_or_fileobj=b"mine\n", path_in_repo="mine.txt", repo_id="alice/moving")
    assert interleaved == ["other"]
    expected = {"base.txt": b"base\n", "other.txt": b"other\n", "mine.txt": b"mine\n"}
    assert _pulled(pusher, "alice/moving", tmp_path / "c") == expected


def test_concurrent_pushes_of_different_files_all_land(pusher: Pusher, tmp_path: Path) -> None:
    """Four clients push a file each at once, the first one creating the repository: none is lost
    (each refused write means another push landed, so four attempts always suffice)."""
    names = [f"part-{i}.txt" for i in range(4)]

    def push(name: str) -> None:
        pusher.api(pusher.alice).upload_file(
            path_or_fileobj=name.encode(), path_in_repo=name, repo_id="alice/together"
        )

    with ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(push, names))
    assert _pulled(pusher, "alice/together", tmp_path / "c") == {n: n.encode() for n in names}
    assert len(pusher.artifacts(pusher.alice, "alice/together")) == 1


def test_a_reset_forgets_created_repositories_and_sent_objects(
    pusher: Pusher, no_xet: None, tmp_path: Path
) -> None:
    api = pusher.api(pusher.alice)
    api.create_repo("empty")
    api.upload_folder(folder_path=_folder(tmp_path / "src", FILES), repo_id="alice/lfs")
    weights = FILES["model.safetensors"]
    oid = hashlib.sha256(weights).hexdigest()
    assert _batch(pusher, oid, len(weights)).get("actions") is None  # sent: not asked for again
    with pytest.raises(RemoteEntryNotFoundError):  # an empty repository of hers
        api.hf_hub_download("alice/empty", "README.md", cache_dir=tmp_path / "c1")

    pusher.registry.reset(SYSTEM)
    again = Pusher(pusher.url, pusher.registry)  # a new user who happens to be called alice
    api = again.api(again.alice)
    with pytest.raises(RepositoryNotFoundError):
        api.hf_hub_download("alice/empty", "README.md", cache_dir=tmp_path / "c2")
    assert _batch(again, oid, len(weights)).get("actions") is not None  # her bytes are asked for
    assert again.artifacts(again.alice, "*") == []
