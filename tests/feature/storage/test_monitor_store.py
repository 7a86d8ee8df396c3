"""The monitors' store, run against SQLite and PostgreSQL: a monitor round-trips, replaces the
model's previous one, is removed on request, survives a model's new contents, and goes with the
model (the foreign key's cascade)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tests.feature.storage.test_metadata_contract import make
from tests.support import fresh_engine
from tmr.errors import NotFound
from tmr.monitors.models import Monitor
from tmr.storage.metadata import SqlMetadataStore
from tmr.storage.monitors import SqlMonitorStore

AT = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.fixture
def stores(database_url: str) -> Iterator[tuple[SqlMetadataStore, SqlMonitorStore]]:
    engine = fresh_engine(database_url)
    yield SqlMetadataStore(engine), SqlMonitorStore(engine)
    engine.dispose()


def monitor(artifact_id: str, program: str = "process.exit(0)\n", by: str = "alice") -> Monitor:
    return Monitor(artifact_id, program, "a" * 64, by, AT)


def test_a_monitor_round_trips_and_is_replaced(stores: tuple[SqlMetadataStore, SqlMonitorStore]) -> None:
    artifacts, monitors = stores
    artifacts.create(make("1"))
    artifacts.create(make("2"))
    assert monitors.get_monitor("1") is None
    assert monitors.put_monitor(monitor("1")) is True
    assert monitors.get_monitor("1") == monitor("1")
    got = monitors.get_monitor("1")
    assert got is not None
    assert got.set_at.tzinfo is not None
    assert monitors.put_monitor(monitor("1", "process.exit(1)\n", by="admin")) is False
    assert monitors.get_monitor("1") == monitor("1", "process.exit(1)\n", by="admin")
    assert monitors.get_monitor("2") is None  # one model's monitor is its own


def test_removing_a_monitor(stores: tuple[SqlMetadataStore, SqlMonitorStore]) -> None:
    artifacts, monitors = stores
    artifacts.create(make("1"))
    monitors.put_monitor(monitor("1"))
    assert monitors.delete_monitor("1") is True
    assert monitors.get_monitor("1") is None
    assert monitors.delete_monitor("1") is False
    assert monitors.delete_monitor("nope") is False


def test_a_monitor_needs_its_model(stores: tuple[SqlMetadataStore, SqlMonitorStore]) -> None:
    _, monitors = stores
    with pytest.raises(NotFound):
        monitors.put_monitor(monitor("nope"))


def test_a_monitor_survives_new_contents_and_goes_with_its_model(
    stores: tuple[SqlMetadataStore, SqlMonitorStore],
) -> None:
    artifacts, monitors = stores
    artifacts.create(make("1"))
    artifacts.create(make("2"))
    monitors.put_monitor(monitor("1"))
    monitors.put_monitor(monitor("2"))
    artifacts.replace(replace(make("1"), readme="new contents"))
    assert monitors.get_monitor("1") == monitor("1")
    assert artifacts.delete("1")
    assert monitors.get_monitor("1") is None
    artifacts.reset()
    assert monitors.get_monitor("2") is None
