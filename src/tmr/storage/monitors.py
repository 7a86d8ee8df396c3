"""Sensitive models' monitors in the metadata store (`tmr.monitors.models.MonitorRepository`).

A monitor row hangs off the artifact's row (`ON DELETE CASCADE`), so deleting a model or a reset
removes its monitor in the same statement, and replacing a model's contents (`PUT /artifacts`)
keeps it: the row, and so the monitor, outlives a new version of the files.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from tmr.errors import NotFound
from tmr.monitors.models import Monitor
from tmr.storage.sessions import SqlRepository
from tmr.storage.tables import ArtifactRow, MonitorRow, table

# Built once (storage/sessions.py, `_reading`): every download asks whether its model is monitored.
_MONITORS, _ARTIFACTS = table(MonitorRow), table(ArtifactRow)
_MONITOR_OF = (
    select(_MONITORS.c.program, _MONITORS.c.sha256, _MONITORS.c.set_by, _MONITORS.c.set_at)
    .join(_ARTIFACTS, _ARTIFACTS.c.seq == _MONITORS.c.artifact_seq)
    .where(_ARTIFACTS.c.id == bindparam("id"))
)


class SqlMonitorStore(SqlRepository):
    """Implements `MonitorRepository`; every method is one transaction."""

    def get_monitor(self, artifact_id: str) -> Monitor | None:
        with self._reading() as connection:
            row = connection.execute(_MONITOR_OF, {"id": artifact_id}).first()
            if row is None:
                return None
            return Monitor(artifact_id, row.program, row.sha256, row.set_by, row.set_at)

    def put_monitor(self, monitor: Monitor) -> bool:
        try:
            return self._put(monitor)
        except SqlIntegrityError:
            # Another request created the row between our read and insert: replace it instead.
            return self._put(monitor)

    def _put(self, monitor: Monitor) -> bool:
        with self._write() as session:
            seq = session.scalar(select(ArtifactRow.seq).where(ArtifactRow.id == monitor.artifact_id))
            if seq is None:
                raise NotFound(f"no artifact with id {monitor.artifact_id}")
            row = session.get(MonitorRow, seq, with_for_update=True)
            created = row is None
            if row is None:
                row = MonitorRow(artifact_seq=seq)
                session.add(row)
            row.program = monitor.program
            row.sha256 = monitor.sha256
            row.set_by = monitor.set_by
            row.set_at = monitor.set_at
            return created

    def delete_monitor(self, artifact_id: str) -> bool:
        with self._write() as session:
            seq = session.scalar(select(ArtifactRow.seq).where(ArtifactRow.id == artifact_id))
            if seq is None:
                return False
            result = session.execute(delete(MonitorRow).where(MonitorRow.artifact_seq == seq))
            return bool(getattr(result, "rowcount", 0))
