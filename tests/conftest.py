"""Fixtures for every layer. Services come from `scripts/services.sh` through its env file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests import services
from tests.support import fresh_engine
from tmr.storage.metadata import SqlMetadataStore

pytest_plugins = ["tests.error_capture"]  # TMR_ERROR_CAPTURE: scripts/error_messages.py

# Property tests draw the same examples on every run and machine (derandomize: the seed comes from
# each test's own source), keep no example database between runs (no `.hypothesis/` state carried
# from one run to the next), and have no per-example deadline (a loaded CI machine is slow, not
# wrong). TMR_HYPOTHESIS_PROFILE=explore searches with fresh random examples, for local hunting.
settings.register_profile("tmr", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", database=None, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("TMR_HYPOTHESIS_PROFILE", "tmr"))


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`TMR_TEST_ORDER=reverse` runs the tests last to first: a test that passes only after
    another one (state it left behind) fails then (docs/testing.md, "Isolation")."""
    if os.environ.get("TMR_TEST_ORDER", "").strip().lower() == "reverse":
        items.reverse()
