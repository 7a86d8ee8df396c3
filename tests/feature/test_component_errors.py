"""A failed component answered at every door: the API's JSON, the UI's error page and the Hugging
Face door's headers each name the component in words, carry a Retry-After, and never show the
driver's text. (Real outages, with services stopped and disks filled: tests/e2e/faults/.)"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.feature.web_support import ui_sign_in
from tmr.container import Registry
from tmr.errors import BlobStoreUnavailable, DatabaseUnavailable, DiskFull

DRIVER_TEXT = 'connection to server at "db.internal.example", port 5432 failed'


def _fails(error: Exception) -> Any:
    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    return fail


def test_the_api_names_the_database_and_says_when_to_retry(
    client: TestClient, auth: dict[str, str], registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry.search, "enumerate", _fails(DatabaseUnavailable(DRIVER_TEXT)))
    response = client.post("/artifacts", json=[{"name": "*"}], headers=auth)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {
        "detail": "the database (metadata store) is unavailable",
        "code": "database_unavailable",
        "details": {"component": "database", "retry_after": 5},
    }


def test_the_ui_shows_a_clear_page_naming_the_component(
    client: TestClient, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    ui_sign_in(client)
    monkeypatch.setattr(registry.health, "summary", _fails(DiskFull(f"{DRIVER_TEXT} /srv/tmr/var")))
    page = client.get("/ui/admin")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "30"
    assert "Temporarily unavailable" in page.text
    assert "the registry&#39;s disk is full" in page.text
    assert "Try again in 30 seconds." in page.text
    assert "/ui/health" in page.text  # where to see when it is back
    assert "db.internal" not in page.text
    assert "/srv/tmr" not in page.text


def test_the_hub_door_names_the_blob_store_in_its_error_headers(
    client: TestClient, auth: dict[str, str], registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    failure = BlobStoreUnavailable("S3 get_object failed: https://s3.internal.example/bucket")
    monkeypatch.setattr(registry.hub, "revision", _fails(failure))
    response = client.get(
        "/api/models/google-bert/bert-base-uncased", headers={"Authorization": auth["X-Authorization"]}
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.headers["X-Error-Message"] == "the blob store is unavailable"
    assert "s3.internal" not in response.text
