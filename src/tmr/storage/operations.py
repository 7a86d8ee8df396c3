"""Operational data in the metadata store: per-minute request aggregates and recent log lines.

Every worker and Lambda instance writes its own rows and reads everyone's, so the dashboard shows
the same numbers whoever serves it. Both tables are bounded by their writers: minutes older than
the retention are deleted on each save, log lines beyond the newest `keep` on each append (counted
apart for INFO and for WARNING and above, so a flood of request lines never pushes out the errors
an operator is looking for).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from tmr.observability import histogram
from tmr.observability.models import LogLine, MinuteRecord
from tmr.storage.sessions import SqlRepository
from tmr.storage.tables import OpsLogRow, OpsMinuteRow

_REPLACED = (
    "requests",
    "errors",
    "server_errors",
    "latency_ms_sum",
    "latency",
    "downloads",
    "bytes_served",
    "registrations",
)
WARNING = 30  # logging.WARNING: warnings and errors are bounded apart from the INFO stream
MESSAGE_CHARS = 4_000
FIELDS_CHARS = 16_000


def _storable(text: str) -> str:
    # PostgreSQL text refuses NUL; a log line is shown, never looked up by it, so replace it.
    return text.replace("\0", "\ufffd")


def _fields(fields: Any) -> dict[str, Any]:
    """JSON-safe fields of a bounded size: anything not JSON becomes its string, NUL is replaced,
    and an oversized set is kept as a truncated text (a traceback can be long)."""
    encoded = json.dumps(dict(fields), default=str).replace("\\u0000", "\\ufffd")
    if len(encoded) > FIELDS_CHARS:
        return {"truncated": encoded[:FIELDS_CHARS]}
    loaded: dict[str, Any] = json.loads(encoded)
    return loaded


def _minute_values(record: MinuteRecord) -> dict[str, Any]:
    return {
        "minute": record.minute,
        "instance": record.instance[:64],
        "route": _storable(record.route)[:256],
        "requests": record.requests,
        "errors": record.errors,
        "server_errors": record.server_errors,
        "latency_ms_sum": record.latency_ms_sum,
        "latency": histogram.to_json(record.latency),
        "downloads": record.downloads,
        "bytes_served": record.bytes_served,
        "registrations": {_storable(k): v for k, v in record.registrations.items() if v},
    }


def _minute(row: OpsMinuteRow) -> MinuteRecord:
    registrations = row.registrations if isinstance(row.registrations, dict) else {}
    return MinuteRecord(
        minute=row.minute,
        instance=row.instance,
        route=row.route,
        requests=row.requests,
        errors=row.errors,
        server_errors=row.server_errors,
        latency_ms_sum=row.latency_ms_sum,
        latency=histogram.from_json(row.latency),
        downloads=row.downloads,
        bytes_served=row.bytes_served,
        registrations={str(k): int(v) for k, v in registrations.items()},
    )


def _line(row: OpsLogRow) -> LogLine:
    return LogLine(
        at=row.at,
        instance=row.instance,
        levelno=row.levelno,
        level=row.level,
        logger=row.logger,
        message=row.message,
        fields=row.fields if isinstance(row.fields, dict) else {},
    )


class SqlOperationsStore(SqlRepository):
    """Implements `tmr.observability.interfaces.OperationsRepository` over the metadata store's
    engine (SQLite or PostgreSQL); every method is one transaction."""

    def save_minutes(self, records: Sequence[MinuteRecord], keep_since: datetime) -> None:
        dialect = self.engine.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        with self._write() as session:
            if records:
                stmt = insert(OpsMinuteRow).values([_minute_values(r) for r in records])
                stmt = stmt.on_conflict_do_update(
                    index_elements=["minute", "instance", "route"],
                    set_={name: stmt.excluded[name] for name in _REPLACED},
                )
                session.execute(stmt)
            session.execute(delete(OpsMinuteRow).where(OpsMinuteRow.minute < keep_since))

    def minutes(self, since: datetime) -> list[MinuteRecord]:
        with self._read() as session:
            rows = session.scalars(
                select(OpsMinuteRow)
                .where(OpsMinuteRow.minute >= since)
                .order_by(OpsMinuteRow.minute, OpsMinuteRow.route, OpsMinuteRow.instance)
            )
            return [_minute(row) for row in rows]

    def append_logs(self, lines: Sequence[LogLine], keep: int) -> None:
        with self._write() as session:
            session.add_all(
                OpsLogRow(
                    at=line.at,
                    instance=line.instance[:64],
                    levelno=line.levelno,
                    level=line.level[:16],
                    logger=_storable(line.logger)[:256],
                    message=_storable(line.message)[:MESSAGE_CHARS],
                    fields=_fields(line.fields),
                )
                for line in lines
            )
            session.flush()
            for band in (OpsLogRow.levelno < WARNING, OpsLogRow.levelno >= WARNING):
                oldest_kept = session.scalar(
                    select(OpsLogRow.seq)
                    .where(band)
                    .order_by(OpsLogRow.seq.desc())
                    .offset(max(1, keep) - 1)
                    .limit(1)
                )
                if oldest_kept is not None:
                    session.execute(delete(OpsLogRow).where(band, OpsLogRow.seq < oldest_kept))

    def logs(self, min_level: int, text: str | None, limit: int) -> list[LogLine]:
        query = select(OpsLogRow).where(OpsLogRow.levelno >= min_level)
        if text:
            if "\0" in text:
                return []  # no stored line holds NUL (it is replaced on the way in)
            needle = text.lower()
            query = query.where(
                or_(
                    func.lower(OpsLogRow.message).contains(needle, autoescape=True),
                    func.lower(OpsLogRow.logger).contains(needle, autoescape=True),
                    func.lower(cast(OpsLogRow.fields, Text)).contains(needle, autoescape=True),
                )
            )
        with self._read() as session:
            rows = session.scalars(query.order_by(OpsLogRow.seq.desc()).limit(max(0, limit)))
            return [_line(row) for row in rows]
