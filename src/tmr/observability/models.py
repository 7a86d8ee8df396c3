"""Operational records as the metadata store keeps them: one instance's minute of one route, and
a log line. Plain frozen values, so the storage layer and the dashboard share no mutable state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The row of a minute that carries the events (downloads, registrations) rather than a route's
# requests: events are counted where their plans are made, which knows no route.
EVENTS_ROUTE = ""


@dataclass(frozen=True, slots=True)
class MinuteRecord:
    """What one instance saw during one minute on one route (or, for `EVENTS_ROUTE`, its events).

    The instance owns the whole minute, so a later write of the same key replaces the earlier
    one with a superset: readers add the records of every instance."""

    minute: datetime  # the minute's start, UTC
    instance: str
    route: str
    requests: int = 0
    errors: int = 0  # status >= 400
    server_errors: int = 0  # status >= 500
    latency_ms_sum: float = 0.0
    latency: Mapping[int, int] = field(default_factory=dict)  # histogram bucket → count
    downloads: int = 0
    bytes_served: int = 0
    registrations: Mapping[str, int] = field(default_factory=dict)  # artifact type → count


@dataclass(frozen=True, slots=True)
class LogLine:
    at: datetime
    instance: str
    levelno: int
    level: str  # lower-case name, as the JSON log lines spell it
    logger: str
    message: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Latency:
    """Percentiles in ms from the merged histograms (None when nothing was measured)."""

    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None


@dataclass(frozen=True, slots=True)
class Counts:
    """Requests and events over some span (a minute, a route, the whole window)."""

    requests: int = 0
    errors: int = 0
    server_errors: int = 0
    latency: Latency = Latency()
    downloads: int = 0
    bytes_served: int = 0
    registrations: Mapping[str, int] = field(default_factory=dict)

    @property
    def error_rate(self) -> float:
        """Share of requests answered with 4xx or 5xx."""
        return round(self.errors / self.requests, 4) if self.requests else 0.0

    @property
    def server_error_rate(self) -> float:
        return round(self.server_errors / self.requests, 4) if self.requests else 0.0


@dataclass(frozen=True, slots=True)
class MinuteStats:
    minute: datetime
    counts: Counts
    by_route: Mapping[str, int]  # route → requests in this minute


@dataclass(frozen=True, slots=True)
class RouteStats:
    route: str
    counts: Counts


@dataclass(frozen=True, slots=True)
class Activity:
    """The dashboard's window: every instance's minutes added up, oldest minute first."""

    window_minutes: int
    generated_at: datetime
    minutes: tuple[MinuteStats, ...]
    totals: Counts
    routes: tuple[RouteStats, ...]  # busiest first
    instances: int  # how many instances reported in the window
    components: Mapping[str, Any]  # HealthService.components: status and each check's time
