"""Log lines as JSON objects: the fields the dashboard and log shippers read, extras kept, and the
traceback of a logged exception."""

from __future__ import annotations

import json
import logging

from tmr.observability.logs import JsonFormatter


def _record(**extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {
            "name": "tmr.api",
            "levelno": logging.WARNING,
            "levelname": "WARNING",
            "msg": "took %d ms",
            "args": (7,),
        }
    )
    record.created = 1_767_225_600.123456  # 2026-01-01T00:00:00.123Z
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_line_holds_time_level_logger_message_and_extras() -> None:
    line = json.loads(JsonFormatter().format(_record(route="/health", artifact=object.__name__)))
    assert line == {
        "ts": "2026-01-01T00:00:00.123+00:00",
        "level": "warning",
        "logger": "tmr.api",
        "msg": "took 7 ms",
        "route": "/health",
        "artifact": "object",
    }


def test_values_json_cannot_encode_are_written_as_text() -> None:
    line = json.loads(JsonFormatter().format(_record(path=frozenset({"x"}))))
    assert line["path"] == "frozenset({'x'})"


def test_an_exception_carries_its_traceback() -> None:
    try:
        raise ValueError("bad value")
    except ValueError:
        record = _record()
        record.exc_info = __import__("sys").exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert line["exc"].startswith("Traceback (most recent call last):")
    assert line["exc"].endswith("ValueError: bad value")
