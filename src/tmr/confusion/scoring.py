"""A package-confusion finding's score: name similarity, popularity gap, anomalous traffic (pure).

    score = similarity * (W_NAME + W_GAP * gap + W_TRAFFIC * traffic)      flagged: score >= THRESHOLD

The name similarity (``names``) gates the rest: without a look-alike name there is no finding, and
a weak look-alike is scaled down whatever its traffic. ``gap`` (0 to 1) grows with log10 of how many
times more the imitated artifact is downloaded and searched than the suspect (``GAP_DECADES``
decades → 1). ``traffic`` (0 to 1) is a weighted mean of the suspect's download anomalies: bursts,
periodic arrivals, few distinct clients, downloads never preceded by a search by the same user —
what scripted "popularity boosting" of a look-alike leaves behind (the statistics are in
``traffic``). Events are plain records so the caller can feed them from the download history and
the search hits (``traffic.gather``).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from tmr.confusion.names import Category, NameIndex
from tmr.confusion.traffic import (
    DownloadEvent,
    SearchEvent,
    densest_window,
    distinct_clients,
    inter_arrival_cv,
    unsearched,
)

__all__ = ["DownloadEvent", "SearchEvent"]  # re-exported: the scoring's inputs

W_NAME = 0.45
W_GAP = 0.35
W_TRAFFIC = 0.20
THRESHOLD = 0.5
GAP_DECADES = 3.0  # a target 1000 times more popular gives the whole gap component

# Traffic anomalies: each signal in [0, 1] and its share of ``traffic``.
TRAFFIC_WEIGHTS = {"burst": 0.3, "periodic": 0.25, "few_clients": 0.25, "unsearched": 0.2}
MIN_EVENTS = 5  # fewer downloads say nothing about a pattern
BURST_WINDOW = timedelta(hours=1)
MAX_EVENTS = 100_000  # the newest events are kept; bounds the work per artifact


@dataclass(frozen=True)
class ArtifactStats:
    name: str
    downloads: int = 0
    search_hits: int = 0

    @property
    def popularity(self) -> int:
        return max(0, self.downloads) + max(0, self.search_hits)


@dataclass(frozen=True)
class Component:
    """One part of a score: its raw value (0 to 1), weight, contribution and why."""

    value: float
    weight: float
    contribution: float
    why: str


@dataclass(frozen=True)
class Finding:
    suspect: str
    imitates: str
    categories: tuple[Category, ...]
    evidence: tuple[str, ...]
    components: dict[str, Component]
    score: float
    flagged: bool


@dataclass(frozen=True)
class TrafficSignals:
    burst: float = 0.0
    periodic: float = 0.0
    few_clients: float = 0.0
    unsearched: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def value(self) -> float:
        return float(sum(getattr(self, k) * w for k, w in TRAFFIC_WEIGHTS.items()))


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def traffic_signals(downloads: Sequence[DownloadEvent], searches: Sequence[SearchEvent]) -> TrafficSignals:
    """The suspect's download anomalies; each 0 below ``MIN_EVENTS`` downloads."""
    events = sorted(downloads, key=lambda e: e.at)[-MAX_EVENTS:]
    n = len(events)
    if n < MIN_EVENTS:
        return TrafficSignals(notes=(f"{n} download(s): too few to judge traffic",))
    times = [e.at for e in events]
    densest = densest_window(times, BURST_WINDOW)
    burst = _clamp((densest / n - 0.5) / 0.5)  # more than half of all downloads within one hour
    cv = inter_arrival_cv(times)
    periodic = _clamp(1 - cv / 0.5) if cv is not None else 0.0  # regular intervals: cv near 0
    clients = distinct_clients(events)
    few_clients = _clamp(1 - clients / n) if clients <= max(2, n // 5) else 0.0
    unsearched_count = unsearched(events, searches[-MAX_EVENTS:])
    cv_text = "undefined (all at once)" if cv is None else f"{cv:.2f}"
    notes = (
        f"{densest} of {n} downloads within {BURST_WINDOW}",
        f"inter-arrival coefficient of variation {cv_text}",
        f"{clients} distinct client(s) for {n} downloads",
        f"{unsearched_count} of {n} downloads never preceded by a search",
    )
    return TrafficSignals(burst, periodic, few_clients, unsearched_count / n, notes)


def popularity_gap(target: ArtifactStats, suspect: ArtifactStats) -> float:
    ratio = (target.popularity + 1) / (suspect.popularity + 1)
    return _clamp(math.log10(ratio) / GAP_DECADES) if ratio > 1 else 0.0


def score_match(
    suspect: ArtifactStats,
    target: ArtifactStats,
    similarity: float,
    traffic: TrafficSignals,
) -> tuple[float, dict[str, Component]]:
    gap = popularity_gap(target, suspect)
    t = traffic.value
    components = {
        "name": Component(
            similarity, W_NAME, similarity * W_NAME, f"name similarity {similarity:.2f} (by category)"
        ),
        "popularity_gap": Component(
            gap,
            W_GAP,
            similarity * W_GAP * gap,
            f"'{target.name}' popularity {target.popularity} vs {suspect.popularity}",
        ),
        "traffic": Component(
            t,
            W_TRAFFIC,
            similarity * W_TRAFFIC * t,
            "; ".join(
                [
                    *(f"{k} {getattr(traffic, k):.2f}" for k in TRAFFIC_WEIGHTS),
                    *traffic.notes,
                ]
            ),
        ),
    }
    return round(sum(c.contribution for c in components.values()), 4), components


def audit(
    artifacts: Iterable[ArtifactStats],
    downloads: Mapping[str, Sequence[DownloadEvent]] | None = None,
    searches: Sequence[SearchEvent] | Mapping[str, Sequence[SearchEvent]] = (),
    *,
    threshold: float = THRESHOLD,
    include_unflagged: bool = False,
) -> list[Finding]:
    """Every artifact whose name imitates a more popular one, highest score first.

    Artifacts are judged from the most popular down, each against the more popular ones that
    are not themselves flagged (an imitator is not what others imitate). The imitated name is
    the closest look-alike; among equally close ones, the most popular. ``searches`` are either
    per name (the searches that showed that name: the registry's search hits) or one list for
    every name (the searches the users made).
    """
    pool = sorted(artifacts, key=lambda a: (-a.popularity, a.name))
    downloads = downloads or {}
    by_name = {a.name: a for a in pool}
    popularity = sorted(a.popularity for a in pool)
    index = NameIndex(a.name for a in pool)  # most popular first, as ``more`` counts
    findings: list[Finding] = []
    for suspect in pool:
        more = len(pool) - bisect_right(popularity, suspect.popularity)
        matches = index.find(suspect.name, upto=more, limit=1)
        if not matches:
            continue
        match = matches[0]
        target = by_name[match.target]
        shown = searches.get(suspect.name, ()) if isinstance(searches, Mapping) else searches
        traffic = traffic_signals(downloads.get(suspect.name, ()), shown)
        score, components = score_match(suspect, target, match.similarity, traffic)
        finding = Finding(
            suspect=suspect.name,
            imitates=target.name,
            categories=match.categories,
            evidence=tuple(f"{i.category.value}: {i.evidence}" for i in match.imitations),
            components=components,
            score=score,
            flagged=score >= threshold,
        )
        if finding.flagged:
            index.drop(suspect.name)
        if finding.flagged or include_unflagged:
            findings.append(finding)
    findings.sort(key=lambda f: (-f.score, f.suspect))
    return findings
