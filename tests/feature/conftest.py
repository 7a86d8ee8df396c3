"""The HTTP API in process: a registry on SQLite + files, upstreams served by the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.emulator.server import EmulatorServer, running_emulator
from tests.support import auth_request, make_settings
from tmr.app import create_app
from tmr.container import Registry, build_registry
from tmr.downloads.service import DownloadService


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    with running_emulator() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").faults.clear()


@pytest.fixture
def make_registry(tmp_path: Path, emulator: EmulatorServer) -> Iterator[Callable[..., Registry]]:
    built: list[Registry] = []

    def build(**overrides: Any) -> Registry:
        registry = build_registry(make_settings(tmp_path / f"data{len(built)}", emulator.url, **overrides))
        built.append(registry)
        return registry

    yield build
    for registry in built:
        registry.close()


@pytest.fixture
def registry(make_registry: Callable[..., Registry]) -> Registry:
    return make_registry()


@pytest.fixture
def client(registry: Registry) -> Iterator[TestClient]:
    with TestClient(create_app(registry=registry)) as test_client:
        yield test_client


@pytest.fixture
def auth(client: TestClient) -> dict[str, str]:
    response = client.put("/authenticate", json=auth_request())
    assert response.status_code == 200, response.text
    return {"X-Authorization": response.json()}


HF = "https://huggingface.co"
GH = "https://github.com"


def register(
    client: TestClient, auth: dict[str, str], type_: str, url: str, name: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url}
    if name is not None:
        body["name"] = name
    response = client.post(f"/artifact/{type_}", json=body, headers=auth)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


BERT = f"{HF}/google-bert/bert-base-uncased"


@pytest.fixture
def bert(client: TestClient, auth: dict[str, str]) -> str:
    artifact_id: str = register(client, auth, "model", BERT)["metadata"]["id"]
    return artifact_id


def rewire_downloads(registry: Registry, **options: Any) -> None:
    """Give `registry` a download service built with other options, as a registry wired by hand
    would have (settings are read once, when the registry is built)."""
    registry.downloads = DownloadService(
        registry.artifacts,
        registry.files,
        registry.store,
        registry.store,
        registry.blobs,
        **{
            "eager_digest_bytes": registry.settings.eager_digest_bytes,
            "monitors": registry.downloads.monitors,
            "history": registry.downloads.history,
            **options,
        },
    )
