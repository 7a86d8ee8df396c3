"""The package-confusion audit as a use case: inputs from the registry's own records, the scoring
core, and a cache keyed by a fingerprint of those inputs (administrators only).

Inputs: every artifact's name (private ones included: an administrator audits the whole
registry), the download history of the last ``WINDOW`` (allowed downloads only) and the search
hits of the same window. Names are the unit: what a person types and is shown; a name's
artifacts (types, versions) share its popularity and traffic.

Cost: the scoring core is N candidate scans in C++ plus a constant number of comparisons per
name; about 4 s at 3,000 similar names on one core. The result is cached in process, keyed by
``AuditInputs.fingerprint()`` (a few indexed aggregates): a new, changed or deleted artifact
always recomputes (the fingerprint's artifact part differs); new downloads and search hits
recompute once the entry is ``ttl_s`` old, so a busy registry does not recompute on every request
for traffic that moves a score by little. In process rather than in the metadata store: the
findings are derived data, cheap to lose, and a store entry would need a serialised form and a
write on every recomputation for a route only administrators call; each worker (or Lambda
instance) keeps at most one entry. One computation at a time per process (a lock): concurrent
requests wait for it and share its result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tmr.accounts.models import Principal
from tmr.accounts.permissions import require_admin
from tmr.confusion.interfaces import AuditedArtifact, AuditInputs, Fingerprint
from tmr.confusion.names import Category
from tmr.confusion.scoring import THRESHOLD, ArtifactStats, Component, audit
from tmr.confusion.traffic import gather
from tmr.downloads.history import DownloadHistory
from tmr.errors import InvalidInput

WINDOW = timedelta(days=90)
MAX_ARTIFACTS = 10_000  # beyond this the audit covers the oldest ones and says it was cut (docs/confusion.md)
MAX_DOWNLOADS = 200_000  # events read per computation (the history's oldest in the window first)
MAX_HITS = 200_000  # search hits read per computation (the newest in the window)
CACHE_TTL_S = 60.0
PAGE_LIMIT = 100


@dataclass(frozen=True, slots=True)
class NamedArtifact:
    id: str
    type: str
    visibility: str


@dataclass(frozen=True, slots=True)
class AuditFinding:
    """A name that imitates a more popular one: how (categories, evidence) and why it scored as
    it did (each component's value, weight, contribution and reason)."""

    name: str
    artifacts: tuple[NamedArtifact, ...]
    imitates: str
    imitated_artifacts: tuple[NamedArtifact, ...]
    categories: tuple[Category, ...]
    evidence: tuple[str, ...]
    score: float
    flagged: bool
    components: dict[str, Component]
    downloads: int
    search_hits: int
    imitated_downloads: int
    imitated_search_hits: int


@dataclass(frozen=True, slots=True)
class AuditPage:
    findings: tuple[AuditFinding, ...]
    total: int
    next_offset: int | None
    computed_at: datetime
    cached: bool
    artifacts_audited: int
    truncated: bool
    window_days: int
    threshold: float


@dataclass(frozen=True, slots=True)
class _Entry:
    fingerprint: Fingerprint
    monotonic: float
    computed_at: datetime
    findings: tuple[AuditFinding, ...]
    artifacts: int
    truncated: bool


def _named(artifacts: tuple[AuditedArtifact, ...]) -> tuple[NamedArtifact, ...]:
    return tuple(NamedArtifact(a.id, a.type, a.visibility) for a in artifacts)


class ConfusionService:
    def __init__(
        self,
        inputs: AuditInputs,
        history: DownloadHistory,
        *,
        ttl_s: float = CACHE_TTL_S,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_artifacts: int = MAX_ARTIFACTS,
    ) -> None:
        self._inputs = inputs
        self._history = history
        self._ttl_s = ttl_s
        self._clock = clock
        self._max_artifacts = max_artifacts
        self._lock = threading.Lock()
        self._entry: _Entry | None = None

    def package_confusion(
        self, principal: Principal, *, min_score: float = THRESHOLD, offset: int = 0, limit: int = 50
    ) -> AuditPage:
        """Findings scoring at least `min_score`, highest first, `limit` from `offset`."""
        require_admin(principal, "run the package-confusion audit")
        if not 0.0 <= min_score <= 1.0:
            raise InvalidInput("min_score must be between 0 and 1")
        if offset < 0 or not 1 <= limit <= PAGE_LIMIT:
            raise InvalidInput(f"offset must be 0 or more and limit between 1 and {PAGE_LIMIT}")
        entry, cached = self._current()
        kept = [f for f in entry.findings if f.score >= min_score]
        page = tuple(kept[offset : offset + limit])
        return AuditPage(
            findings=page,
            total=len(kept),
            next_offset=offset + limit if offset + limit < len(kept) else None,
            computed_at=entry.computed_at,
            cached=cached,
            artifacts_audited=entry.artifacts,
            truncated=entry.truncated,
            window_days=WINDOW.days,
            threshold=THRESHOLD,
        )

    def reset(self) -> None:
        """The registry's reset: no search hits, no cached findings."""
        with self._lock:
            self._inputs.forget_hits()
            self._entry = None

    def _current(self) -> tuple[_Entry, bool]:
        with self._lock:
            fingerprint = self._inputs.fingerprint()
            entry = self._entry
            if entry is not None and entry.fingerprint.artifacts_part == fingerprint.artifacts_part:
                fresh = time.monotonic() - entry.monotonic < self._ttl_s
                if entry.fingerprint == fingerprint or fresh:
                    return entry, True
            self._entry = entry = self._compute(fingerprint)
            return entry, False

    def _compute(self, fingerprint: Fingerprint) -> _Entry:
        now = self._clock()
        since = now - WINDOW
        artifacts = self._inputs.audited_artifacts(limit=self._max_artifacts + 1)
        truncated = len(artifacts) > self._max_artifacts
        artifacts = artifacts[: self._max_artifacts]
        got = gather(
            artifacts,
            self._history.downloads_since(since, limit=MAX_DOWNLOADS),
            self._inputs.hits_since(since, limit=MAX_HITS),
        )
        stats = {
            name: ArtifactStats(name, len(got.downloads.get(name, ())), len(got.searches.get(name, ())))
            for name in got.artifacts
        }
        findings = audit(stats.values(), got.downloads, got.searches, include_unflagged=True)
        out = tuple(
            AuditFinding(
                name=f.suspect,
                artifacts=_named(got.artifacts[f.suspect]),
                imitates=f.imitates,
                imitated_artifacts=_named(got.artifacts[f.imitates]),
                categories=f.categories,
                evidence=f.evidence,
                score=f.score,
                flagged=f.flagged,
                components=f.components,
                downloads=stats[f.suspect].downloads,
                search_hits=stats[f.suspect].search_hits,
                imitated_downloads=stats[f.imitates].downloads,
                imitated_search_hits=stats[f.imitates].search_hits,
            )
            for f in findings
        )
        return _Entry(fingerprint, time.monotonic(), now, out, len(artifacts), truncated)
