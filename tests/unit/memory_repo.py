"""An in-memory `ArtifactRepository` and `BlobStore`, so services that only orchestrate storage can
be tested as pure logic: the fakes keep the store's documented semantics (Conflict on a taken id,
scoped listings, key resolution) and nothing more."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from tmr.artifacts.interfaces import (
    ArtifactChange,
    ChangeKind,
    NameFilter,
    Scope,
    Settlement,
    StoredRating,
    TextMatcher,
)
from tmr.artifacts.models import (
    Artifact,
    ArtifactLink,
    ArtifactSummary,
    ArtifactType,
    AuditEntry,
    FileEntry,
    Visibility,
)
from tmr.errors import ChangedMeanwhile, Conflict, InvalidInput, NotFound
from tmr.storage.blobs.base import StoredBlob
from tmr.transactions.models import Command, Transaction, TransactionState


def summary(artifact: Artifact) -> ArtifactSummary:
    return ArtifactSummary(artifact.id, artifact.name, artifact.type, artifact.version)


class MemoryArtifacts:
    """Artifacts in a dict, in insertion (creation) order."""

    def __init__(self, *artifacts: Artifact) -> None:
        self.rows: dict[str, Artifact] = {}
        self.audit: list[AuditEntry] = []
        self.ratings: dict[str, StoredRating] = {}
        self.digests: list[str] = []
        self.create_conflicts = 0
        self.transactions: MemoryTransactions | None = None  # what `apply` settles
        for artifact in artifacts:
            self.rows[artifact.id] = artifact

    def _visible(self, artifact: Artifact, scope: Scope) -> bool:
        if scope.versioned and artifact.version is None:
            return False
        return (
            scope.viewer is None
            or artifact.visibility is Visibility.PUBLIC
            or artifact.created_by == scope.viewer
        )

    def create(self, artifact: Artifact) -> None:
        if self.create_conflicts:
            self.create_conflicts -= 1
            raise Conflict("id taken")
        if artifact.id in self.rows:
            raise Conflict("id taken")
        self.rows[artifact.id] = artifact

    def get(self, artifact_id: str) -> Artifact | None:
        return self.rows.get(artifact_id)

    def find_by_url(self, type_: ArtifactType, url: str) -> ArtifactSummary | None:
        return next((summary(a) for a in self.rows.values() if a.type is type_ and a.url == url), None)

    def replace(self, artifact: Artifact, expected: datetime | None = None) -> None:
        if artifact.id not in self.rows:
            raise NotFound("gone")
        if expected is not None and self.rows[artifact.id].updated_at != expected:
            raise ChangedMeanwhile("changed")
        self.rows[artifact.id] = artifact

    def delete(self, artifact_id: str) -> bool:
        return self.rows.pop(artifact_id, None) is not None

    def reset(self) -> None:
        self.rows.clear()
        self.audit.clear()

    def page(
        self,
        filters: Sequence[NameFilter],
        after: int | None,
        limit: int,
        scope: Scope,
        accept: Callable[[ArtifactSummary], bool] | None = None,
    ) -> tuple[list[ArtifactSummary], int | None]:
        def matches(a: Artifact) -> bool:
            if not filters:
                return True
            return any((n is None or n == a.name) and (t is None or a.type in t) for n, t in filters)

        found = [
            (i, summary(a))
            for i, a in enumerate(self.rows.values())
            if (after is None or i > after) and self._visible(a, scope) and matches(a)
        ]
        found = [(i, s) for i, s in found if accept is None or accept(s)]
        items = found[:limit]
        cursor = items[-1][0] if len(found) > limit else None
        return [s for _, s in items], cursor

    def by_name(self, name: str, scope: Scope) -> list[ArtifactSummary]:
        return [summary(a) for a in self.rows.values() if a.name == name and self._visible(a, scope)]

    def match_text(
        self, matcher: TextMatcher, scope: Scope, contains: Collection[str] | None = None
    ) -> list[ArtifactSummary]:
        return [
            summary(a)
            for a in self.rows.values()
            if self._visible(a, scope)
            and (matcher.search(a.name) is not None or matcher.search(a.readme) is not None)
        ]

    def count(self) -> dict[ArtifactType, int]:
        counts = dict.fromkeys(ArtifactType, 0)
        for artifact in self.rows.values():
            counts[artifact.type] += 1
        return counts

    def record_file_safety(self, artifact_id: str, files: Collection[FileEntry]) -> None:
        self.rows[artifact_id] = self.rows[artifact_id].with_files(files)

    def record_file_digest(self, artifact_id: str, path: str, sha256: str, crc32: int) -> None:
        artifact = self.rows[artifact_id]
        entry = artifact.file(path)
        assert entry is not None
        self.rows[artifact_id] = artifact.with_files([replace(entry, sha256=sha256, crc32=crc32)])

    def referenced_digests(self, now: datetime | None = None) -> Iterator[str]:
        staged = self.transactions.staged_digests(now) if self.transactions is not None else []
        return iter([*self.digests, *staged])

    def apply(self, changes: Sequence[ArtifactChange], settlement: Settlement) -> None:
        """All changes and the settlement, or (on a conflict) none: worked on copies, kept at
        the end, as the store's one database transaction is."""
        rows = dict(self.rows)
        for change in changes:
            artifact = change.artifact
            if change.kind is ChangeKind.CREATE:
                if artifact.id in rows or any(
                    a.type is artifact.type and a.url == artifact.url for a in rows.values()
                ):
                    raise Conflict(
                        f"a {artifact.type.value} with url {artifact.url} is already registered",
                        index=change.index,
                    )
                rows[artifact.id] = artifact
                continue
            current = rows.get(artifact.id)
            if current is None or current.updated_at != change.expected:
                raise Conflict(f"{artifact.type.value} {artifact.id} changed", index=change.index)
            if change.kind is ChangeKind.DELETE:
                del rows[artifact.id]
            else:
                rows[artifact.id] = artifact
        assert self.transactions is not None, "apply settles a transaction: link MemoryTransactions"
        self.transactions.settle(settlement)  # raises Conflict(index=None) when not open
        self.rows = rows
        self.audit.extend(c.audit for c in changes if c.audit is not None)

    def add_audit(self, entry: AuditEntry) -> None:
        self.audit.append(entry)

    def audit_for(self, artifact_id: str) -> list[AuditEntry]:
        return [e for e in self.audit if e.artifact.id == artifact_id]

    def answering_to(self, keys: Collection[str], scope: Scope) -> dict[str, list[ArtifactSummary]]:
        found: dict[str, list[ArtifactSummary]] = {}
        for artifact in self.rows.values():
            if not self._visible(artifact, scope):
                continue
            for key in artifact.keys & set(keys):
                found.setdefault(key, []).append(summary(artifact))
        return found

    def linking_to(self, keys: Collection[str], scope: Scope) -> list[tuple[ArtifactSummary, ArtifactLink]]:
        return [
            (summary(a), link)
            for a in self.rows.values()
            if self._visible(a, scope)
            for link in a.links
            if link.key in keys
        ]

    def keys_and_links(self, artifact_ids: Collection[str]) -> dict[str, tuple[set[str], list[ArtifactLink]]]:
        return {i: (set(self.rows[i].keys), list(self.rows[i].links)) for i in artifact_ids if i in self.rows}

    def sizes(self, artifact_ids: Collection[str]) -> dict[str, int]:
        return {i: self.rows[i].size_bytes for i in artifact_ids if i in self.rows}

    def save_rating(self, artifact_id: str, rating: StoredRating) -> None:
        self.ratings[artifact_id] = rating

    def load_rating(self, artifact_id: str) -> StoredRating | None:
        return self.ratings.get(artifact_id)

    def ping(self) -> None:
        return None


class MemoryBlobs:
    """Content-addressed bytes in a dict, with a settable write time per digest."""

    name = "memory"
    local = True

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.written: dict[str, float] = {}
        self.deleted: list[str] = []

    def put_stream(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredBlob:
        return self.put_bytes(b"".join(chunks))

    def put_bytes(self, data: bytes) -> StoredBlob:
        digest = hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        self.written.setdefault(digest, 0.0)
        return StoredBlob(digest, len(data))

    def exists(self, sha256: str) -> bool:
        return sha256 in self.blobs

    def size(self, sha256: str) -> int:
        if sha256 not in self.blobs:
            raise NotFound("no blob")
        return len(self.blobs[sha256])

    def open(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        yield self.blobs[sha256][start:end]

    def read(self, sha256: str) -> bytes:
        return self.blobs[sha256]

    def delete(self, sha256: str) -> None:
        self.deleted.append(sha256)
        self.blobs.pop(sha256, None)

    def iter_digests(self, written_before: float | None = None) -> Iterator[str]:
        return iter(
            [d for d in self.blobs if written_before is None or self.written.get(d, 0.0) < written_before]
        )

    def check(self) -> None:
        return None


class MemoryTransactions:
    """Transactions in a dict (a `TransactionRepository`); `MemoryArtifacts.apply` settles them."""

    def __init__(self) -> None:
        self.rows: dict[str, Transaction] = {}

    def create(self, transaction: Transaction) -> None:
        if transaction.id in self.rows:
            raise Conflict("id taken")
        self.rows[transaction.id] = transaction

    def get(self, transaction_id: str) -> Transaction | None:
        found = self.rows.get(transaction_id)
        return None if found is None else replace(found, command_count=len(found.commands))

    def listing(self, owner: str | None, limit: int) -> list[Transaction]:
        mine = [t for t in self.rows.values() if owner is None or t.owner == owner]
        return [replace(t, commands=(), command_count=len(t.commands)) for t in reversed(mine)][:limit]

    def append(self, transaction_id: str, command: Command, now: datetime, max_commands: int) -> int:
        transaction = self.rows.get(transaction_id)
        if (
            transaction is None
            or transaction.state is not TransactionState.OPEN
            or transaction.expires_at <= now
        ):
            raise Conflict(f"transaction {transaction_id} is no longer open")
        if len(transaction.commands) >= max_commands:
            raise InvalidInput(f"a transaction holds at most {max_commands} commands")
        if any(c.target == command.target for c in transaction.commands):
            raise Conflict("a transaction touches each artifact once")
        self.rows[transaction_id] = replace(transaction, commands=(*transaction.commands, command))
        return len(transaction.commands)

    def finish(
        self,
        transaction_id: str,
        state: TransactionState,
        reason: str,
        at: datetime,
        error: dict[str, Any] | None = None,
    ) -> bool:
        transaction = self.rows.get(transaction_id)
        if transaction is None or transaction.state is not TransactionState.OPEN:
            return False
        self.rows[transaction_id] = replace(
            transaction, state=state, reason=reason, finished_at=at, error=error
        )
        return True

    def settle(self, settlement: Settlement) -> None:
        transaction = self.rows.get(settlement.transaction_id)
        if (
            transaction is None
            or transaction.state is not TransactionState.OPEN
            or transaction.expires_at <= settlement.at
        ):
            raise Conflict(f"transaction {settlement.transaction_id} is no longer open", index=None)
        commands = tuple(
            replace(c, result=r) for c, r in zip(transaction.commands, settlement.results, strict=True)
        )
        self.rows[transaction.id] = replace(
            transaction, state=TransactionState.COMMITTED, finished_at=settlement.at, commands=commands
        )

    def staged_digests(self, now: datetime | None) -> list[str]:
        return [
            f.sha256
            for t in self.rows.values()
            if t.state is TransactionState.OPEN and (now is None or t.expires_at > now)
            for c in t.commands
            for f in c.staged
        ]
