"""What the workload needs from storage and from the thing that sends its requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tmr.workload.models import Measurement, RunStatus, WorkloadResults, WorkloadRun


class WorkloadRepository(Protocol):
    """Workload runs in the metadata store, so every worker and Lambda instance sees them."""

    def create(self, run: WorkloadRun, now: datetime, keep: int) -> None:
        """Store a new active run, in one transaction: active runs whose deadline is before `now`
        become interrupted; if another active run remains, Conflict; then only the newest `keep`
        finished runs are kept."""
        ...

    def mark_running(self, run_id: str) -> None: ...

    def progress(self, run_id: str, done: int, failed: int) -> None:
        """Record how far an active run got (an ended one is left as it is)."""
        ...

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
        """End a run with its status, results (None when it failed) and, for a failure, why."""
        ...

    def get(self, run_id: str) -> WorkloadRun | None: ...

    def recent(self, limit: int) -> list[WorkloadRun]:
        """The newest runs first."""
        ...


ProgressReport = Callable[[int, int], Awaitable[None]]  # (requests done, of which failed)


@dataclass(frozen=True, slots=True)
class Target:
    """What the clients fetch: `url` with one token per client, until `requests` are done or
    `time_limit_s` has passed."""

    url: str
    params: dict[str, str]
    tokens: tuple[str, ...]
    requests: int
    time_limit_s: float


class Runner(Protocol):
    async def run(self, target: Target, report: ProgressReport) -> Measurement:
        """Send the requests; call `report` about once a second while they run."""
        ...
