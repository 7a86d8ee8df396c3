"""Uploads: a private zip in, rated, downloaded whole and in parts byte for byte; hostile zips out."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.feature.conftest import HF, register
from tests.support import auth_request
from tests.zips import benign_pickle, digests, evil_pickle, model_files, unzip, zip_bytes
from tmr.accounts.models import User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.container import Registry

ZIP = {"Content-Type": "application/zip"}


def upload(
    client: TestClient,
    auth: dict[str, str],
    body: bytes,
    name: str = "acme/sentiment",
    version: str | None = None,
    type_: str = "model",
    expect: int = 201,
) -> dict[str, Any]:
    params = {"name": name} | ({"version": version} if version is not None else {})
    response = client.post(f"/artifact/{type_}/upload", params=params, content=body, headers=auth | ZIP)
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


def listed(client: TestClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = client.post("/artifacts", json=[{"name": "*"}], headers=auth)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()
    return items


def login(client: TestClient, registry: Registry, name: str, admin: bool = False) -> dict[str, str]:
    registry.store.put_user(User(name, admin, hash_password("pw-" + name)))
    response = client.put("/authenticate", json=auth_request("pw-" + name, name))
    assert response.status_code == 200, response.text
    return {"X-Authorization": response.json()}


def test_upload_rate_download_round_trip(client: TestClient, auth: dict[str, str]) -> None:
    files = model_files()
    out = upload(client, auth, zip_bytes(files, folder="sentiment/"), version="v1.2")
    assert out["metadata"]["name"] == "acme/sentiment"
    assert out["metadata"]["type"] == "model"
    assert out["version"] == "1.2.0"
    assert out["visibility"] == "private"
    assert out["files"] == len(files)
    assert out["unsafe_files"] == []
    assert out["net_score"] is not None
    assert 0 <= out["net_score"] <= 1
    artifact_id = out["metadata"]["id"]

    got = client.get(f"/artifacts/model/{artifact_id}", headers=auth)
    assert got.status_code == 200
    assert got.json()["data"]["url"].startswith("upload:sha256:")
    rating = client.get(f"/artifact/model/{artifact_id}/rate", headers=auth)
    assert len(rating.json()) == 26
    assert "X-Unsafe-Files" not in rating.headers
    safety = client.get(f"/artifact/model/{artifact_id}/safety", headers=auth).json()
    assert safety["unsafe"] is False
    assert safety["not_yet_judged"] == []
    assert [(f["path"], f["format"], f["parameters"]) for f in safety["files"]] == [
        ("model.safetensors", "safetensors", 64 * 32)
    ]
    # Lineage from the uploaded card and config.
    assert client.get(f"/artifact/model/{artifact_id}/lineage", headers=auth).status_code == 200

    whole = client.get(f"/download/{artifact_id}", headers=auth)
    assert whole.status_code == 200
    assert digests(unzip(whole.content)) == digests(files)  # the top folder was stripped
    assert whole.headers["X-Package-SHA256"] == hashlib.sha256(whole.content).hexdigest()

    weights = client.get(f"/download/{artifact_id}", params={"parts": "weights"}, headers=auth)
    assert digests(unzip(weights.content)) == digests({"model.safetensors": files["model.safetensors"]})
    tokenizer = client.get(f"/download/{artifact_id}", params={"parts": "tokenizer,config"}, headers=auth)
    assert set(unzip(tokenizer.content)) == {"tokenizer.json", "tokenizer_config.json", "config.json"}

    # A client cut off at 60 % resumes where it stopped.
    cut = len(whole.content) * 6 // 10
    rest = client.get(
        f"/download/{artifact_id}",
        headers=auth | {"Range": f"bytes={cut}-", "If-Range": whole.headers["ETag"]},
    )
    assert rest.status_code == 206
    assert whole.content[:cut] + rest.content == whole.content


def test_identical_bytes_are_stored_once(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    first = model_files(seed=1)
    second = model_files(seed=2) | {"model.safetensors": first["model.safetensors"]}
    upload(client, auth, zip_bytes(first), name="one")
    before = set(registry.blobs.iter_digests())
    upload(client, auth, zip_bytes(second), name="two")
    added = set(registry.blobs.iter_digests()) - before
    assert hashlib.sha256(first["model.safetensors"]).hexdigest() in before
    assert added == {hashlib.sha256(second["tokenizer.json"]).hexdigest()}


def test_same_zip_twice_is_a_conflict(client: TestClient, auth: dict[str, str]) -> None:
    body = zip_bytes(model_files())
    first = upload(client, auth, body)
    again = upload(client, auth, body, name="other", expect=409)
    assert first["metadata"]["id"] in again["detail"]
    # As a dataset the same bytes are another artifact.
    upload(client, auth, body, type_="dataset")


def test_a_conflict_names_the_existing_artifact_only_to_who_may_see_it(
    client: TestClient, registry: Registry
) -> None:
    body = zip_bytes(model_files(seed=7))
    alice = login(client, registry, "alice")
    first = upload(client, alice, body)["metadata"]["id"]
    again = upload(client, alice, body, name="other", expect=409)
    assert first in again["detail"]
    assert again["details"]["id"] == first
    # Bob may not see alice's private upload: he learns it is taken, never its id.
    refused = upload(client, login(client, registry, "bob"), body, name="bobs", expect=409)
    assert first not in refused["detail"]
    assert "details" not in refused


def test_malicious_pickle_is_marked_unsafe_and_the_rating_says_so(
    client: TestClient, auth: dict[str, str]
) -> None:
    files = model_files() | {"pytorch_model.bin": evil_pickle(), "vocab.txt": evil_pickle()}
    files["optimizer.pt"] = benign_pickle()
    out = upload(client, auth, zip_bytes(files))
    # Judged by bytes: the pickle named vocab.txt is weights, and flagged, too.
    assert sorted(out["unsafe_files"]) == ["pytorch_model.bin", "vocab.txt"]
    assert out["net_score"] == 0.0
    rating = client.get(f"/artifact/model/{out['metadata']['id']}/rate", headers=auth)
    assert rating.json()["net_score"] == 0.0
    assert len(rating.json()) == 26
    assert rating.headers["X-Unsafe-Files"] == "pytorch_model.bin, vocab.txt"
    safety = client.get(f"/artifact/model/{out['metadata']['id']}/safety", headers=auth).json()
    assert safety["unsafe"] is True
    flagged = {f["path"]: f["reasons"] for f in safety["files"] if f["unsafe"]}
    assert set(flagged) == {"pytorch_model.bin", "vocab.txt"}
    assert any("system" in reason for reason in flagged["pytorch_model.bin"])
    assert {f["path"]: f["pickle"] for f in safety["files"] if "pickle" in f}["optimizer.pt"] == "safe"
    # Served only to a client that says it knows; the safe parts as usual.
    url = f"/download/{out['metadata']['id']}"
    refused = client.get(url, params={"parts": "weights"}, headers=auth)
    assert refused.status_code == 409
    assert sorted(refused.json()["details"]["unsafe_files"]) == ["pytorch_model.bin", "vocab.txt"]
    weights = client.get(url, params={"parts": "weights", "allow_unsafe": "true"}, headers=auth)
    assert weights.status_code == 200
    assert set(unzip(weights.content)) == {
        "model.safetensors",
        "pytorch_model.bin",
        "vocab.txt",
        "optimizer.pt",
    }
    assert weights.headers["X-Unsafe-Files"] == "pytorch_model.bin, vocab.txt"
    config = client.get(url, params={"parts": "config,docs"}, headers=auth)
    assert config.status_code == 200
    assert "X-Unsafe-Files" not in config.headers


def test_versions_are_normalised_and_checked(client: TestClient, auth: dict[str, str]) -> None:
    assert upload(client, auth, zip_bytes(model_files(seed=3)), version="2")["version"] == "2.0.0"
    bad = upload(client, auth, zip_bytes(model_files(seed=4)), version="banana", expect=400)
    assert "version" in bad["detail"]
    assert len(listed(client, auth)) == 1


def _symlink_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", b"{}")
        link = zipfile.ZipInfo("weights.safetensors")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return buffer.getvalue()


def _bomb() -> bytes:
    return zip_bytes({"config.json": b"{}", "model.safetensors": bytes(3 * 1024 * 1024)})


def _duplicate_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", b"{}")
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("config.json", b"{ }")
    return buffer.getvalue()


HOSTILE: dict[str, tuple[Callable[[], bytes], int, str]] = {
    "zip bomb": (_bomb, 400, "compression ratio"),
    "dot-dot entry": (lambda: zip_bytes({"../../etc/cron.d/x": b"* * * * * root sh"}), 400, ".."),
    "absolute path": (lambda: zip_bytes({"/etc/passwd": b"x"}), 400, "absolute"),
    "symlink": (_symlink_zip, 400, "symbolic link"),
    "truncated": (lambda: zip_bytes(model_files())[:-300], 400, "zip"),
    "not a zip": (lambda: b"this is not a zip archive at all", 400, "zip"),
    "empty": (lambda: b"", 400, "empty"),
    "duplicate entries": (_duplicate_zip, 400, "duplicate"),
}


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    path = tmp_path / "spool"
    path.mkdir()
    return path


@pytest.fixture
def spool_client(
    make_registry: Callable[..., Registry], spool: Path
) -> Iterator[tuple[TestClient, Registry]]:
    registry = make_registry(TMR_SPOOL_DIR=str(spool), TMR_UPLOAD_MAX_BYTES=str(1024 * 1024))
    with TestClient(create_app(registry=registry)) as client:
        yield client, registry


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_zips_are_refused_and_leave_nothing(
    spool_client: tuple[TestClient, Registry], spool: Path, case: str
) -> None:
    client, registry = spool_client
    auth = login(client, registry, "admin2", admin=True)
    make, status, words = HOSTILE[case]
    error = upload(client, auth, make(), expect=status)
    assert words in error["detail"]
    assert listed(client, auth) == []
    assert list(spool.iterdir()) == []  # the spooled upload is gone
    registry.artifacts.collect_orphans()
    assert list(registry.blobs.iter_digests()) == []


def test_an_upload_over_the_limit_is_413_announced_or_not(
    spool_client: tuple[TestClient, Registry], spool: Path
) -> None:
    client, registry = spool_client
    auth = login(client, registry, "admin2", admin=True)
    big = b"PK" + bytes(2 * 1024 * 1024)
    announced = upload(client, auth, big, expect=413)
    assert "size limit" in announced["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused at the first byte too many
        for _ in range(4):
            yield bytes(512 * 1024)

    streamed = client.post(
        "/artifact/model/upload", params={"name": "big"}, content=chunks(), headers=auth | ZIP
    )
    assert streamed.status_code == 413
    assert list(spool.iterdir()) == []
    assert listed(client, auth) == []


def test_upload_needs_a_zip_body_and_a_name(client: TestClient, auth: dict[str, str]) -> None:
    body = zip_bytes(model_files())
    wrong = client.post(
        "/artifact/model/upload",
        params={"name": "x"},
        content=body,
        headers=auth | {"Content-Type": "text/plain"},
    )
    assert wrong.status_code == 415
    assert client.post("/artifact/model/upload", content=body, headers=auth | ZIP).status_code == 400
    assert (
        client.post(
            "/artifact/widget/upload", params={"name": "x"}, content=body, headers=auth | ZIP
        ).status_code
        == 400
    )
    assert (
        client.post("/artifact/model/upload", params={"name": "x"}, content=body, headers=ZIP).status_code
        == 403
    )
    assert upload(client, auth, body, name="*", expect=400)


def test_private_uploads_are_visible_to_their_owner_and_admins_only(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    alice = login(client, registry, "alice")
    bob = login(client, registry, "bob")
    out = upload(client, alice, zip_bytes(model_files()), name="alice-secret-model")
    artifact_id = out["metadata"]["id"]
    for who, sees in ((alice, True), (auth, True), (bob, False)):
        expected = 200 if sees else 404
        assert client.get(f"/artifacts/model/{artifact_id}", headers=who).status_code == expected
        assert client.get(f"/download/{artifact_id}", headers=who).status_code == expected
        assert client.get(f"/artifact/model/{artifact_id}/rate", headers=who).status_code == expected
        assert client.get(f"/artifact/model/{artifact_id}/cost", headers=who).status_code == expected
        assert client.get("/artifact/byName/alice-secret-model", headers=who).status_code == expected
        regex = client.post("/artifact/byRegEx", json={"regex": "alice-secret"}, headers=who)
        assert regex.status_code == expected
        assert any(i["id"] == artifact_id for i in listed(client, who)) is sees
    # Bob can neither change nor delete what he cannot see.
    assert client.delete(f"/artifacts/model/{artifact_id}", headers=bob).status_code == 404
    assert client.delete(f"/artifacts/model/{artifact_id}", headers=alice).status_code == 200


def test_lineage_and_cost_hide_private_uploads_from_others(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    bert = register(client, auth, "model", f"{HF}/google-bert/bert-base-uncased")["metadata"]["id"]
    alice = login(client, registry, "alice")
    bob = login(client, registry, "bob")
    child = upload(client, alice, zip_bytes(model_files()), name="alice-fine-tune")["metadata"]["id"]

    def nodes(who: dict[str, str]) -> set[str]:
        graph = client.get(f"/artifact/model/{bert}/lineage", headers=who).json()
        return {n["artifact_id"] for n in graph["nodes"]}

    assert nodes(alice) == {bert, child}
    assert nodes(auth) == {bert, child}
    assert nodes(bob) == {bert}
    cost = client.get(f"/artifact/model/{child}/cost", params={"dependency": "true"}, headers=alice).json()
    assert set(cost) == {bert, child}
