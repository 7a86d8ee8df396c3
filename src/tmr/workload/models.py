"""A workload run as the registry keeps it: what was asked, how far it got, what it measured.
Plain frozen values, so the store, the service and the views share no mutable state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

INTERRUPTED_MESSAGE = (
    "the process running this workload stopped before it finished (its deadline passed with no result)"
)


class RunStatus(StrEnum):
    QUEUED = "queued"  # stored, its clients not started yet (tokens being issued)
    RUNNING = "running"
    FINISHED = "finished"  # the count or the time limit was reached; failed requests are counted
    FAILED = "failed"  # the run itself broke (not a request): `error` says why
    INTERRUPTED = "interrupted"  # the process running it stopped before it finished

    @property
    def active(self) -> bool:
        return self in (RunStatus.QUEUED, RunStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class Bounds:
    """What a run may ask for; the time limit's ceiling depends on where the registry runs."""

    max_clients: int
    max_requests: int
    max_time_limit_s: int
    inline: bool  # the start request runs the workload to completion (Lambda: no background work)


@dataclass(frozen=True, slots=True)
class WorkloadParams:
    clients: int
    requests: int  # in all, shared by the clients
    time_limit_s: int
    parts: str | None = None  # `?parts=` of the download; None: the whole package


@dataclass(frozen=True, slots=True)
class Measurement:
    """What the clients saw: latencies (seconds, first byte sent to last byte read) of the
    successful requests, the bytes they read, and the failures."""

    latencies_s: tuple[float, ...]
    bytes: int
    elapsed_s: float
    errors: int
    first_error: str | None = None

    @property
    def done(self) -> int:
        return len(self.latencies_s) + self.errors


@dataclass(frozen=True, slots=True)
class WorkloadResults:
    bytes: int
    elapsed_s: float
    throughput_mb_s: float  # 10^6 bytes per second of the run's duration
    requests_per_s: float  # successful requests per second
    mean_ms: float | None  # None when no request succeeded
    median_ms: float | None
    p99_ms: float | None
    errors: int
    first_error: str | None = None


@dataclass(frozen=True, slots=True)
class WorkloadRun:
    id: str
    started_by: str
    started_at: datetime
    # started_at + time limit + grace: an active run still unfinished then was interrupted.
    deadline_at: datetime
    artifact_id: str
    artifact_name: str
    params: WorkloadParams
    status: RunStatus
    done: int = 0  # requests completed, failed ones included
    failed: int = 0
    results: WorkloadResults | None = None
    error: str | None = None  # why the run failed or was interrupted
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MetricChange:
    """One row of a comparison: `second` against `first` (the baseline)."""

    name: str
    unit: str
    first: float | None
    second: float | None
    change_pct: float | None  # (second - first) / first, in %; None when either is missing or 0
    higher_is_better: bool
    verdict: str = field(default="")  # "better", "worse", "same" or "" (not comparable)


@dataclass(frozen=True, slots=True)
class Comparison:
    first: WorkloadRun
    second: WorkloadRun
    changes: tuple[MetricChange, ...]
