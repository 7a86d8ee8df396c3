"""Every instance's minute records added up into the dashboard's series: pure functions.

Counts add; latencies are merged as histograms before any percentile is read, which is what
makes p95 across instances meaningful (an average of instances' p95s is not a p95).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tmr.observability import histogram
from tmr.observability.models import EVENTS_ROUTE, Counts, Latency, MinuteRecord, MinuteStats, RouteStats


@dataclass(slots=True)
class Tally:
    """Counts being added up: one instance's minute as it happens, or many instances' minutes
    when the dashboard reads them."""

    requests: int = 0
    errors: int = 0
    server_errors: int = 0
    latency_ms_sum: float = 0.0
    latency: dict[int, int] = field(default_factory=dict)
    downloads: int = 0
    bytes_served: int = 0
    registrations: dict[str, int] = field(default_factory=dict)

    def add(self, record: MinuteRecord) -> None:
        self.requests += record.requests
        self.errors += record.errors
        self.server_errors += record.server_errors
        self.latency_ms_sum += record.latency_ms_sum
        histogram.add(self.latency, record.latency)
        self.downloads += record.downloads
        self.bytes_served += record.bytes_served
        for type_, count in record.registrations.items():
            self.registrations[type_] = self.registrations.get(type_, 0) + count

    def record(self, minute: datetime, instance: str, route: str) -> MinuteRecord:
        return MinuteRecord(
            minute=minute,
            instance=instance,
            route=route,
            requests=self.requests,
            errors=self.errors,
            server_errors=self.server_errors,
            latency_ms_sum=round(self.latency_ms_sum, 3),
            latency=dict(self.latency),
            downloads=self.downloads,
            bytes_served=self.bytes_served,
            registrations=dict(self.registrations),
        )

    def counts(self) -> Counts:
        return Counts(
            requests=self.requests,
            errors=self.errors,
            server_errors=self.server_errors,
            latency=latency(self.latency, self.latency_ms_sum, self.requests),
            downloads=self.downloads,
            bytes_served=self.bytes_served,
            registrations=dict(sorted(self.registrations.items())),
        )


def latency(counts: histogram.Counts, ms_sum: float, requests: int) -> Latency:
    if not requests:
        return Latency()
    return Latency(
        p50_ms=histogram.percentile(counts, 0.50),
        p95_ms=histogram.percentile(counts, 0.95),
        p99_ms=histogram.percentile(counts, 0.99),
        mean_ms=round(ms_sum / requests, 3),
    )


def total(records: Iterable[MinuteRecord]) -> Counts:
    summed = Tally()
    for record in records:
        summed.add(record)
    return summed.counts()


def minute_series(records: Sequence[MinuteRecord], first: datetime, minutes: int) -> tuple[MinuteStats, ...]:
    """One entry per minute from `first`, empty minutes included (a chart needs its zeros);
    records outside the window are ignored."""
    starts = [first + timedelta(minutes=i) for i in range(minutes)]
    sums = {start: Tally() for start in starts}
    by_route: dict[datetime, dict[str, int]] = {start: defaultdict(int) for start in starts}
    for record in records:
        if record.minute in sums:
            sums[record.minute].add(record)
            if record.route != EVENTS_ROUTE and record.requests:
                by_route[record.minute][record.route] += record.requests
    return tuple(
        MinuteStats(start, sums[start].counts(), dict(sorted(by_route[start].items()))) for start in starts
    )


def route_totals(records: Iterable[MinuteRecord]) -> tuple[RouteStats, ...]:
    """Each route's counts over the records, busiest first (ties by name, for a stable order)."""
    sums: dict[str, Tally] = defaultdict(Tally)
    for record in records:
        if record.route != EVENTS_ROUTE:
            sums[record.route].add(record)
    stats = [RouteStats(route, summed.counts()) for route, summed in sums.items()]
    return tuple(sorted(stats, key=lambda s: (-s.counts.requests, s.route)))
