"""Fixtures for every layer. Services come from `scripts/services.sh` through its env file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services
from tests.support import fresh_engine
from tmr.storage.metadata import SqlMetadataStore

pytest_plugins = ["tests.error_capture"]  # TMR_ERROR_CAPTURE: scripts/error_messages.py


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tmr.sqlite3'}"
    return services.require("postgres")


@pytest.fixture
def metadata_store(database_url: str) -> Iterator[SqlMetadataStore]:
    engine = fresh_engine(database_url)
    yield SqlMetadataStore(engine)
    engine.dispose()
