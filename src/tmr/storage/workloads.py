"""Download workload runs in the metadata store (see `tmr.workload.service`).

One active run at a time holds across workers through the unique `active` column: a second
insert while a run is queued or running fails in the database, whoever races. A run whose
process died would hold it for ever, so creating a run first retires the active runs whose
deadline has passed (as `interrupted`). The table keeps the newest `keep` runs: each creation
deletes the older ones (never an active one).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from tmr.errors import Conflict
from tmr.storage.sessions import SqlRepository
from tmr.storage.tables import WorkloadRunRow
from tmr.workload.models import INTERRUPTED_MESSAGE, RunStatus, WorkloadParams, WorkloadResults, WorkloadRun

ACTIVE = 1
ERROR_CHARS = 4_000
_ACTIVE_STATUSES = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


def _text(value: str | None) -> str | None:
    # PostgreSQL text refuses NUL; messages are shown, never looked up by.
    return None if value is None else value.replace("\0", "\ufffd")[:ERROR_CHARS]


def _run(row: WorkloadRunRow) -> WorkloadRun:
    results = None
    if row.elapsed_s is not None:
        results = WorkloadResults(
            bytes=row.bytes or 0,
            elapsed_s=row.elapsed_s,
            throughput_mb_s=row.throughput_mb_s or 0.0,
            requests_per_s=row.requests_per_s or 0.0,
            mean_ms=row.mean_ms,
            median_ms=row.median_ms,
            p99_ms=row.p99_ms,
            errors=row.errors or 0,
            first_error=row.first_error,
        )
    return WorkloadRun(
        id=row.id,
        started_by=row.started_by,
        started_at=row.started_at,
        deadline_at=row.deadline_at,
        artifact_id=row.artifact_id,
        artifact_name=row.artifact_name,
        params=WorkloadParams(row.clients, row.requests, row.time_limit_s, row.parts),
        status=RunStatus(row.status),
        done=row.done,
        failed=row.failed,
        results=results,
        error=row.error,
        finished_at=row.finished_at,
    )


class SqlWorkloadStore(SqlRepository):
    """Implements `tmr.workload.interfaces.WorkloadRepository` over the metadata store's engine
    (SQLite or PostgreSQL); every method is one transaction."""

    def create(self, run: WorkloadRun, now: datetime, keep: int) -> None:
        try:
            with self._write() as session:
                session.execute(
                    update(WorkloadRunRow)
                    .where(WorkloadRunRow.active == ACTIVE, WorkloadRunRow.deadline_at < now)
                    .values(active=None, status=RunStatus.INTERRUPTED.value, error=INTERRUPTED_MESSAGE)
                )
                running = session.scalar(select(WorkloadRunRow.id).where(WorkloadRunRow.active == ACTIVE))
                if running is not None:
                    raise _busy(running)
                session.add(
                    WorkloadRunRow(
                        id=run.id,
                        started_by=run.started_by,
                        started_at=run.started_at,
                        deadline_at=run.deadline_at,
                        artifact_id=run.artifact_id,
                        artifact_name=run.artifact_name,
                        clients=run.params.clients,
                        requests=run.params.requests,
                        time_limit_s=run.params.time_limit_s,
                        parts=run.params.parts,
                        status=run.status.value,
                        active=ACTIVE if run.status.active else None,
                        done=run.done,
                        failed=run.failed,
                    )
                )
                session.flush()
                oldest_kept = session.scalar(
                    select(WorkloadRunRow.seq)
                    .order_by(WorkloadRunRow.seq.desc())
                    .offset(max(1, keep) - 1)
                    .limit(1)
                )
                if oldest_kept is not None:
                    session.execute(
                        delete(WorkloadRunRow).where(
                            WorkloadRunRow.seq < oldest_kept, WorkloadRunRow.active.is_(None)
                        )
                    )
        except SqlIntegrityError as exc:
            # Another worker's run became active between the check and the insert.
            with self._read() as session:
                running = session.scalar(select(WorkloadRunRow.id).where(WorkloadRunRow.active == ACTIVE))
            raise _busy(running or "unknown") from exc

    def mark_running(self, run_id: str) -> None:
        with self._write() as session:
            session.execute(
                update(WorkloadRunRow)
                .where(WorkloadRunRow.id == run_id, WorkloadRunRow.status == RunStatus.QUEUED.value)
                .values(status=RunStatus.RUNNING.value)
            )

    def progress(self, run_id: str, done: int, failed: int) -> None:
        with self._write() as session:
            session.execute(
                update(WorkloadRunRow)
                .where(WorkloadRunRow.id == run_id, WorkloadRunRow.status.in_(_ACTIVE_STATUSES))
                .values(done=done, failed=failed)
            )

    def finish(
        self,
        run_id: str,
        status: RunStatus,
        done: int,
        failed: int,
        results: WorkloadResults | None,
        error: str | None,
        at: datetime,
    ) -> None:
        values: dict[str, object] = {
            "status": status.value,
            "active": None,
            "done": done,
            "failed": failed,
            "error": _text(error),
            "finished_at": at,
        }
        if results is not None:
            values.update(
                bytes=results.bytes,
                elapsed_s=results.elapsed_s,
                throughput_mb_s=results.throughput_mb_s,
                requests_per_s=results.requests_per_s,
                mean_ms=results.mean_ms,
                median_ms=results.median_ms,
                p99_ms=results.p99_ms,
                errors=results.errors,
                first_error=_text(results.first_error),
            )
        with self._write() as session:
            session.execute(update(WorkloadRunRow).where(WorkloadRunRow.id == run_id).values(**values))

    def get(self, run_id: str) -> WorkloadRun | None:
        with self._read() as session:
            row = session.scalar(select(WorkloadRunRow).where(WorkloadRunRow.id == run_id))
            return None if row is None else _run(row)

    def recent(self, limit: int) -> list[WorkloadRun]:
        with self._read() as session:
            rows = session.scalars(
                select(WorkloadRunRow).order_by(WorkloadRunRow.seq.desc()).limit(max(0, limit))
            )
            return [_run(row) for row in rows]


def _busy(run_id: str) -> Conflict:
    return Conflict(
        f"a workload is already running (run {run_id}); wait for it to finish before starting another",
        run_id=run_id,
    )
