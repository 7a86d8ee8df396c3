"""Shared pieces of the benchmarks: percentiles, plus the test suite's server launcher."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import peak_rss_mib, port_in_use, registry_server, unused_port

__all__ = [
    "ROOT",
    "peak_rss_mib",
    "percentile",
    "port_in_use",
    "registry_server",
    "summary_ms",
    "unused_port",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "mean_ms": round(statistics.fmean(values) * 1000, 2),
        "p50_ms": round(percentile(values, 0.50) * 1000, 2),
        "p99_ms": round(percentile(values, 0.99) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }
