import logging
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.operations.fakes import Clock, Health, MemoryOperations
from tmr.accounts.models import Principal
from tmr.errors import InvalidInput, PermissionDenied
from tmr.observability.activity import ActivityRecorder
from tmr.observability.models import LogLine
from tmr.observability.operations import OperationsService

T0 = 1_800_000_000.0
ADMIN = Principal("root", is_admin=True)
USER = Principal("alice")


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + 30)


@pytest.fixture
def store() -> MemoryOperations:
    return MemoryOperations()


@pytest.fixture
def recorder(store: MemoryOperations, clock: Clock) -> ActivityRecorder:
    return ActivityRecorder(store, flush_interval_s=5, clock=clock.wall, monotonic=clock.monotonic)


@pytest.fixture
def service(store: MemoryOperations, recorder: ActivityRecorder, clock: Clock) -> OperationsService:
    return OperationsService(store, recorder, Health(), clock=clock.wall)


@pytest.mark.parametrize("window", [5, 15, 60])
def test_activity_covers_the_window_ending_with_the_current_minute(
    service: OperationsService, recorder: ActivityRecorder, clock: Clock, window: int
) -> None:
    recorder.request("GET /x", 200, 0.02)  # not flushed yet: reading flushes first
    activity = service.activity(USER, window)
    assert activity.window_minutes == window
    assert len(activity.minutes) == window
    current = datetime.fromtimestamp(T0, UTC)
    assert activity.minutes[-1].minute == current
    assert activity.minutes[0].minute == current - timedelta(minutes=window - 1)
    assert activity.totals.requests == 1
    assert activity.instances == 1
    assert activity.generated_at == datetime.fromtimestamp(clock.now, UTC)
    assert activity.components["status"] == "ok"


def test_minutes_before_the_window_are_left_out(
    service: OperationsService, recorder: ActivityRecorder, clock: Clock
) -> None:
    recorder.request("GET /x", 200, 0.02)
    clock.now += 5 * 60
    recorder.request("GET /x", 200, 0.02)
    assert service.activity(USER, 5).totals.requests == 1
    assert service.activity(USER, 15).totals.requests == 2


@pytest.mark.parametrize("window", [0, 1, 7, 30, 61, -5, 1440])
def test_unknown_windows_are_invalid_input(service: OperationsService, window: int) -> None:
    with pytest.raises(InvalidInput, match="5, 15, 60"):
        service.activity(USER, window)


def line(message: str, levelno: int) -> LogLine:
    return LogLine(
        datetime.fromtimestamp(T0, UTC), "i", levelno, logging.getLevelName(levelno).lower(), "tmr.x", message
    )


def test_logs_are_for_administrators_only(service: OperationsService) -> None:
    with pytest.raises(PermissionDenied):
        service.logs(USER, None, None, 10)
    assert service.logs(ADMIN, None, None, 10) == []


def test_logs_filter_by_lowest_level_and_text(service: OperationsService, store: MemoryOperations) -> None:
    store.append_logs(
        [line("request one", 20), line("Upstream slow", 30), line("upstream failed", 40)], keep=100
    )
    assert [x.message for x in service.logs(ADMIN, "warning", None, 10)] == [
        "upstream failed",
        "Upstream slow",
    ]
    assert [x.message for x in service.logs(ADMIN, "", "  UPSTREAM ", 1)] == ["upstream failed"]
    assert len(service.logs(ADMIN, "INFO", None, 10)) == 3


@pytest.mark.parametrize(
    ("level", "text", "limit"),
    [("verbose", None, 10), (None, "x" * 201, 10), (None, None, 0), (None, None, 10_001)],
)
def test_bad_log_filters_are_invalid_input(
    service: OperationsService, level: str | None, text: str | None, limit: int
) -> None:
    with pytest.raises(InvalidInput):
        service.logs(ADMIN, level, text, limit)
