"""The workload's numbers from what its clients measured, and two runs side by side.

Latency is time to last byte (request sent → whole body read). The median is the middle sample
(the mean of the two middle ones for an even count); p99 is the nearest-rank percentile (the
smallest sample with at least 99 % of the samples at or below it), so it is always a latency that
was really measured. Throughput is body bytes per second of the run's whole duration, in MB
(10^6 bytes) as the pages show sizes; requests/s counts successful requests.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from tmr.workload.models import Comparison, Measurement, MetricChange, WorkloadResults, WorkloadRun

MB = 1_000_000


def nearest_rank(samples: Sequence[float], percentile: float) -> float | None:
    """The nearest-rank percentile of `samples` (None when there are none)."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(percentile / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarise(measurement: Measurement) -> WorkloadResults:
    latencies_ms = [s * 1000 for s in measurement.latencies_s]
    elapsed = measurement.elapsed_s
    return WorkloadResults(
        bytes=measurement.bytes,
        elapsed_s=elapsed,
        throughput_mb_s=(measurement.bytes / MB / elapsed) if elapsed > 0 else 0.0,
        requests_per_s=(len(latencies_ms) / elapsed) if elapsed > 0 else 0.0,
        mean_ms=statistics.fmean(latencies_ms) if latencies_ms else None,
        median_ms=statistics.median(latencies_ms) if latencies_ms else None,
        p99_ms=nearest_rank(latencies_ms, 99),
        errors=measurement.errors,
        first_error=measurement.first_error,
    )


def _change(
    name: str, unit: str, first: float | None, second: float | None, higher_is_better: bool
) -> MetricChange:
    pct = None
    if first is not None and second is not None and first != 0:
        pct = (second - first) / abs(first) * 100
    verdict = ""
    if first is not None and second is not None:
        if math.isclose(first, second, rel_tol=0.005, abs_tol=1e-9):
            verdict = "same"
        else:
            verdict = "better" if (second > first) == higher_is_better else "worse"
    return MetricChange(name, unit, first, second, pct, higher_is_better, verdict)


def compare(first: WorkloadRun, second: WorkloadRun) -> Comparison:
    """`second` against `first`, metric by metric (a run without results compares as missing)."""
    a, b = first.results, second.results
    rows = (
        ("Throughput", "MB/s", "throughput_mb_s", True),
        ("Requests per second", "req/s", "requests_per_s", True),
        ("Mean latency", "ms", "mean_ms", False),
        ("Median latency", "ms", "median_ms", False),
        ("p99 latency", "ms", "p99_ms", False),
        ("Failed requests", "", "errors", False),
    )
    changes = tuple(
        _change(
            name,
            unit,
            None if a is None else getattr(a, attr),
            None if b is None else getattr(b, attr),
            higher,
        )
        for name, unit, attr, higher in rows
    )
    return Comparison(first, second, changes)
