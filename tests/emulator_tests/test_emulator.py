"""The emulator driven by the real huggingface_hub client and raw HTTP: Hub routes, errors, ranges, faults."""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.emulator.fixtures import DEFAULT_FIXTURES, GRANTED_TOKEN
from tests.emulator.server import EmulatorServer

BERT = "google-bert/bert-base-uncased"
ROOT = Path(__file__).resolve().parents[2]


def _api(server: EmulatorServer, token: str | bool = False) -> HfApi:
    return HfApi(endpoint=server.hf_endpoint, token=token)


def test_model_info_with_files_metadata(faults_cleared: EmulatorServer) -> None:
    info = _api(faults_cleared).model_info(BERT, files_metadata=True)
    repo = DEFAULT_FIXTURES.hf_repo("model", BERT)
    assert repo is not None
    assert info.id == BERT
    assert info.author == "google-bert"
    assert info.sha == repo.sha
    assert len(info.sha) == 40
    assert info.card_data is not None
    assert info.card_data.license == "apache-2.0"
    assert info.card_data.datasets == ["bookcorpus/bookcorpus", "wikipedia"]
    assert info.config == {"architectures": ["BertForMaskedLM"], "model_type": "bert"}
    assert info.pipeline_tag == "fill-mask"
    assert info.library_name == "transformers"
    assert (info.downloads or 0) > 1_000_000
    assert (info.likes or 0) > 1_000
    assert info.gated is False
    assert "license:apache-2.0" in (info.tags or [])
    siblings = {s.rfilename: s for s in info.siblings or []}
    assert {"README.md", "config.json", "vocab.txt", "tokenizer.json", "model.safetensors"} <= set(siblings)
    weights = siblings["model.safetensors"]
    assert weights.lfs is not None
    assert weights.lfs.size == weights.size
    assert len(weights.lfs.sha256) == 64
    assert siblings["config.json"].lfs is None
    assert len(siblings["config.json"].blob_id or "") == 40
    assert info.safetensors is not None
    assert info.safetensors.total > 0


def test_model_info_revisions_and_aliases(faults_cleared: EmulatorServer) -> None:
    api = _api(faults_cleared)
    main = api.model_info(BERT).sha
    tagged = api.model_info(BERT, revision="v1.0.0").sha
    assert tagged != main
    assert api.model_info(BERT, revision=tagged).sha == tagged
    assert api.model_info(BERT, revision="refs/pr/1").sha not in (main, tagged)
    assert api.model_info("bert-base-uncased").id == BERT  # legacy id answered with a 307 redirect
    with pytest.raises(RevisionNotFoundError):
        api.model_info(BERT, revision="does-not-exist")


def test_lineage_and_poor_cards(faults_cleared: EmulatorServer) -> None:
    api = _api(faults_cleared)
    tuned = api.model_info("acme/base-lm-finetuned")
    assert tuned.card_data is not None
    assert tuned.card_data.base_model == "acme/base-lm"
    lora = api.model_info("acme/base-lm-finetuned-lora")
    assert lora.card_data is not None
    assert getattr(lora.card_data, "base_model_relation", None) == "adapter"
    assert lora.config == {
        "peft": {"base_model_name_or_path": "acme/base-lm-finetuned", "task_type": "CAUSAL_LM"}
    }
    for repo_id in ("bare/no-card", "bare/empty-card", "bare/broken-yaml"):
        assert api.model_info(repo_id).card_data is None, repo_id
    assert not api.model_info("bare/no-card").config
    gated = api.model_info("meta-llama/Llama-3.2-1B")
    assert gated.gated == "manual"
    assert gated.card_data is not None
    assert gated.card_data.license == "llama3.2"


def test_dataset_info(faults_cleared: EmulatorServer) -> None:
    api = _api(faults_cleared)
    squad = api.dataset_info("rajpurkar/squad", files_metadata=True)
    assert squad.card_data is not None
    assert squad.card_data.license == "cc-by-sa-4.0"
    assert "task_categories:question-answering" in (squad.tags or [])
    assert any(s.lfs is not None for s in squad.siblings or [])
    assert api.dataset_info("bare/empty-dataset").card_data is None
    assert api.dataset_info("squad").id == "rajpurkar/squad"


def test_tree_listing_and_pagination(faults_cleared: EmulatorServer, hub: httpx.Client) -> None:
    api = _api(faults_cleared)
    entries = list(api.list_repo_tree(BERT, recursive=True))
    repo = DEFAULT_FIXTURES.hf_repo("model", BERT)
    assert repo is not None
    assert sorted(e.path for e in entries) == sorted(repo.files)
    assert sorted(api.list_repo_files(BERT)) == sorted(repo.files)
    sub = list(api.list_repo_tree("rajpurkar/squad", path_in_repo="plain_text", repo_type="dataset"))
    assert [e.path for e in sub] == [
        "plain_text/train-00000-of-00001.parquet",
        "plain_text/validation-00000-of-00001.parquet",
    ]
    first = hub.get(f"/api/models/{BERT}/tree/main", params={"recursive": "true", "limit": 3})
    assert len(first.json()) == 3
    assert first.links["next"]["url"]
    paths = [e["path"] for e in first.json()]
    url: str | None = first.links["next"]["url"]
    while url:
        page = hub.get(url)
        paths += [e["path"] for e in page.json()]
        url = page.links.get("next", {}).get("url")
    assert sorted(paths) == sorted(repo.files)


def test_list_repo_refs(faults_cleared: EmulatorServer) -> None:
    refs = _api(faults_cleared).list_repo_refs(BERT, include_pull_requests=True)
    assert [b.name for b in refs.branches] == ["main"]
    assert [t.ref for t in refs.tags] == ["refs/tags/v1.0.0", "refs/tags/v1.1.0"]
    assert refs.pull_requests is not None
    assert refs.pull_requests[0].ref == "refs/pr/1"


def test_hf_hub_download_sha256(faults_cleared: EmulatorServer, tmp_path: Path) -> None:
    info = _api(faults_cleared).model_info(BERT, files_metadata=True)
    lfs = next(s.lfs for s in info.siblings or [] if s.rfilename == "model.safetensors")
    path = hf_hub_download(
        BERT, "model.safetensors", endpoint=faults_cleared.hf_endpoint, cache_dir=tmp_path, token=False
    )
    data = Path(path).read_bytes()
    assert lfs is not None
    assert hashlib.sha256(data).hexdigest() == lfs.sha256
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
    assert 8 + header_len + end == len(data)


def test_snapshot_download(faults_cleared: EmulatorServer, tmp_path: Path) -> None:
    folder = snapshot_download(
        "acme/base-lm", endpoint=faults_cleared.hf_endpoint, cache_dir=tmp_path, token=False
    )
    names = sorted(p.name for p in Path(folder).iterdir())
    assert names == [".gitattributes", "README.md", "config.json", "model.safetensors"]
    assert json.loads((Path(folder) / "config.json").read_text())["model_type"] == "gpt2"


def test_hub_errors(faults_cleared: EmulatorServer, tmp_path: Path) -> None:
    endpoint = faults_cleared.hf_endpoint
    with pytest.raises(RepositoryNotFoundError):
        _api(faults_cleared).model_info("nobody/nothing")
    with pytest.raises(RepositoryNotFoundError):
        _api(faults_cleared).model_info("private/secret-model")
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download(BERT, "missing.txt", endpoint=endpoint, cache_dir=tmp_path, token=False)
    with pytest.raises(GatedRepoError):
        hf_hub_download(
            "meta-llama/Llama-3.2-1B", "model.safetensors", endpoint=endpoint, cache_dir=tmp_path, token=False
        )
    granted = hf_hub_download(
        "meta-llama/Llama-3.2-1B", "config.json", endpoint=endpoint, cache_dir=tmp_path, token=GRANTED_TOKEN
    )
    assert json.loads(Path(granted).read_text())["model_type"] == "llama"
    assert _api(faults_cleared, GRANTED_TOKEN).model_info("private/secret-model").private is True


def test_error_headers_and_auth_recording(faults_cleared: EmulatorServer, hub: httpx.Client) -> None:
    missing = hub.get("/api/models/nobody/nothing")
    assert missing.status_code == 404
    assert missing.headers["x-error-code"] == "RepoNotFound"
    assert missing.json() == {"error": "Repository not found"}
    entry = hub.head(f"/{BERT}/resolve/main/nope.bin")
    assert entry.headers["x-error-code"] == "EntryNotFound"
    assert entry.headers["x-repo-commit"]
    gated = hub.get("/meta-llama/Llama-3.2-1B/resolve/main/model.safetensors")
    assert gated.status_code == 401
    assert gated.headers["x-error-code"] == "GatedRepo"
    _api(faults_cleared, "hf_forwarded_token").model_info(BERT)
    assert faults_cleared.faults.last_authorization("hf") == "Bearer hf_forwarded_token"


def test_resolve_headers_and_ranges(hub: httpx.Client) -> None:
    repo = DEFAULT_FIXTURES.hf_repo("model", BERT)
    assert repo is not None
    weights, config = repo.entries["model.safetensors"], repo.entries["config.json"]
    head = hub.head(f"/{BERT}/resolve/main/model.safetensors")
    assert head.headers["etag"] == f'"{weights.blob.sha256}"' == head.headers["x-linked-etag"]
    assert head.headers["x-linked-size"] == head.headers["content-length"] == str(weights.size)
    assert head.headers["x-repo-commit"] == repo.sha
    assert head.headers["accept-ranges"] == "bytes"
    assert "model.safetensors" in head.headers["content-disposition"]
    cfg = hub.get(f"/{BERT}/resolve/v1.0.0/config.json")
    git_sha = hashlib.sha1(b"blob %d\0" % len(cfg.content) + cfg.content).hexdigest()
    assert cfg.headers["etag"] == f'"{git_sha}"'
    assert git_sha == config.oid
    full = weights.blob.read()
    part = hub.get(f"/{BERT}/resolve/main/model.safetensors", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206
    assert part.content == full[:10]
    assert part.headers["content-range"] == f"bytes 0-9/{len(full)}"
    tail = hub.get(f"/{BERT}/resolve/main/model.safetensors", headers={"Range": "bytes=100-"})
    assert tail.status_code == 206
    assert tail.content == full[100:]
    suffix = hub.get(f"/{BERT}/resolve/main/model.safetensors", headers={"Range": "bytes=-5"})
    assert suffix.content == full[-5:]
    beyond = hub.get(f"/{BERT}/resolve/main/model.safetensors", headers={"Range": f"bytes={len(full)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(full)}"


def test_large_file_is_streamed_with_known_digest(hub: httpx.Client) -> None:
    repo = DEFAULT_FIXTURES.hf_repo("model", "big/large-weights")
    assert repo is not None
    blob = repo.entries["model.safetensors"].blob
    digest = hashlib.sha256()
    with hub.stream("GET", "/big/large-weights/resolve/main/model.safetensors") as response:
        assert int(response.headers["content-length"]) == blob.size > 25_000_000
        for chunk in response.iter_bytes():
            digest.update(chunk)
    assert f'"{digest.hexdigest()}"' == response.headers["x-linked-etag"] == f'"{blob.sha256}"'
    middle = hub.get(
        "/big/large-weights/resolve/main/model.safetensors", headers={"Range": "bytes=12000000-12000099"}
    )
    assert middle.content == b"".join(blob.iter_range(12_000_000, 12_000_100))


def test_fault_429_then_success(faults_cleared: EmulatorServer, hub: httpx.Client) -> None:
    faults_cleared.faults.rate_limit(r"^/api/models/", times=1, retry_after=2)
    first = hub.get(f"/api/models/{BERT}")
    assert first.status_code == 429
    assert first.headers["retry-after"] == "2"
    assert hub.get(f"/api/models/{BERT}").status_code == 200
    assert faults_cleared.faults.requests_seen(r"^/api/models/") == 2


def test_fault_500_forever_reaches_client(faults_cleared: EmulatorServer) -> None:
    faults_cleared.faults.add(r"/api/models/acme/", status=500)
    for _ in range(3):
        with pytest.raises(HfHubHTTPError):
            _api(faults_cleared).model_info("acme/base-lm")
    assert faults_cleared.faults.requests_seen("acme/base-lm") == 3
    assert faults_cleared.faults.rules()[0].hits == 3


def test_fault_delay_causes_timeout(faults_cleared: EmulatorServer, hub: httpx.Client) -> None:
    faults_cleared.faults.add(r"/api/models/acme/base-lm$", delay_s=1.0, times=1)
    with pytest.raises(httpx.ReadTimeout):
        hub.get("/api/models/acme/base-lm", timeout=0.2)
    assert hub.get("/api/models/acme/base-lm").status_code == 200


def test_fault_global_latency(faults_cleared: EmulatorServer, hub: httpx.Client) -> None:
    faults_cleared.faults.set_latency(0.05)
    start = time.monotonic()
    assert hub.get(f"/api/models/{BERT}").status_code == 200
    assert time.monotonic() - start >= 0.05


def test_fault_corrupt_download_keeps_headers(faults_cleared: EmulatorServer, hub: httpx.Client) -> None:
    faults_cleared.faults.add(r"/resolve/.*model\.safetensors$", corrupt=True, times=1)
    head = hub.head(f"/{BERT}/resolve/main/model.safetensors")  # HEAD neither matches nor consumes it
    bad = hub.get(f"/{BERT}/resolve/main/model.safetensors")
    good = hub.get(f"/{BERT}/resolve/main/model.safetensors")
    assert bad.headers["etag"] == head.headers["etag"] == good.headers["etag"]
    assert len(bad.content) == len(good.content)
    assert bad.content != good.content
    assert f'"{hashlib.sha256(good.content).hexdigest()}"' == good.headers["etag"]


def test_http_control_plane(faults_cleared: EmulatorServer, hub: httpx.Client) -> None:
    added = hub.post("/_emulator/faults", json={"path_regex": "^/api/datasets/", "status": 503, "times": 2})
    assert added.status_code == 200
    assert added.json()["rules"][0]["status"] == 503
    assert hub.get("/api/datasets/rajpurkar/squad").status_code == 503
    seen = hub.get("/_emulator/requests", params={"path_regex": "^/api/datasets/"}).json()
    assert seen["count"] == 1
    assert hub.delete("/_emulator/faults").json() == {"cleared": True}
    assert hub.get("/api/datasets/rajpurkar/squad").status_code == 200
    assert hub.post("/_emulator/faults", json={"path_regex": "(", "status": 500}).status_code == 400


def test_standalone_process() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulator", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    try:
        # The port the kernel gave it, from its first line: bound before printed, so nothing can take it.
        first = proc.stdout.readline().decode()
        match = re.match(r"emulator: HF_ENDPOINT=http://127\.0\.0\.1:(\d+) ", first)
        assert match, first
        port = int(match.group(1))
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "standalone emulator did not start"
                time.sleep(0.1)
        assert response.json() == {"status": "ok"}
        repo = httpx.get(f"http://127.0.0.1:{port}/github/repos/openai/whisper", timeout=5).json()
        assert repo["license"]["spdx_id"] == "MIT"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
