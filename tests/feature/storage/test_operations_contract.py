"""One contract suite for the operations store, run against SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import fresh_engine
from tmr.observability.models import EVENTS_ROUTE, LogLine, MinuteRecord
from tmr.storage.operations import FIELDS_CHARS, MESSAGE_CHARS, SqlOperationsStore

T = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[SqlOperationsStore]:
    engine = fresh_engine(database_url)
    yield SqlOperationsStore(engine)
    engine.dispose()


def minute(offset: int, instance: str = "a", route: str = "GET /x", requests: int = 1) -> MinuteRecord:
    return MinuteRecord(
        minute=T + timedelta(minutes=offset),
        instance=instance,
        route=route,
        requests=requests,
        errors=1,
        server_errors=0,
        latency_ms_sum=12.5,
        latency={3: requests},
    )


def line(message: str, levelno: int = 20, **fields: object) -> LogLine:
    return LogLine(T, "a", levelno, "info" if levelno < 30 else "error", "tmr.test", message, fields)


def test_minutes_round_trip(store: SqlOperationsStore) -> None:
    events = MinuteRecord(
        T, "a", EVENTS_ROUTE, downloads=2, bytes_served=5 * 1024**3, registrations={"model": 2, "code": 1}
    )
    store.save_minutes([minute(0), events], keep_since=T - timedelta(hours=2))
    got = {r.route: r for r in store.minutes(T)}
    assert got["GET /x"] == minute(0)
    assert got["GET /x"].minute.tzinfo is not None
    assert got[EVENTS_ROUTE] == events  # bytes beyond 32 bits included


def test_a_save_replaces_the_same_minute_instance_and_route(store: SqlOperationsStore) -> None:
    keep = T - timedelta(hours=2)
    store.save_minutes([minute(0, requests=1), minute(0, instance="b", requests=5)], keep)
    store.save_minutes([minute(0, requests=3)], keep)
    got = sorted((r.instance, r.requests, dict(r.latency)) for r in store.minutes(T))
    assert got == [("a", 3, {3: 3}), ("b", 5, {3: 5})]


def test_minutes_are_read_from_since_and_trimmed_before_keep_since(store: SqlOperationsStore) -> None:
    store.save_minutes([minute(-200), minute(-10), minute(0), minute(1)], keep_since=T - timedelta(hours=4))
    assert [r.minute for r in store.minutes(T)] == [T, T + timedelta(minutes=1)]
    store.save_minutes([], keep_since=T - timedelta(minutes=10))
    remaining = store.minutes(T - timedelta(hours=10))
    assert [r.minute for r in remaining] == [T - timedelta(minutes=10), T, T + timedelta(minutes=1)]


def test_logs_newest_first_with_level_and_text_filters(store: SqlOperationsStore) -> None:
    store.append_logs(
        [
            line("request", path="/artifacts/model/1"),
            line("upstream slow", 30),
            line("100%_done", 20),
            line("rating failed", 40, artifact="Bert"),
        ],
        keep=100,
    )
    assert [x.message for x in store.logs(0, None, 10)] == [
        "rating failed",
        "100%_done",
        "upstream slow",
        "request",
    ]
    assert [x.message for x in store.logs(30, None, 10)] == ["rating failed", "upstream slow"]
    assert [x.message for x in store.logs(0, "UPSTREAM", 10)] == ["upstream slow"]
    assert [x.message for x in store.logs(0, "artifacts/model", 10)] == ["request"]  # in the fields
    assert [x.message for x in store.logs(0, "bert", 10)] == ["rating failed"]
    assert [x.message for x in store.logs(0, "%_", 10)] == ["100%_done"]  # LIKE wildcards are text
    assert [x.message for x in store.logs(0, "tmr.test", 2)] == ["rating failed", "100%_done"]
    assert store.logs(0, "nothing like it", 10) == []
    assert store.logs(0, "nul\0", 10) == []
    got = store.logs(40, None, 1)[0]
    assert (got.at, got.instance, got.level, got.logger, dict(got.fields)) == (
        T,
        "a",
        "error",
        "tmr.test",
        {"artifact": "Bert"},
    )


def test_logs_are_bounded_per_band(store: SqlOperationsStore) -> None:
    store.append_logs([line("error 0", 40)], keep=3)
    store.append_logs([line(f"info {i}") for i in range(5)], keep=3)
    store.append_logs([line("info 5"), line("error 1", 40)], keep=3)
    assert [x.message for x in store.logs(0, None, 100)] == [
        "error 1",
        "info 5",
        "info 4",
        "info 3",
        "error 0",  # a flood of INFO did not push the older error out
    ]


def test_unstorable_and_oversized_log_lines_are_kept_safely(store: SqlOperationsStore) -> None:
    store.append_logs(
        [
            line("nul \0 inside", logger_arg=object(), nul="a\0b"),
            line("x" * (MESSAGE_CHARS + 10), big="y" * (FIELDS_CHARS + 10)),
        ],
        keep=100,
    )
    big, nul = store.logs(0, None, 10)
    assert nul.message == "nul \ufffd inside"
    assert nul.fields["nul"] == "a\ufffdb"
    assert nul.fields["logger_arg"].startswith("<object object")  # not JSON: kept as its text
    assert len(big.message) == MESSAGE_CHARS
    assert list(big.fields) == ["truncated"]
