"""Fixtures of the unit layer: the whole registry in memory (tests/unit/memory_app.py), its
HTTP client and its services, for the tests of routes and pages that do no I/O."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.unit.memory_app import memory_client
from tmr.container import Registry


@pytest.fixture
def app() -> Iterator[tuple[TestClient, Registry]]:
    with memory_client() as built:
        yield built


@pytest.fixture
def client(app: tuple[TestClient, Registry]) -> TestClient:
    return app[0]


@pytest.fixture
def registry(app: tuple[TestClient, Registry]) -> Registry:
    return app[1]
