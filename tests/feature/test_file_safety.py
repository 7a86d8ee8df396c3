"""File safety on public models: a malicious pickle keeps a model out at ingest, and one found
on first download (gate off) is refused, re-rates the model and is not served to loaders."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.feature.conftest import HF, register
from tests.feature.test_uploads import upload
from tests.zips import model_files, zip_bytes

EVIL = f"{HF}/evil/pickle-model"
SAFE = f"{HF}/safe/pickle-model"


def test_ingest_refuses_a_model_whose_weights_import_code(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/artifact/ingest", json={"url": EVIL}, headers=auth)
    assert response.status_code == 424, response.text
    failing = response.json()["details"]["failing_metrics"]
    assert failing["safety"]["unsafe"] is True
    assert [f["path"] for f in failing["safety"]["unsafe_files"]] == ["pytorch_model.bin"]
    assert client.post("/artifacts", json=[{"name": "*"}], headers=auth).json() == []


def test_ingest_judges_a_benign_pickle_safe(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/artifact/ingest", json={"url": SAFE}, headers=auth)
    if response.status_code == 424:  # other metrics may keep it out; safety must not be why
        assert "safety" not in response.json()["details"]["failing_metrics"]
    else:
        assert response.status_code == 201, response.text


def test_a_flag_found_on_first_download_is_refused_and_re_rates(
    client: TestClient, auth: dict[str, str]
) -> None:
    model = register(client, auth, "model", EVIL)["metadata"]["id"]
    before = client.get(f"/artifact/model/{model}/rate", headers=auth)
    assert "X-Unsafe-Files" not in before.headers  # the weights were not read yet
    pending = client.get(f"/artifact/model/{model}/safety", headers=auth).json()
    assert pending == {"unsafe": False, "files": [], "not_yet_judged": ["pytorch_model.bin"]}
    refused = client.get(f"/download/{model}", headers=auth)
    assert refused.status_code == 409
    assert refused.json()["details"]["unsafe_files"] == ["pytorch_model.bin"]
    after = client.get(f"/artifact/model/{model}/rate", headers=auth)
    assert after.headers["X-Unsafe-Files"] == "pytorch_model.bin"
    assert after.json()["net_score"] == 0.0
    assert client.get(f"/download/{model}", params={"allow_unsafe": "true"}, headers=auth).status_code == 200
    # The Hugging Face door never serves it: transformers would unpickle it.
    bearer = {"Authorization": "Bearer " + auth["X-Authorization"]}
    for method in ("HEAD", "GET"):
        answer = client.request(method, "/evil/pickle-model/resolve/main/pytorch_model.bin", headers=bearer)
        assert answer.status_code == 409
    assert client.get("/evil/pickle-model/resolve/main/config.json", headers=bearer).status_code == 200


@pytest.mark.parametrize("url", [SAFE])
def test_benign_pickles_download_normally(client: TestClient, auth: dict[str, str], url: str) -> None:
    model = register(client, auth, "model", url)["metadata"]["id"]
    response = client.get(f"/download/{model}", headers=auth)
    assert response.status_code == 200
    assert "X-Unsafe-Files" not in response.headers


def test_an_upload_whose_pickle_imports_an_unknown_module_is_refused(
    client: TestClient, auth: dict[str, str]
) -> None:
    """Issue 11: only allow-listed imports are safe; `foo.bar.Baz` is on no list, and used to pass."""
    unknown = b"\x80\x04\x8c\x07foo.bar\x94\x8c\x03Baz\x94\x93\x94)R\x94."
    out = upload(client, auth, zip_bytes(model_files() | {"pytorch_model.bin": unknown}))
    assert out["unsafe_files"] == ["pytorch_model.bin"]
    model = out["metadata"]["id"]
    safety = client.get(f"/artifact/model/{model}/safety", headers=auth).json()
    flagged = {f["path"]: f for f in safety["files"] if f["unsafe"]}
    assert flagged["pytorch_model.bin"]["imports"] == ["foo.bar.Baz"]
    refused = client.get(f"/download/{model}", headers=auth)
    assert refused.status_code == 409
    assert refused.json()["details"]["unsafe_files"] == ["pytorch_model.bin"]
    allowed = client.get(f"/download/{model}", params={"allow_unsafe": "true"}, headers=auth)
    assert allowed.status_code == 200
