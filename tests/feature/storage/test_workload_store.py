"""The workload runs' store, run against SQLite and PostgreSQL: one active run at a time whoever
races, stale active runs retired, results round-trip, and the table bounded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import fresh_engine
from tmr.errors import Conflict
from tmr.storage.workloads import SqlWorkloadStore
from tmr.workload.models import RunStatus, WorkloadParams, WorkloadResults, WorkloadRun

T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[SqlWorkloadStore]:
    engine = fresh_engine(database_url)
    yield SqlWorkloadStore(engine)
    engine.dispose()


def run(run_id: str, at: datetime = T0, limit_s: int = 30, parts: str | None = None) -> WorkloadRun:
    return WorkloadRun(
        id=run_id,
        started_by="admin",
        started_at=at,
        deadline_at=at + timedelta(seconds=limit_s + 30),
        artifact_id="17",
        artifact_name="bert-base-uncased",
        params=WorkloadParams(clients=4, requests=100, time_limit_s=limit_s, parts=parts),
        status=RunStatus.QUEUED,
    )


RESULTS = WorkloadResults(
    bytes=123_456_789_012,
    elapsed_s=2.5,
    throughput_mb_s=49_382.7,
    requests_per_s=40.0,
    mean_ms=24.5,
    median_ms=22.0,
    p99_ms=80.25,
    errors=3,
    first_error="HTTP 503: busy\0",
)


def test_a_run_round_trips_through_its_life(store: SqlWorkloadStore) -> None:
    store.create(run("1", parts="config"), T0, keep=100)
    got = store.get("1")
    assert got == run("1", parts="config")
    assert got is not None
    assert got.started_at.tzinfo is not None
    store.mark_running("1")
    store.progress("1", 40, 2)
    got = store.get("1")
    assert got is not None
    assert (got.status, got.done, got.failed) == (RunStatus.RUNNING, 40, 2)
    store.finish("1", RunStatus.FINISHED, 100, 3, RESULTS, None, T0 + timedelta(seconds=3))
    got = store.get("1")
    assert got is not None
    assert (got.status, got.done, got.failed, got.finished_at) == (
        RunStatus.FINISHED,
        100,
        3,
        T0 + timedelta(seconds=3),
    )
    assert got.results is not None
    assert got.results.bytes == RESULTS.bytes  # beyond 32 bits
    assert got.results.first_error == "HTTP 503: busy\ufffd"  # NUL, which PostgreSQL refuses, replaced
    assert (got.results.mean_ms, got.results.median_ms, got.results.p99_ms) == (24.5, 22.0, 80.25)
    # A finished run's progress is final.
    store.progress("1", 1, 1)
    got = store.get("1")
    assert got is not None
    assert (got.done, got.failed) == (100, 3)
    assert store.get("nope") is None


def test_a_failed_run_keeps_why_and_has_no_results(store: SqlWorkloadStore) -> None:
    store.create(run("1"), T0, keep=100)
    store.finish("1", RunStatus.FAILED, 5, 0, None, "ConnectError: refused", T0)
    got = store.get("1")
    assert got is not None
    assert (got.status, got.results, got.error, got.done) == (
        RunStatus.FAILED,
        None,
        "ConnectError: refused",
        5,
    )


def test_one_active_run_at_a_time(store: SqlWorkloadStore) -> None:
    store.create(run("1"), T0, keep=100)
    with pytest.raises(Conflict) as refused:
        store.create(run("2", at=T0 + timedelta(seconds=1)), T0 + timedelta(seconds=1), keep=100)
    assert refused.value.details["run_id"] == "1"
    assert store.get("2") is None
    store.mark_running("1")
    with pytest.raises(Conflict):
        store.create(run("2"), T0 + timedelta(seconds=5), keep=100)
    store.finish("1", RunStatus.FINISHED, 100, 0, RESULTS, None, T0 + timedelta(seconds=10))
    store.create(run("2"), T0 + timedelta(seconds=11), keep=100)
    assert [r.id for r in store.recent(10)] == ["2", "1"]


def test_a_run_past_its_deadline_is_retired_as_interrupted(store: SqlWorkloadStore) -> None:
    store.create(run("1", limit_s=30), T0, keep=100)
    store.mark_running("1")
    # Before the deadline (start + 30 s + 30 s grace) the run still holds its place...
    with pytest.raises(Conflict):
        store.create(run("2"), T0 + timedelta(seconds=59), keep=100)
    # ...after it, the process that ran it is taken to be gone.
    later = T0 + timedelta(seconds=61)
    store.create(run("2", at=later), later, keep=100)
    old = store.get("1")
    assert old is not None
    assert old.status is RunStatus.INTERRUPTED
    assert old.error
    new = store.get("2")
    assert new is not None
    assert new.status is RunStatus.QUEUED


def test_racing_starts_let_exactly_one_run_in(store: SqlWorkloadStore) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def start(i: int) -> None:
        barrier.wait()
        try:
            store.create(run(str(i)), T0, keep=100)
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=start, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["created"]
    assert len(store.recent(10)) == 1


def test_only_the_newest_runs_are_kept(store: SqlWorkloadStore) -> None:
    for i in range(1, 8):
        at = T0 + timedelta(minutes=i)
        store.create(run(str(i), at=at), at, keep=5)
        store.finish(str(i), RunStatus.FINISHED, 100, 0, RESULTS, None, at)
    assert [r.id for r in store.recent(100)] == ["7", "6", "5", "4", "3"]
    assert [r.id for r in store.recent(2)] == ["7", "6"]


def test_one_creation_retires_a_stale_run_and_trims_the_oldest(store: SqlWorkloadStore) -> None:
    store.create(run("1"), T0, keep=2)
    store.finish("1", RunStatus.FINISHED, 1, 0, RESULTS, None, T0)
    store.create(run("2"), T0, keep=2)  # never finished: its process died
    assert [r.id for r in store.recent(100)] == ["2", "1"]
    later = T0 + timedelta(hours=1)
    store.create(run("3", at=later), later, keep=2)  # 2 retired as interrupted, 1 trimmed
    assert [(r.id, r.status) for r in store.recent(100)] == [
        ("3", RunStatus.QUEUED),
        ("2", RunStatus.INTERRUPTED),
    ]
