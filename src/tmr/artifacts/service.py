"""Reading, deleting and auditing artifacts, each as a named principal may; reset and orphan
collection for the registry itself.

Writes that create or change an artifact's content are registrations (`artifacts.registration`);
this service commits their prepared values, in one metadata transaction after the blobs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from tmr.accounts.models import Permission, Principal
from tmr.accounts.permissions import can_read, require, require_owner
from tmr.artifacts.ids import is_valid_id, new_artifact_id
from tmr.artifacts.interfaces import ArtifactChange, ArtifactRepository, Settlement
from tmr.artifacts.models import Artifact, ArtifactSummary, ArtifactType, AuditEntry
from tmr.errors import Conflict, InvalidInput, NotFound
from tmr.storage.blobs.base import BlobStore

log = logging.getLogger("tmr.artifacts")
_ID_ATTEMPTS = 5


def audit_entry(principal: Principal, artifact: Artifact, action: str) -> AuditEntry:
    """The audit entry of `principal` doing `action` to `artifact` now."""
    return AuditEntry(
        user_name=principal.name,
        user_is_admin=principal.is_admin,
        at=datetime.now(UTC),
        artifact=ArtifactSummary(artifact.id, artifact.name, artifact.type),
        action=action,
    )


class ArtifactService:
    def __init__(
        self,
        repo: ArtifactRepository,
        blobs: BlobStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repo = repo
        self._blobs = blobs
        self._clock = clock  # which transactions are still open when orphans are collected

    # -- reading ---------------------------------------------------------------------------
    def get(
        self,
        principal: Principal,
        type_: ArtifactType,
        artifact_id: str,
        *,
        to: Permission = Permission.SEARCH,
    ) -> Artifact:
        """The artifact, if it exists with this type and `principal` may see it, for a use case
        that needs the permission `to` (reading by default; a download or a change name theirs)."""
        artifact = self.get_any(principal, artifact_id, to=to)
        if artifact.type is not type_:
            raise NotFound(f"no {type_.value} artifact with id {artifact_id}")
        return artifact

    def get_any(
        self, principal: Principal, artifact_id: str, *, to: Permission = Permission.SEARCH
    ) -> Artifact:
        require(principal, to)
        if not is_valid_id(artifact_id):
            raise InvalidInput("artifact id must match ^[A-Za-z0-9-]+$")
        artifact = self._repo.get(artifact_id)
        if artifact is None or not can_read(principal, artifact):
            raise NotFound(f"no artifact with id {artifact_id}")
        return artifact

    def url_taken(
        self, type_: ArtifactType, url: str, other_than: str | None = None
    ) -> ArtifactSummary | None:
        """The artifact of `type_` already registered from `url` (one other than `other_than`)."""
        found = self._repo.find_by_url(type_, url)
        return found if found is not None and found.id != other_than else None

    # -- writing ---------------------------------------------------------------------------
    def commit_new(self, principal: Principal, artifact: Artifact) -> Artifact:
        """Store a new artifact (its blobs already stored) in one transaction, with a fresh id,
        owned by `principal`, and audit its creation."""
        now = datetime.now(UTC)
        for _ in range(_ID_ATTEMPTS):
            stored = self.stamp_new(principal, artifact, now)
            try:
                self._repo.create(stored)
                break
            except Conflict:
                if self._repo.find_by_url(artifact.type, artifact.url) is not None:
                    raise Conflict(
                        f"a {artifact.type.value} with url {artifact.url} is already registered"
                    ) from None
        else:  # pragma: no cover - five random collisions in a row
            raise Conflict("could not allocate a unique artifact id")
        self.record(principal, stored, "CREATE")
        return stored

    def commit_replacement(
        self, principal: Principal, current: Artifact, artifact: Artifact, *, if_unchanged: bool = False
    ) -> Artifact:
        """Replace `current`'s content with `artifact`'s in one transaction; id, name and creation
        stay. `if_unchanged`: only if nobody wrote it since `current` was read (ChangedMeanwhile),
        for writers whose new content was derived from `current` (a Hub commit's delta)."""
        stored = self.stamp_replacement(principal, current, artifact, datetime.now(UTC))
        self._repo.replace(stored, current.updated_at if if_unchanged else None)
        self.record(principal, stored, "UPDATE")
        return stored

    @staticmethod
    def stamp_new(principal: Principal, artifact: Artifact, now: datetime) -> Artifact:
        """A new artifact as it is stored: a fresh id, owned and created by `principal` at `now`."""
        return replace(
            artifact,
            id=new_artifact_id(),
            created_at=now,
            updated_at=now,
            created_by=principal.name,
            updated_by=principal.name,
        )

    @staticmethod
    def stamp_replacement(
        principal: Principal, current: Artifact, artifact: Artifact, now: datetime
    ) -> Artifact:
        """`artifact`'s content under `current`'s id, name and creation, updated by `principal`."""
        return replace(
            artifact,
            id=current.id,
            created_at=current.created_at,
            created_by=current.created_by,
            updated_at=now,
            updated_by=principal.name,
        )

    def apply(self, changes: Sequence[ArtifactChange], settlement: Settlement) -> None:
        """Several artifacts written at once with the transaction they settle (blobs stored
        first): all of them or, on any failure or conflict, none."""
        self._repo.apply(changes, settlement)

    def deletable(self, principal: Principal, type_: ArtifactType, artifact_id: str) -> Artifact:
        """The artifact, if `principal` may delete it: `upload` and its owner (or an admin)."""
        artifact = self.get(principal, type_, artifact_id, to=Permission.UPLOAD)
        require_owner(principal, artifact, "delete")
        return artifact

    def delete(self, principal: Principal, type_: ArtifactType, artifact_id: str) -> None:
        """Deleting needs `upload` and the artifact's owner (or an admin)."""
        artifact = self.deletable(principal, type_, artifact_id)
        if not self._repo.delete(artifact_id):
            raise NotFound(f"no {type_.value} artifact with id {artifact_id}")
        log.info("deleted %s %s by %s", artifact.type.value, artifact.id, principal.name)

    # -- audit -------------------------------------------------------------------------------
    def record(self, principal: Principal, artifact: Artifact, action: str) -> None:
        """Audit an action on an artifact (CREATE, UPDATE, DOWNLOAD, RATE, AUDIT)."""
        self._repo.add_audit(audit_entry(principal, artifact, action))

    def audit_trail(self, principal: Principal, type_: ArtifactType, artifact_id: str) -> list[AuditEntry]:
        artifact = self.get(principal, type_, artifact_id)
        entries = self._repo.audit_for(artifact_id)
        self.record(principal, artifact, "AUDIT")
        return entries

    # -- the registry's own work ------------------------------------------------------------
    def reset(self) -> None:
        self._repo.reset()

    def collect_orphans(self, grace_s: float = 0.0) -> int:
        """Delete blobs no artifact references that were last written more than `grace_s` ago.
        A write in flight (blobs stored, metadata not yet committed) is younger than any sensible
        grace, so scheduled collection runs beside live traffic; 0 (reset) takes every orphan.
        Blobs staged by an open, unexpired transaction count as referenced."""
        written_before = time.time() - grace_s if grace_s > 0 else None
        referenced = set(self._repo.referenced_digests(self._clock()))
        removed = 0
        for digest in list(self._blobs.iter_digests(written_before)):
            if digest not in referenced:
                self._blobs.delete(digest)
                removed += 1
        return removed
