"""The download history in the metadata store (`tmr.downloads.history.DownloadHistory`).

One row per download asked for, allowed or refused, kept after the artifact is deleted. Values
are fitted to their columns (PostgreSQL refuses an over-long `varchar` and a NUL in text) rather
than refused: losing the record of a download to a long client string would hide it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast, get_args

from sqlalchemy import delete, insert, select

from tmr.artifacts.models import AuditEntry
from tmr.downloads.history import Door, DownloadEvent
from tmr.storage.metadata import insert_audit
from tmr.storage.sessions import SqlRepository
from tmr.storage.tables import DownloadEventRow, table

OUTPUT_CHARS = 16_000
"""Characters of a monitor's output kept per event (the error the downloader saw carries more)."""
_DOORS = frozenset(get_args(Door))


def _fit(value: str, chars: int) -> str:
    return value.replace("\0", "\ufffd")[:chars]


def _fit_optional(value: str | None, chars: int) -> str | None:
    return None if value is None else _fit(value, chars)


def _event(row: DownloadEventRow) -> DownloadEvent:
    door = row.door if row.door in _DOORS else "api"
    return DownloadEvent(
        artifact_id=row.artifact_id,
        artifact_type=row.artifact_type,
        artifact_name=row.artifact_name,
        user_name=row.user_name,
        client=row.client,
        door=cast(Door, door),
        parts=row.parts,
        allowed=row.allowed,
        monitor_exit=row.monitor_exit,
        monitor_output=row.monitor_output,
        reason=row.reason,
        at=row.at,
    )


_INSERT_EVENT = insert(table(DownloadEventRow))  # built once: every download records itself


class SqlDownloadHistory(SqlRepository):
    """Implements `DownloadHistory` over the `download_events` table (SQLite or PostgreSQL)."""

    def record_download(self, event: DownloadEvent, audit: AuditEntry | None = None) -> None:
        with self._writing() as connection:
            if audit is not None:
                insert_audit(connection, audit)
            connection.execute(
                _INSERT_EVENT,
                {
                    "artifact_id": _fit(event.artifact_id, 64),
                    "artifact_type": _fit(event.artifact_type, 16),
                    "artifact_name": _fit(event.artifact_name, 512),
                    "user_name": _fit(event.user_name, 256),
                    "client": _fit_optional(event.client, 64),
                    "door": event.door,
                    "parts": _fit_optional(event.parts, 1024),
                    "allowed": event.allowed,
                    "monitor_exit": event.monitor_exit,
                    "monitor_output": _fit_optional(event.monitor_output, OUTPUT_CHARS),
                    "reason": _fit_optional(event.reason, OUTPUT_CHARS),
                    "at": event.at,
                },
            )

    def downloads_of(
        self, artifact_id: str, *, limit: int, before_seq: int | None = None
    ) -> Sequence[tuple[int, DownloadEvent]]:
        query = select(DownloadEventRow).where(DownloadEventRow.artifact_id == artifact_id)
        if before_seq is not None:
            query = query.where(DownloadEventRow.seq < before_seq)
        with self._read() as session:
            rows = session.scalars(query.order_by(DownloadEventRow.seq.desc()).limit(max(0, limit)))
            return [(row.seq, _event(row)) for row in rows]

    def downloads_since(self, since: datetime | None, *, limit: int) -> Sequence[DownloadEvent]:
        query = select(DownloadEventRow)
        if since is not None:
            query = query.where(DownloadEventRow.at >= since)
        with self._read() as session:
            rows = session.scalars(
                query.order_by(DownloadEventRow.at, DownloadEventRow.seq).limit(max(0, limit))
            )
            return [_event(row) for row in rows]

    def reset(self) -> None:
        """Forget every download (the registry's reset to its default state)."""
        with self._write() as session:
            session.execute(delete(DownloadEventRow))
