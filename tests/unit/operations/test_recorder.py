import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.operations.fakes import Clock, MemoryOperations
from tmr.artifacts.models import ArtifactType
from tmr.observability.activity import ActivityRecorder, minute_of
from tmr.observability.models import EVENTS_ROUTE
from tmr.observability.series import total

T0 = 1_800_000_000.0  # a minute's start: 1_800_000_000 is divisible by 60


def recorder(store: MemoryOperations, clock: Clock, interval: float = 5.0) -> ActivityRecorder:
    return ActivityRecorder(store, flush_interval_s=interval, clock=clock.wall, monotonic=clock.monotonic)


@pytest.fixture
def store() -> MemoryOperations:
    return MemoryOperations()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + 10)


def test_minute_of_floors_to_the_minute() -> None:
    assert minute_of(T0) == T0
    assert minute_of(T0 + 59.999) == T0
    assert minute_of(T0 + 60) == T0 + 60


def test_requests_are_aggregated_per_minute_and_route(store: MemoryOperations, clock: Clock) -> None:
    rec = recorder(store, clock)
    rec.request("GET /health", 200, 0.004)
    rec.request("GET /health", 404, 0.006)
    rec.request("POST /artifacts", 503, 1.5)
    clock.now += 60
    rec.request("GET /health", 200, 0.004)
    assert rec.flush()
    rows = {(r.minute, r.route): r for r in store.rows.values()}
    first = datetime.fromtimestamp(T0, UTC)
    health = rows[(first, "GET /health")]
    assert (health.requests, health.errors, health.server_errors) == (2, 1, 0)
    assert health.latency_ms_sum == pytest.approx(10.0)
    assert sum(health.latency.values()) == 2
    failing = rows[(first, "POST /artifacts")]
    assert (failing.requests, failing.errors, failing.server_errors) == (1, 1, 1)
    assert rows[(first + timedelta(minutes=1), "GET /health")].requests == 1
    assert {r.instance for r in store.rows.values()} == {rec.instance}


def test_a_flush_replaces_the_minute_with_its_whole_value(store: MemoryOperations, clock: Clock) -> None:
    rec = recorder(store, clock)
    rec.request("GET /x", 200, 0.01)
    rec.flush()
    rec.request("GET /x", 200, 0.01)
    rec.flush()
    rec.flush()  # nothing changed: nothing written
    assert [len(records) for records, _ in store.saves] == [1, 1, 0]
    assert store.saves[1][0][0].requests == 2  # cumulative, so a replace is exact
    assert total(store.minutes(datetime.fromtimestamp(0, UTC))).requests == 2


def test_events_are_counted_in_the_events_row(store: MemoryOperations, clock: Clock) -> None:
    rec = recorder(store, clock)
    rec.downloaded(1000, started=True)
    rec.downloaded(500, started=False)  # the rest of a resumed download: bytes, not a new one
    rec.registered(ArtifactType.MODEL)
    rec.registered(ArtifactType.MODEL)
    rec.registered(ArtifactType.CODE)
    rec.flush()
    (events,) = store.rows.values()
    assert events.route == EVENTS_ROUTE
    assert (events.requests, events.downloads, events.bytes_served) == (0, 1, 1500)
    assert events.registrations == {"model": 2, "code": 1}


def test_flush_is_due_after_the_interval_on_the_monotonic_clock(
    store: MemoryOperations, clock: Clock
) -> None:
    rec = recorder(store, clock, interval=5.0)
    assert rec.flush_due()  # never flushed
    rec.flush()
    assert not rec.flush_due()
    clock.now += 3600  # the wall clock jumping does not make a flush due
    assert not rec.flush_due()
    clock.ticks += 5.0
    assert rec.flush_due()
    assert recorder(store, clock, interval=0).flush_due()


def test_a_failed_flush_keeps_the_data_for_the_next(store: MemoryOperations, clock: Clock) -> None:
    rec = recorder(store, clock)
    rec.request("GET /x", 200, 0.01)
    store.failing = True
    assert rec.flush() is False  # never raises
    assert store.rows == {}
    store.failing = False
    rec.request("GET /x", 500, 0.01)
    assert rec.flush()
    (row,) = store.rows.values()
    assert (row.requests, row.server_errors) == (2, 1)


def test_old_minutes_are_trimmed(store: MemoryOperations, clock: Clock) -> None:
    rec = recorder(store, clock)
    rec.request("GET /old", 200, 0.01)
    rec.flush()
    clock.now += 121 * 60
    rec.request("GET /new", 200, 0.01)
    rec.flush()
    assert [r.route for r in store.rows.values()] == ["GET /new"]
    records, keep_since = store.saves[-1]
    assert [r.route for r in records] == ["GET /new"]
    assert keep_since == datetime.fromtimestamp(minute_of(clock.now) - 120 * 60, UTC)


def test_two_instances_add_up(store: MemoryOperations, clock: Clock) -> None:
    a, b = recorder(store, clock), recorder(store, clock)
    assert a.instance != b.instance
    for _ in range(3):
        a.request("GET /x", 200, 0.01)
    b.request("GET /x", 500, 0.2)
    a.flush()
    b.flush()
    summed = total(store.minutes(datetime.fromtimestamp(T0, UTC)))
    assert (summed.requests, summed.server_errors) == (4, 1)


@pytest.fixture
def capturing(store: MemoryOperations, clock: Clock) -> Iterator[ActivityRecorder]:
    rec = recorder(store, clock)
    rec.logs.attach()
    yield rec
    rec.logs.detach()


def test_log_lines_are_captured_and_flushed(capturing: ActivityRecorder, store: MemoryOperations) -> None:
    logger = logging.getLogger("tmr.test.operations")
    logger.debug("too chatty to keep")
    logger.info("registered %s", "bert", extra={"artifact_id": "42"})
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("it failed")
    logging.getLogger("elsewhere").warning("not the registry's")
    capturing.flush()
    assert [(line.level, line.message) for line in store.lines] == [
        ("info", "registered bert"),
        ("error", "it failed"),
    ]
    assert store.lines[0].fields == {"artifact_id": "42"}
    assert "ValueError: boom" in store.lines[1].fields["exc"]
    assert {line.instance for line in store.lines} == {capturing.instance}


def test_log_lines_survive_a_failed_flush(capturing: ActivityRecorder, store: MemoryOperations) -> None:
    logging.getLogger("tmr.test.operations").warning("first")
    store.failing = True
    assert capturing.flush() is False
    store.failing = False
    assert capturing.flush()
    messages = [line.message for line in store.lines]
    assert messages[0] == "first"
    assert any("failed" in m for m in messages[1:])  # the failure itself was logged


def test_the_log_buffer_is_bounded(store: MemoryOperations, clock: Clock) -> None:
    rec = recorder(store, clock)
    capture = rec.logs
    for i in range(capture_capacity(rec) + 10):
        capture.emit(logging.makeLogRecord({"msg": f"line {i}", "levelno": 20, "levelname": "INFO"}))
    assert capture.dropped == 10
    lines = capture.drain()
    assert len(lines) == capture_capacity(rec)
    assert lines[0].message == "line 10"  # the oldest went first


def capture_capacity(rec: ActivityRecorder) -> int:
    return rec.logs._lines.maxlen or 0
