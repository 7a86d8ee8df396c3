"""Request metrics kept in memory per process: the raw material of /health/components.

A bounded ring of recent requests (one small tuple each) is enough to answer any window up to
the contract's 24 hours at the request rates one worker sees; older samples fall off the end.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

MAX_SAMPLES = 200_000


@dataclass(frozen=True, slots=True)
class RequestSample:
    at: float
    route: str
    status: int
    latency_s: float
    client: str
    artifact_type: str | None


@dataclass(frozen=True, slots=True)
class WindowSummary:
    total: int
    errors: int
    server_errors: int
    per_route: dict[str, int]
    per_artifact_type: dict[str, int]
    unique_clients: int
    p50_ms: float
    p99_ms: float
    last_at: float | None


class RequestMetrics:
    def __init__(self, max_samples: int = MAX_SAMPLES) -> None:
        self._samples: deque[RequestSample] = deque(maxlen=max_samples)
        self._lock = threading.Lock()
        self.started_at = time.time()  # wall clock: when, for display
        self._started = time.monotonic()  # how long ago: immune to the wall clock being set

    def uptime_s(self) -> float:
        """Seconds since this process began counting; from the monotonic clock, since the wall
        clock may be stepped (NTP, a resumed VM) and would make uptime jump or go negative."""
        return time.monotonic() - self._started

    def record(self, sample: RequestSample) -> None:
        with self._lock:
            self._samples.append(sample)

    def window(self, seconds: float, now: float | None = None) -> list[RequestSample]:
        cutoff = (time.time() if now is None else now) - seconds  # a `now` of 0.0 is a time too
        with self._lock:
            return [s for s in self._samples if s.at >= cutoff]

    def summarize(self, samples: list[RequestSample]) -> WindowSummary:
        latencies = sorted(s.latency_s for s in samples)

        def pct(q: float) -> float:
            if not latencies:
                return 0.0
            return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3)

        return WindowSummary(
            total=len(samples),
            errors=sum(1 for s in samples if s.status >= 400),
            server_errors=sum(1 for s in samples if s.status >= 500),
            per_route=dict(Counter(s.route for s in samples)),
            per_artifact_type=dict(Counter(s.artifact_type for s in samples if s.artifact_type)),
            unique_clients=len({s.client for s in samples}),
            p50_ms=pct(0.50),
            p99_ms=pct(0.99),
            last_at=samples[-1].at if samples else None,
        )
