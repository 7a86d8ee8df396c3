"""Pushing with the engineers' own tools to a real registry process, over the embedded default
and over PostgreSQL + S3: `huggingface_hub` creates a repository, uploads a folder (the weights
over LFS), tags it, and `snapshot_download` brings it back byte for byte; the push is a private,
rated artifact of its user that `tmr pull` fetches as a package too, and a stale commit or a
token without `upload` changes nothing."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, constants, snapshot_download
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import disable_progress_bars

from tests.e2e.test_cli_user import tmr
from tests.processes import ServerProcess
from tests.zips import safetensors_bytes

# huggingface_hub's LFS PUT passes the file as `data=`, which its HTTP client deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw:DeprecationWarning")

FILES = {
    "README.md": b"---\nlicense: apache-2.0\n---\n# engineer/encoder\n\nPushed with upload_folder.\n",
    "config.json": json.dumps({"architectures": ["BertModel"], "model_type": "bert"}).encode(),
    # Over the registry's default LFS threshold (10 MiB): it travels over the LFS upload flow.
    "model.safetensors": safetensors_bytes((1024, 2816), seed=11),
    "tokenizer/vocab.txt": b"[PAD]\n[UNK]\nhello\nworld\n",
}


def _user(server: ServerProcess, name: str, permissions: list[str]) -> str:
    password = f"{name} quiet lantern 4821"
    body = {"user": {"name": name, "is_admin": False}, "secret": {"password": password}}
    created = httpx.post(
        f"{server.url}/users", json={**body, "permissions": permissions}, headers=server.headers
    )
    assert created.status_code == 201, created.text
    token = httpx.put(f"{server.url}/authenticate", json=body, timeout=30)
    assert token.status_code == 200, token.text
    value: str = token.json()
    return value


@pytest.fixture
def engineer(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> tuple[HfApi, str]:
    """A user who may upload, with the Hub client pointed at the registry (HF_HUB_DISABLE_XET=1:
    the weights go over LFS, which the registry speaks, not Xet)."""
    assert httpx.delete(f"{server.url}/reset", headers=server.headers, timeout=60).status_code == 200
    disable_progress_bars()
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    token = _user(server, "engineer", ["upload", "search", "download"])
    return HfApi(endpoint=server.url, token=token), token


def _snapshot(
    server: ServerProcess, token: str, cache: Path, revision: str | None = None
) -> dict[str, bytes]:
    folder = Path(
        snapshot_download(
            "engineer/encoder", endpoint=server.url, token=token, cache_dir=cache, revision=revision
        )
    )
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _folder(root: Path) -> Path:
    for path, data in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


def test_a_folder_pushed_with_huggingface_hub_comes_back_byte_for_byte(
    server: ServerProcess, engineer: tuple[HfApi, str], tmp_path: Path
) -> None:
    api, token = engineer
    assert api.create_repo("encoder", private=True).repo_id == "engineer/encoder"
    api.upload_folder(folder_path=_folder(tmp_path / "src"), repo_id="engineer/encoder", commit_message="v1")
    assert _snapshot(server, token, tmp_path / "c1") == FILES
    info = api.model_info("engineer/encoder", files_metadata=True)
    lfs = {s.rfilename: s.lfs for s in info.siblings or []}
    assert lfs["model.safetensors"] is not None
    assert lfs["model.safetensors"].sha256 == hashlib.sha256(FILES["model.safetensors"]).hexdigest()

    api.create_tag("engineer/encoder", tag="v1.0")
    found = httpx.post(
        f"{server.url}/artifacts", json=[{"name": "engineer/encoder"}], headers={"X-Authorization": token}
    )
    assert found.status_code == 200, found.text
    (artifact,) = found.json()
    assert artifact["type"] == "model"
    details = httpx.get(f"{server.url}/artifact/{artifact['id']}/details", headers={"X-Authorization": token})
    assert details.status_code == 200, details.text
    assert details.json()["version"] == "1.0.0"
    rating = httpx.get(
        f"{server.url}/artifact/model/{artifact['id']}/rate", headers={"X-Authorization": token}
    )
    assert rating.status_code == 200, rating.text
    assert 0 <= rating.json()["net_score"] <= 1
    reader = {"X-Authorization": _user(server, "reader", ["search", "download"])}
    anyone_else = httpx.post(f"{server.url}/artifacts", json=[{"name": "*"}], headers=reader)
    assert anyone_else.json() == []  # private: another user's search does not list it

    # Another door, the same artifact: `tmr pull` fetches it as a package, files unchanged.
    pulled = tmr(
        server, "pull", "engineer/encoder", "-o", str(tmp_path / "pulled.zip"), "--json", token=token
    )
    assert pulled.exit_code == 0, pulled.output
    with zipfile.ZipFile(io.BytesIO((tmp_path / "pulled.zip").read_bytes())) as package:
        assert {n: package.read(n) for n in package.namelist() if not n.endswith("/")} == FILES


def test_a_stale_commit_and_a_token_without_upload_change_nothing(
    server: ServerProcess, engineer: tuple[HfApi, str], tmp_path: Path
) -> None:
    api, token = engineer
    api.upload_folder(folder_path=_folder(tmp_path / "src"), repo_id="engineer/encoder")
    head = api.model_info("engineer/encoder").sha
    api.upload_file(path_or_fileobj=b"notes\n", path_in_repo="NOTES.md", repo_id="engineer/encoder")
    with pytest.raises(HfHubHTTPError) as stale:
        api.delete_file("config.json", repo_id="engineer/encoder", parent_commit=head)
    assert stale.value.response.status_code == 412

    reader = HfApi(endpoint=server.url, token=_user(server, "reader", ["search", "download"]))
    with pytest.raises(HfHubHTTPError) as refused:
        reader.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="reader/mine")
    assert refused.value.response.status_code == 403
    assert _snapshot(server, token, tmp_path / "c") == {**FILES, "NOTES.md": b"notes\n"}
    everything: Any = httpx.post(
        f"{server.url}/artifacts", json=[{"name": "*"}], headers={"X-Authorization": token}
    )
    assert [a["name"] for a in everything.json()] == ["engineer/encoder"]
