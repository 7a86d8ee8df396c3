import hashlib
import io
import threading
import zipfile
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.emulator.server import EmulatorServer
from tests.feature.conftest import GH, HF, register
from tmr.accounts.models import SYSTEM
from tmr.container import Registry

BERT = f"{HF}/google-bert/bert-base-uncased"


def test_register_a_model_echoes_name_and_url(client: TestClient, auth: dict[str, str]) -> None:
    body = register(client, auth, "model", BERT, name="my-bert")
    assert body["metadata"]["name"] == "my-bert"
    assert body["metadata"]["type"] == "model"
    assert body["data"]["url"] == BERT
    assert body["data"]["download_url"].endswith(f"/download/{body['metadata']['id']}")


@pytest.mark.parametrize(
    ("type_", "url", "name"),
    [
        ("model", f"{HF}/openai/whisper-tiny/tree/main", "whisper-tiny"),
        ("dataset", f"{HF}/datasets/bookcorpus/bookcorpus", "bookcorpus"),
        ("dataset", f"{HF}/rajpurkar/squad", "squad"),
        ("code", f"{GH}/openai/whisper", "whisper"),
        ("code", f"{GH}/openai/whisper.git", "whisper"),
        ("code", f"{GH}/karpathy/nanoGPT/tree/master/config", "nanoGPT"),
    ],
)
def test_name_is_derived_from_the_url_and_the_url_is_kept_verbatim(
    client: TestClient, auth: dict[str, str], type_: str, url: str, name: str
) -> None:
    body = register(client, auth, type_, url)
    assert body["metadata"]["name"] == name
    assert body["data"]["url"] == url
    got = client.get(f"/artifacts/{type_}/{body['metadata']['id']}", headers=auth).json()
    assert got == body


def test_hf_evidence_is_recorded(client: TestClient, auth: dict[str, str], registry: Registry) -> None:
    artifact_id = register(client, auth, "model", BERT)["metadata"]["id"]
    artifact = registry.artifacts.get_any(SYSTEM, artifact_id)
    assert artifact.license == "apache-2.0"
    assert artifact.card.get("license") == "apache-2.0"
    assert "bert" in artifact.readme.lower()
    assert artifact.upstream["downloads"] > 0
    assert artifact.upstream["likes"] > 0
    assert artifact.upstream["config"]["model_type"] == "bert"
    by_path = {f.path: f for f in artifact.files}
    assert {"config.json", "README.md", "model.safetensors"} <= set(by_path)
    assert by_path["config.json"].sha256 is not None  # small files stored at once
    assert by_path["model.safetensors"].sha256 is None  # weights mirrored on first download
    assert by_path["model.safetensors"].upstream_digest.startswith("sha256:")
    assert all(f.size > 0 for f in artifact.files)


def test_github_evidence_is_recorded(client: TestClient, auth: dict[str, str], registry: Registry) -> None:
    artifact_id = register(client, auth, "code", f"{GH}/google-research/bert")["metadata"]["id"]
    artifact = registry.artifacts.get_any(SYSTEM, artifact_id)
    assert artifact.license == "Apache-2.0"
    assert artifact.readme
    assert artifact.upstream["stargazers_count"] > 0
    assert artifact.upstream["default_branch"]
    assert len(artifact.upstream["contributors"]) > 1
    assert artifact.files
    assert all(f.upstream_digest.startswith("git:") for f in artifact.files)


def test_poor_evidence_is_noted_not_refused(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    for repo, note in [
        ("bare/no-card", "no model card"),
        ("bare/broken-yaml", "YAML"),
        ("bare/no-config", "config.json"),
    ]:
        artifact = registry.artifacts.get_any(
            SYSTEM, register(client, auth, "model", f"{HF}/{repo}")["metadata"]["id"]
        )
        assert any(note in n for n in artifact.notes), (repo, artifact.notes)


def test_other_urls_are_registered_without_being_fetched(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    url = "https://www.kaggle.com/datasets/someone/cool-data"
    body = register(client, auth, "dataset", url)
    assert body["metadata"]["name"] == "cool-data"
    artifact = registry.artifacts.get_any(SYSTEM, body["metadata"]["id"])
    assert artifact.files == ()
    assert "not an upstream tmr inspects" in artifact.notes[0]


def test_ids_are_unique_across_many_quick_creates(
    client: TestClient, auth: dict[str, str], emulator: EmulatorServer
) -> None:
    ids = {
        register(client, auth, "dataset", f"https://example.com/data/{i}")["metadata"]["id"]
        for i in range(30)
    }
    assert len(ids) == 30


def test_same_url_twice_is_a_conflict(client: TestClient, auth: dict[str, str]) -> None:
    register(client, auth, "code", f"{GH}/psf/requests")
    again = client.post("/artifact/code", json={"url": f"{GH}/psf/requests"}, headers=auth)
    assert again.status_code == 409
    assert client.post("/artifacts", json=[{"name": "requests"}], headers=auth).json().__len__() == 1


def test_two_clients_creating_the_same_url_at_once_make_one_artifact(
    client: TestClient, auth: dict[str, str]
) -> None:
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def create() -> None:
        barrier.wait()
        statuses.append(
            client.post(
                "/artifact/model", json={"url": f"{HF}/microsoft/DialoGPT-small"}, headers=auth
            ).status_code
        )

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 409, 409, 409]
    assert len(client.post("/artifacts", json=[{"name": "DialoGPT-small"}], headers=auth).json()) == 1


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/artifact/model", {}, 400),
        ("/artifact/model", {"url": ""}, 400),
        ("/artifact/model", {"url": 42}, 400),
        ("/artifact/model", {"url": "not a url"}, 400),
        ("/artifact/model", {"url": "ftp://huggingface.co/a/b"}, 400),
        ("/artifact/model", {"url": f"{HF}/a/b", "name": "*"}, 400),
        ("/artifact/model", {"url": f"{HF}/a/b", "name": ""}, 400),
        ("/artifact/model", {"url": f"{HF}/spaces/x/y"}, 400),
        ("/artifact/model", [f"{HF}/a/b"], 400),
        ("/artifact/widget", {"url": BERT}, 400),
    ],
)
def test_bad_registrations(
    client: TestClient, auth: dict[str, str], path: str, body: Any, status: int
) -> None:
    response = client.post(path, json=body, headers=auth)
    assert response.status_code == status, response.text
    assert response.json()["detail"]
    assert client.post("/artifacts", json=[{"name": "*"}], headers=auth).json() == []


# Found by tests/e2e/test_schemathesis.py. Pending: the fix is in registration, outside the change
# that found it; strict, so this fails once it lands (then drop the mark and the excuse there).
@pytest.mark.parametrize(
    ("type_", "url"),
    [
        ("model", f"{HF}/nobody/nothing"),
        ("code", f"{GH}/nobody/nothing"),
        ("dataset", f"{HF}/datasets/nobody/nothing"),
        ("dataset", f"{HF}/openai/whisper-tiny/tree/main"),  # a model's url read as a dataset's
    ],
)
def test_a_url_naming_no_upstream_repository_is_400(
    client: TestClient, auth: dict[str, str], type_: str, url: str
) -> None:
    """POST /artifact/{artifact_type} documents no 404 (that is for ids); a url that names nothing
    to ingest is its 400, "formed improperly (must include a single url)"."""
    response = client.post(f"/artifact/{type_}", json={"url": url}, headers=auth)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]
    assert client.post("/artifacts", json=[{"name": "*"}], headers=auth).json() == []


def test_extra_fields_are_ignored(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/artifact/code",
        json={"url": f"{GH}/psf/requests", "colour": "blue", "download_url": "x"},
        headers=auth,
    )
    assert response.status_code == 201
    assert "colour" not in response.text


def test_non_json_and_huge_bodies(client: TestClient, auth: dict[str, str]) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    assert client.post("/artifact/model", content=b"{not json", headers=headers).status_code == 400
    huge = b'{"url": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    assert client.post("/artifact/model", content=huge, headers=headers).status_code == 413


def test_upstream_server_errors_after_retries_are_503_naming_it_and_store_nothing(
    client: TestClient, auth: dict[str, str], emulator: EmulatorServer
) -> None:
    emulator.faults.add(r"/api/models/openai/whisper-tiny", status=500)
    response = client.post("/artifact/model", json={"url": f"{HF}/openai/whisper-tiny"}, headers=auth)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    assert "Hugging Face" in response.json()["detail"]
    assert response.json()["details"]["component"] == "upstream:huggingface"
    assert client.post("/artifacts", json=[{"name": "*"}], headers=auth).json() == []


def test_upstream_429_is_retried(client: TestClient, auth: dict[str, str], emulator: EmulatorServer) -> None:
    emulator.faults.add(r"/github/repos/openai/whisper$", status=429, times=2, headers={"Retry-After": "0"})
    register(client, auth, "code", f"{GH}/openai/whisper")
    assert emulator.faults.requests_seen(r"/github/repos/openai/whisper$") >= 3


def test_a_failure_midway_through_registration_stores_nothing(
    client: TestClient, auth: dict[str, str], emulator: EmulatorServer
) -> None:
    emulator.faults.add(r"/resolve/.*/config\.json", status=503)
    assert client.post("/artifact/model", json={"url": BERT}, headers=auth).status_code == 503
    assert client.post("/artifacts", json=[{"name": "*"}], headers=auth).json() == []


def test_upstream_timeout_is_503(make_registry: Any, emulator: EmulatorServer) -> None:
    from tests.support import auth_request
    from tmr.app import create_app

    registry = make_registry(upstream_timeout_s=0.3, upstream_retries=1)
    emulator.faults.add(r"/github/repos/psf/requests", delay_s=1.0)
    with TestClient(create_app(registry=registry)) as c:
        headers = {"X-Authorization": c.put("/authenticate", json=auth_request()).json()}
        response = c.post("/artifact/code", json={"url": f"{GH}/psf/requests"}, headers=headers)
        assert response.status_code == 503
        assert "ReadTimeout" in response.json()["detail"]
        assert response.json()["details"]["component"] == "upstream:github"


def test_read_wrong_type_unknown_and_malformed_ids(client: TestClient, auth: dict[str, str]) -> None:
    artifact_id = register(client, auth, "code", f"{GH}/psf/requests")["metadata"]["id"]
    assert client.get(f"/artifacts/model/{artifact_id}", headers=auth).status_code == 404
    assert client.get("/artifacts/code/999999", headers=auth).status_code == 404
    assert client.get("/artifacts/code/bad_id!", headers=auth).status_code == 400
    assert client.get(f"/artifacts/gadget/{artifact_id}", headers=auth).status_code == 400


def test_update_replaces_content_and_checks_name_and_id(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    created = register(client, auth, "model", f"{HF}/nomic/tiny-mit-model", name="tiny")
    artifact_id = created["metadata"]["id"]
    body = {
        "metadata": {"name": "tiny", "id": artifact_id, "type": "model"},
        "data": {"url": f"{HF}/someone/gpl-model"},
    }
    assert client.put(f"/artifacts/model/{artifact_id}", json=body, headers=auth).status_code == 200
    got = client.get(f"/artifacts/model/{artifact_id}", headers=auth).json()
    assert got["data"]["url"] == f"{HF}/someone/gpl-model"
    assert registry.artifacts.get_any(SYSTEM, artifact_id).license == "gpl-3.0"
    wrong_name = {**body, "metadata": {**body["metadata"], "name": "other"}}
    assert client.put(f"/artifacts/model/{artifact_id}", json=wrong_name, headers=auth).status_code == 400
    wrong_id = {**body, "metadata": {**body["metadata"], "id": "123"}}
    assert client.put(f"/artifacts/model/{artifact_id}", json=wrong_id, headers=auth).status_code == 400
    assert (
        client.put(
            "/artifacts/model/123", json={**body, "metadata": {**body["metadata"], "id": "123"}}, headers=auth
        ).status_code
        == 404
    )
    assert (
        client.put(f"/artifacts/model/{artifact_id}", json={"data": {"url": "x"}}, headers=auth).status_code
        == 400
    )
    actions = [e["action"] for e in client.get(f"/artifact/model/{artifact_id}/audit", headers=auth).json()]
    assert actions == ["CREATE", "UPDATE"]


def test_delete(client: TestClient, auth: dict[str, str]) -> None:
    artifact_id = register(client, auth, "dataset", f"{HF}/datasets/stanfordnlp/imdb")["metadata"]["id"]
    assert client.delete(f"/artifacts/model/{artifact_id}", headers=auth).status_code == 404
    assert client.delete(f"/artifacts/dataset/{artifact_id}", headers=auth).status_code == 200
    assert client.get(f"/artifacts/dataset/{artifact_id}", headers=auth).status_code == 404
    assert client.delete(f"/artifacts/dataset/{artifact_id}", headers=auth).status_code == 404


def test_reset_empties_the_registry(client: TestClient, auth: dict[str, str]) -> None:
    register(client, auth, "code", f"{GH}/psf/requests")
    assert client.delete("/reset", headers=auth).status_code == 200
    assert client.post("/artifacts", json=[{"name": "*"}], headers=auth).json() == []


def test_audit_trail(client: TestClient, auth: dict[str, str]) -> None:
    artifact_id = register(client, auth, "code", f"{GH}/psf/requests")["metadata"]["id"]
    client.get(f"/download/{artifact_id}", headers=auth)
    trail = client.get(f"/artifact/code/{artifact_id}/audit", headers=auth).json()
    assert [e["action"] for e in trail] == ["CREATE", "DOWNLOAD"]
    assert trail[0]["user"] == {"name": "ece30861defaultadminuser", "is_admin": True}
    assert trail[0]["artifact"] == {"name": "requests", "id": artifact_id, "type": "code"}
    assert trail[0]["date"].endswith("Z") or "+00:00" in trail[0]["date"]
    assert client.get("/artifact/code/424242/audit", headers=auth).status_code == 404


def _zip(response: httpx.Response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert int(response.headers["content-length"]) == len(response.content)
    return zipfile.ZipFile(io.BytesIO(response.content))


def test_download_mirrors_and_checks_every_file(
    client: TestClient, auth: dict[str, str], emulator: EmulatorServer
) -> None:
    artifact_id = register(client, auth, "model", BERT)["metadata"]["id"]
    archive = _zip(client.get(f"/download/{artifact_id}", headers=auth))
    names = set(archive.namelist())
    assert {"config.json", "model.safetensors", "README.md"} <= names
    for name in names:
        upstream = httpx.get(f"{emulator.url}/google-bert/bert-base-uncased/resolve/main/{name}").content
        assert hashlib.sha256(archive.read(name)).digest() == hashlib.sha256(upstream).digest(), name
    seen = emulator.faults.requests_seen(r"model\.safetensors")
    _zip(client.get(f"/download/{artifact_id}", headers=auth))
    assert emulator.faults.requests_seen(r"model\.safetensors") == seen  # mirrored once


def test_download_parts(client: TestClient, auth: dict[str, str]) -> None:
    artifact_id = register(client, auth, "model", BERT)["metadata"]["id"]
    names = _zip(client.get(f"/download/{artifact_id}?parts=config,tokenizer", headers=auth)).namelist()
    assert "config.json" in names
    assert "tokenizer.json" in names
    assert "model.safetensors" not in names
    assert client.get(f"/download/{artifact_id}?parts=spaceship", headers=auth).status_code == 400


def test_download_of_github_code_comes_from_the_zipball(client: TestClient, auth: dict[str, str]) -> None:
    artifact_id = register(client, auth, "code", f"{GH}/openai/whisper")["metadata"]["id"]
    archive = _zip(client.get(f"/download/{artifact_id}", headers=auth))
    assert "README.md" in archive.namelist()


def test_corrupt_upstream_bytes_fail_the_download_and_nothing_is_kept(
    client: TestClient, auth: dict[str, str], emulator: EmulatorServer, registry: Registry
) -> None:
    artifact_id = register(client, auth, "model", BERT)["metadata"]["id"]
    emulator.faults.add(r"model\.safetensors", corrupt=True)
    response = client.get(f"/download/{artifact_id}", headers=auth)
    assert response.status_code == 502
    assert "digest" in response.json()["detail"]
    weights = next(
        f for f in registry.artifacts.get_any(SYSTEM, artifact_id).files if f.path == "model.safetensors"
    )
    assert weights.sha256 is None
    emulator.faults.clear()
    _zip(client.get(f"/download/{artifact_id}", headers=auth))


def test_download_unknown_artifact(client: TestClient, auth: dict[str, str]) -> None:
    assert client.get("/download/123456", headers=auth).status_code == 404


def test_gated_models_register_with_a_note_and_need_a_token_to_download(
    client: TestClient, auth: dict[str, str], registry: Registry, make_registry: Any, emulator: EmulatorServer
) -> None:
    from tests.emulator.fixtures import GRANTED_TOKEN
    from tests.support import auth_request
    from tmr.app import create_app

    url = f"{HF}/meta-llama/Llama-3.2-1B"
    artifact_id = register(client, auth, "model", url)["metadata"]["id"]
    artifact = registry.artifacts.get_any(SYSTEM, artifact_id)
    assert any("gated" in n for n in artifact.notes)
    assert artifact.license == "llama3.2"
    response = client.get(f"/download/{artifact_id}", headers=auth)
    assert response.status_code == 502
    assert "refused access" in response.json()["detail"]

    granted = make_registry(hf_token=GRANTED_TOKEN)
    with TestClient(create_app(registry=granted)) as c:
        headers = {"X-Authorization": c.put("/authenticate", json=auth_request()).json()}
        new_id = register(c, headers, "model", url)["metadata"]["id"]
        assert not any("gated" in n for n in granted.artifacts.get_any(SYSTEM, new_id).notes)
        _zip(c.get(f"/download/{new_id}", headers=headers))
    assert emulator.faults.last_authorization("hf") == f"Bearer {GRANTED_TOKEN}"


def test_reset_removes_stored_files(client: TestClient, auth: dict[str, str], registry: Registry) -> None:
    artifact_id = register(client, auth, "model", BERT)["metadata"]["id"]
    _zip(client.get(f"/download/{artifact_id}", headers=auth))
    assert list(registry.blobs.iter_digests())
    assert client.delete("/reset", headers=auth).status_code == 200
    assert list(registry.blobs.iter_digests()) == []


def test_concurrent_first_downloads_mirror_once(
    client: TestClient, auth: dict[str, str], emulator: EmulatorServer
) -> None:
    artifact_id = register(client, auth, "model", f"{HF}/nomic/tiny-mit-model")["metadata"]["id"]
    emulator.faults.add(r"tiny-mit-model/resolve/.*safetensors", delay_s=0.3)
    before = emulator.faults.requests_seen(r"tiny-mit-model/resolve/.*safetensors")
    sizes: list[int] = []
    barrier = threading.Barrier(4)

    def download() -> None:
        barrier.wait()
        sizes.append(len(_zip(client.get(f"/download/{artifact_id}", headers=auth)).namelist()))

    threads = [threading.Thread(target=download) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sizes) == 4
    assert len(set(sizes)) == 1
    assert emulator.faults.requests_seen(r"tiny-mit-model/resolve/.*safetensors") - before == 1


def test_orphan_collection_spares_blobs_of_writes_in_flight(registry: Registry) -> None:
    import os
    import time

    from tmr.storage.blobs.filesystem import FilesystemBlobStore

    store = registry.blobs
    assert isinstance(store, FilesystemBlobStore)
    old = store.put_bytes(b"an orphan from a failed upload long ago")
    young = store.put_bytes(b"a blob whose artifact is being committed right now")
    os.utime(store.path_of(old.sha256), (time.time() - 86400, time.time() - 86400))
    assert registry.artifacts.collect_orphans(grace_s=3600) == 1
    assert set(store.iter_digests()) == {young.sha256}
    assert registry.artifacts.collect_orphans() == 1  # no grace (reset): every orphan
    assert list(store.iter_digests()) == []
