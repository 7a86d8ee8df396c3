"""What the package-confusion audit reads and the search service writes: search hits, the
artifacts' names, and a cheap fingerprint of all the audit's inputs (implemented in tmr.storage)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

HitKind = Literal["name", "regex", "enumerate"]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One artifact one user was shown by one search: popularity in search, and the evidence
    that a later download by the same user was preceded by finding it."""

    artifact_id: str
    user_name: str
    client: str | None
    kind: HitKind
    at: datetime


@dataclass(frozen=True, slots=True)
class AuditedArtifact:
    """What the audit needs of an artifact: no README, no files (private ones included)."""

    id: str
    name: str
    type: str
    visibility: str
    created_by: str | None


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Changes whenever the audit's inputs do: artifacts (count, newest insert, newest change)
    and events (newest download and search-hit sequence numbers). A few indexed aggregates."""

    artifacts: int
    newest_artifact_seq: int
    newest_change: datetime | None
    newest_download_seq: int
    newest_hit_seq: int

    @property
    def artifacts_part(self) -> tuple[int, int, datetime | None]:
        return (self.artifacts, self.newest_artifact_seq, self.newest_change)


class SearchHitLog(Protocol):
    def record_hits(self, hits: Sequence[SearchHit], *, keep: int, oldest: datetime) -> None:
        """Store `hits`, then drop hits older than `oldest` and all but the newest `keep`
        (the writer bounds the table itself: no background job)."""
        ...


class AuditInputs(SearchHitLog, Protocol):
    def audited_artifacts(self, *, limit: int) -> Sequence[AuditedArtifact]:
        """Every artifact, private ones included, oldest first, at most `limit`."""
        ...

    def forget_hits(self) -> None:
        """Drop every search hit (the registry's reset)."""
        ...

    def hits_since(self, since: datetime, *, limit: int) -> Sequence[SearchHit]:
        """Search hits at or after `since`, newest `limit` of them, oldest first."""
        ...

    def fingerprint(self) -> Fingerprint: ...
