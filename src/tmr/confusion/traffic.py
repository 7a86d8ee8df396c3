"""Download-traffic statistics and the audit's inputs from real traffic (pure: no I/O).

Scripted "popularity boosting" of a look-alike leaves marks a crowd of people does not: many
downloads in a short window (``densest_window``), arrivals at regular intervals (a low coefficient
of variation of the inter-arrival times, ``inter_arrival_cv``), few distinct clients
(``distinct_clients``) and downloads by users who never found the artifact by searching
(``unsearched``). ``gather`` turns the registry's download history and search hits into what
``scoring.audit`` reads, grouped by name: a name is what a person types and is shown.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from tmr.confusion.interfaces import AuditedArtifact, SearchHit
from tmr.downloads.history import DownloadEvent as HistoryEvent


@dataclass(frozen=True, slots=True)
class DownloadEvent:
    """A download as the audit sees it: when, by whom, from which client (address)."""

    at: datetime
    user: str
    client: str


@dataclass(frozen=True, slots=True)
class SearchEvent:
    """A search that showed the artifact to `user`."""

    at: datetime
    user: str


def densest_window(times: Sequence[datetime], window: timedelta) -> int:
    """The most events within any `window` (``times`` sorted): the size of the biggest burst."""
    if not times:
        return 0
    return max(bisect_right(times, t + window) - i for i, t in enumerate(times))


def inter_arrival_cv(times: Sequence[datetime]) -> float | None:
    """Standard deviation over mean of the gaps between events (``times`` sorted): near 0 for a
    timer, about 1 for independent arrivals (Poisson), above 1 for clustered ones. None with
    fewer than two gaps, or when every event is at the same instant (no interval at all)."""
    if len(times) < 3:
        return None
    gaps = [(b - a).total_seconds() for a, b in pairwise(times)]
    mean = statistics.fmean(gaps)
    if mean <= 0:
        return None
    return statistics.pstdev(gaps) / mean


def distinct_clients(events: Iterable[DownloadEvent]) -> int:
    """Distinct (user, client) pairs: one account on one machine is one client however often."""
    return len({(e.user, e.client) for e in events})


def first_search_by_user(searches: Iterable[SearchEvent]) -> dict[str, datetime]:
    earliest: dict[str, datetime] = {}
    for s in searches:
        earliest[s.user] = min(s.at, earliest.get(s.user, s.at))
    return earliest


def unsearched(downloads: Iterable[DownloadEvent], searches: Iterable[SearchEvent]) -> int:
    """Downloads whose user had not been shown the artifact by a search before (or at) it."""
    earliest = first_search_by_user(searches)
    return sum(1 for d in downloads if d.user not in earliest or earliest[d.user] > d.at)


# --- the audit's inputs from the registry's own records -----------------------------------------


@dataclass(frozen=True)
class Gathered:
    """Per name: its artifacts, allowed downloads, search hits (each sorted by time)."""

    artifacts: Mapping[str, tuple[AuditedArtifact, ...]]
    downloads: Mapping[str, list[DownloadEvent]]
    searches: Mapping[str, list[SearchEvent]]


def gather(
    artifacts: Iterable[AuditedArtifact], downloads: Iterable[HistoryEvent], hits: Iterable[SearchHit]
) -> Gathered:
    """Group the records by artifact name. Events of artifacts that no longer exist are dropped
    (the history outlives them); refused downloads are not popularity and not boosting; a
    download without a known address counts as its own client only through its user."""
    named: dict[str, list[AuditedArtifact]] = defaultdict(list)
    name_of: dict[str, str] = {}
    for a in artifacts:
        named[a.name].append(a)
        name_of[a.id] = a.name
    by_name_downloads: dict[str, list[DownloadEvent]] = defaultdict(list)
    for d in downloads:
        name = name_of.get(d.artifact_id)
        if name is not None and d.allowed:
            by_name_downloads[name].append(DownloadEvent(d.at, d.user_name, d.client or "?"))
    by_name_searches: dict[str, list[SearchEvent]] = defaultdict(list)
    for h in hits:
        name = name_of.get(h.artifact_id)
        if name is not None:
            by_name_searches[name].append(SearchEvent(h.at, h.user_name))
    for downloaded in by_name_downloads.values():
        downloaded.sort(key=lambda e: e.at)
    for searched in by_name_searches.values():
        searched.sort(key=lambda e: e.at)
    return Gathered(
        artifacts={k: tuple(v) for k, v in named.items()},
        downloads=dict(by_name_downloads),
        searches=dict(by_name_searches),
    )
