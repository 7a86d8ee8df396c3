"""What the artifact domain needs from storage: one small protocol, implemented in tmr.storage."""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from tmr.artifacts.models import Artifact, ArtifactLink, ArtifactSummary, ArtifactType, AuditEntry, FileEntry


class TextMatcher(Protocol):
    """A compiled pattern: `search` returns None when the text holds no match."""

    def search(self, text: str | bytes) -> object | None: ...


@dataclass(frozen=True, slots=True)
class StoredRating:
    """A rating as stored: the contract's fields, the evidence they came from, and when."""

    rating: dict[str, Any]
    evidence: dict[str, Any]
    failed: bool
    computed_at: datetime
    engine_version: int
    errors: dict[str, str] = field(default_factory=dict)  # metric → why it failed


# (name or None for any name, types or None for any type)
NameFilter = tuple[str | None, Collection[ArtifactType] | None]


@dataclass(frozen=True, slots=True)
class Scope:
    """Which artifacts a listing may return. `viewer` None sees everything (admins, the registry
    itself); a named viewer sees public artifacts and the private ones it owns. `versioned` keeps
    only artifacts that carry a version (a version query has nothing to say about the others).
    Listings take a scope without a default: `accounts.permissions.scope_for` makes one for a
    principal, and `EVERYTHING` says in so many words that the registry itself is reading."""

    viewer: str | None
    versioned: bool = False


EVERYTHING = Scope(viewer=None)


class ChangeKind(enum.StrEnum):
    CREATE = "create"
    REPLACE = "replace"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class ArtifactChange:
    """One artifact written by `ArtifactRepository.apply`: created, or replaced or deleted only if
    its `updated_at` is still `expected` (what the writer read; anything else is a Conflict).
    `index` names the change in a refusal (a transaction's command)."""

    kind: ChangeKind
    artifact: Artifact
    expected: datetime | None = None
    audit: AuditEntry | None = None
    index: int | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """The open transaction a set of changes settles: marked committed, with `results`, in the
    same database transaction as the changes, and only if it is still open and unexpired at `at`."""

    transaction_id: str
    results: Sequence[dict[str, Any]]
    at: datetime


class KeyResolver(Protocol):
    def answering_to(self, keys: Collection[str], scope: Scope) -> dict[str, list[ArtifactSummary]]:
        """For each lineage key, the artifacts in `scope` that answer to it."""
        ...


class ArtifactRepository(Protocol):
    """Artifact metadata. Every method is one transaction: it happens whole or not at all."""

    def create(self, artifact: Artifact) -> None:
        """Insert the artifact and its file manifest. Raise Conflict when the id is taken."""
        ...

    def get(self, artifact_id: str) -> Artifact | None: ...

    def find_by_url(self, type_: ArtifactType, url: str) -> ArtifactSummary | None: ...

    def replace(self, artifact: Artifact, expected: datetime | None = None) -> None:
        """Overwrite an existing artifact's content and file manifest (same id); NotFound if gone.
        With `expected`, only if its `updated_at` is still that (else ChangedMeanwhile)."""
        ...

    def delete(self, artifact_id: str) -> bool: ...

    def reset(self) -> None:
        """Forget every artifact and audit entry."""
        ...

    def page(
        self,
        filters: Sequence[NameFilter],
        after: int | None,
        limit: int,
        scope: Scope,
        accept: Callable[[ArtifactSummary], bool] | None = None,
    ) -> tuple[list[ArtifactSummary], int | None]:
        """One page, in creation order, of artifacts in `scope` matching any filter (all when
        none) and `accept` (when given), resuming after the cursor `after`; returns the next
        cursor or None on the last page."""
        ...

    def by_name(self, name: str, scope: Scope) -> list[ArtifactSummary]: ...

    def match_text(
        self, matcher: TextMatcher, scope: Scope, contains: Collection[str] | None = None
    ) -> list[ArtifactSummary]:
        """Artifacts whose name or README the matcher finds a match in, in registration order,
        without holding the registry in memory. `contains` is a hint: strings one of which every
        match must contain (an implementation may use it to skip rows early)."""
        ...

    def count(self) -> dict[ArtifactType, int]: ...

    def record_file_safety(self, artifact_id: str, files: Collection[FileEntry]) -> None:
        """Store the safety verdicts (and the kind their bytes showed) of some of an artifact's files."""
        ...

    def record_file_digest(self, artifact_id: str, path: str, sha256: str, crc32: int) -> None:
        """Remember that a file's bytes are now stored under `sha256` (with their CRC-32)."""
        ...

    def apply(self, changes: Sequence[ArtifactChange], settlement: Settlement) -> None:
        """Every change and the settlement in ONE transaction, or none: Conflict (with the
        change's `index`) when an artifact changed since it was read or a source is taken, or
        when the transaction is no longer open."""
        ...

    def referenced_digests(self, now: datetime | None = None) -> Iterator[str]:
        """Digests that must not be collected: every artifact's files, and the blobs staged by
        transactions open at `now` (by any open transaction when `now` is None)."""
        ...

    def add_audit(self, entry: AuditEntry) -> None: ...

    def audit_for(self, artifact_id: str) -> list[AuditEntry]: ...

    def answering_to(self, keys: Collection[str], scope: Scope) -> dict[str, list[ArtifactSummary]]:
        """For each lineage key, the artifacts that answer to it."""
        ...

    def linking_to(self, keys: Collection[str], scope: Scope) -> list[tuple[ArtifactSummary, ArtifactLink]]:
        """Artifacts that name one of `keys` as a parent, with the link."""
        ...

    def keys_and_links(
        self, artifact_ids: Collection[str]
    ) -> dict[str, tuple[set[str], list[ArtifactLink]]]: ...

    def sizes(self, artifact_ids: Collection[str]) -> dict[str, int]:
        """Download size in bytes of each artifact."""
        ...

    def save_rating(self, artifact_id: str, rating: StoredRating) -> None: ...

    def load_rating(self, artifact_id: str) -> StoredRating | None: ...

    def ping(self) -> None:
        """Raise StorageUnavailable when the database cannot answer."""
        ...
