"""Latency histograms with fixed, log-spaced buckets, so that instances can be merged.

A percentile cannot be averaged across workers, but bucket counts can be added: every instance
counts its requests into the same buckets, readers add the counts and read p50/p95/p99 from the
sum. Bucket bounds grow by a factor of 2^(1/4) from 0.5 ms to about two minutes (73 buckets, the
last one open-ended), so an estimate is off by at most one bucket's width (about 19 %), which is
ample to tell a 40 ms route from a 400 ms one. Counts are kept sparse (bucket index → count):
most requests of a minute fall into a handful of buckets.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping

FIRST_BOUND_MS = 0.5
GROWTH = 2**0.25
# Upper bounds (inclusive) of buckets 0..len-1; bucket len(BOUNDS_MS) holds everything slower.
BOUNDS_MS: tuple[float, ...] = tuple(FIRST_BOUND_MS * GROWTH**i for i in range(73))
BUCKETS = len(BOUNDS_MS) + 1

Counts = Mapping[int, int]


def bucket_of(latency_ms: float) -> int:
    """The bucket a latency falls into (negative or NaN latencies count as the fastest)."""
    if not latency_ms > 0:  # also catches NaN
        return 0
    return bisect.bisect_left(BOUNDS_MS, latency_ms)


def bucket_range(index: int) -> tuple[float, float]:
    """[lower, upper] of a bucket in ms; the open last bucket reports its lower bound twice."""
    lower = 0.0 if index == 0 else BOUNDS_MS[index - 1]
    upper = BOUNDS_MS[index] if index < len(BOUNDS_MS) else lower
    return lower, upper


def add(into: dict[int, int], counts: Counts) -> dict[int, int]:
    """Add `counts` into `into` (in place) and return it."""
    for index, count in counts.items():
        if count:
            into[index] = into.get(index, 0) + count
    return into


def merged(histograms: Iterable[Counts]) -> dict[int, int]:
    total: dict[int, int] = {}
    for counts in histograms:
        add(total, counts)
    return total


def percentile(counts: Counts, q: float) -> float | None:
    """The q-quantile (0 < q ≤ 1) in ms, interpolated linearly inside its bucket; None when empty."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for index in sorted(counts):
        count = counts[index]
        if count <= 0:
            continue
        if seen + count >= rank:
            lower, upper = bucket_range(index)
            fraction = (rank - seen) / count
            return round(lower + (upper - lower) * fraction, 3)
        seen += count
    return round(bucket_range(max(counts))[1], 3)  # q > 1 or rounding: the slowest bucket


def to_json(counts: Counts) -> dict[str, int]:
    """JSON object keys are strings."""
    return {str(index): count for index, count in sorted(counts.items()) if count}


def from_json(data: object) -> dict[int, int]:
    """Counts read back; anything malformed (a row written by another layout) is skipped."""
    if not isinstance(data, dict):
        return {}
    out: dict[int, int] = {}
    for key, value in data.items():
        try:
            index, count = int(key), int(value)
        except (TypeError, ValueError):
            continue
        if 0 <= index < BUCKETS and count > 0:
            out[index] = out.get(index, 0) + count
    return out
