"""The registry seen as a Hugging Face Hub: which artifact a repository id names for a principal,
and what its files answer (planned by the download service, like the contract's `/download`).

The errors carry the Hub's `X-Error-Code`, which `huggingface_hub` turns into
`RepositoryNotFoundError`, `RevisionNotFoundError` and `EntryNotFoundError`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Protocol

from tmr.accounts.models import Permission, Principal
from tmr.accounts.permissions import require, scope_for
from tmr.artifacts.interfaces import KeyResolver
from tmr.artifacts.mirror import FileMirror
from tmr.artifacts.models import Artifact, ArtifactType, FileEntry
from tmr.artifacts.packages import StateStore
from tmr.artifacts.service import ArtifactService
from tmr.downloads.plan import Conditions, DownloadPlan
from tmr.downloads.service import DownloadService
from tmr.errors import IntegrityError, NotFound
from tmr.hub.git import known_blob_oid
from tmr.hub.repo import HubRepo, canonical_id, from_hub
from tmr.storage.blobs.base import BlobStore


class RepoNotFound(NotFound):
    hub_code = "RepoNotFound"


class RevisionNotFound(NotFound):
    hub_code = "RevisionNotFound"


class EntryNotFound(NotFound):
    hub_code = "EntryNotFound"


_OID_KEY = "hf-git-blob:"


class OidReader:
    """Git blob ids of stored files whose upstream did not vouch for one (uploaded text files):
    hashed from the bytes once, then kept in the state store keyed by the content's sha256."""

    def __init__(self, state: StateStore, blobs: BlobStore) -> None:
        self._state = state
        self._blobs = blobs

    def __call__(self, file: FileEntry) -> str:
        if file.sha256 is None:
            raise IntegrityError(f"{file.path} has not been mirrored")
        key = _OID_KEY + file.sha256
        cached = self._state.peek_state(key)
        if cached is not None:
            return cached
        hasher = hashlib.sha1(b"blob %d\0" % file.size, usedforsecurity=False)
        for chunk in self._blobs.open(file.sha256):
            hasher.update(chunk)
        return self._state.state(key, hasher.hexdigest())


def _ranked(artifact: Artifact) -> tuple[datetime, str]:
    return artifact.updated_at or datetime.min.replace(tzinfo=UTC), artifact.id


class CreatedOwner(Protocol):
    """Who created an (empty) repository through the door (`tmr.hub.push.CreatedRepos`)."""

    def owner(self, type_: ArtifactType, repo_id: str) -> str | None: ...


class HubService:
    def __init__(
        self,
        artifacts: ArtifactService,
        files: FileMirror,
        keys: KeyResolver,
        downloads: DownloadService,
        oids: OidReader,
        created: CreatedOwner | None = None,
    ) -> None:
        self._artifacts = artifacts
        self._files = files
        self._keys = keys
        self._downloads = downloads
        self._oids = oids
        self._created = created

    def repo(
        self,
        principal: Principal,
        repo_id: str,
        type_: ArtifactType,
        *,
        to: Permission = Permission.SEARCH,
    ) -> HubRepo:
        """The artifact of `type_` a Hub repository id names, among those `principal` may see,
        for a use case needing the permission `to` (reading its info; downloading a file).

        Artifacts answer to their lower-cased keys (repository id, short name, name). The real
        repository wins: an artifact mirrored from that very Hub repository comes before any
        artifact merely *named* like it, so nobody can squat a Hub id by choosing a name. Then
        an exact match of the Hub repository id or the artifact's name wins over a
        case-insensitive one, which wins over a short name (`bert-base-uncased` for
        `google-bert/bert-base-uncased`); among equals, the most recently updated."""
        require(principal, to)
        key = repo_id.strip().lower()
        candidates: list[Artifact] = []
        found = self._keys.answering_to({key}, scope_for(principal)).get(key, []) if key else []
        for summary in found:
            if summary.type is not type_:
                continue
            try:
                candidates.append(self._artifacts.get_any(principal, summary.id, to=to))
            except NotFound:
                continue  # private to someone else, or removed: it does not exist for this principal
        if not candidates:
            raise RepoNotFound(f"Repository not found: no {type_.value} {repo_id!r} you may read")

        def names(artifact: Artifact) -> set[str]:
            return {canonical_id(artifact), artifact.name}

        genuine = [a for a in candidates if from_hub(a) and canonical_id(a).lower() == key]
        pool = genuine or candidates
        exact = [a for a in pool if repo_id in names(a)]
        folded = [a for a in pool if key in {n.lower() for n in names(a)}]
        artifact = max(exact or folded or pool, key=_ranked)
        if any(f.sha256 is None and known_blob_oid(f) is None for f in artifact.files):
            # Neither stored nor vouched for: its ids can only come from its bytes.
            artifact = self._files.ensure_mirrored(artifact)
        return HubRepo.of(artifact, self._oids)

    def revision(
        self,
        principal: Principal,
        repo_id: str,
        type_: ArtifactType,
        revision: str,
        *,
        to: Permission = Permission.SEARCH,
    ) -> HubRepo:
        """The repository at `revision`, which must name its one commit (branch, commit, version)."""
        repo = self.repo(principal, repo_id, type_, to=to)
        if not repo.accepts(revision):
            raise RevisionNotFound(f"Invalid rev id: {revision}")
        return repo

    def _is_own_empty_repo(self, principal: Principal, repo_id: str, type_: ArtifactType) -> bool:
        owner = self._created.owner(type_, repo_id) if self._created is not None else None
        return owner is not None and (owner == principal.name or principal.is_admin)

    def file(
        self,
        principal: Principal,
        repo_id: str,
        type_: ArtifactType,
        revision: str,
        path: str,
        conditions: Conditions,
        *,
        head: bool = False,
        client: str | None = None,
    ) -> DownloadPlan:
        """`resolve/{revision}/{path}`: the file's bytes with the headers `huggingface_hub` reads
        (`client`: the asker's address, for the download history)."""
        try:
            repo = self.revision(principal, repo_id, type_, revision, to=Permission.DOWNLOAD)
        except RepoNotFound:
            if self._created is None or not self._is_own_empty_repo(principal, repo_id, type_):
                raise
            # Created through the door, nothing pushed yet: the Hub's answer for an empty
            # repository (transformers' push_to_hub looks for a README before its first commit).
            raise EntryNotFound(f"Entry not found: {path} (the repository is empty)") from None
        file = repo.file(path)
        if file is None:
            raise EntryNotFound(f"Entry not found: {path}", commit=repo.commit)
        return self._downloads.file(
            principal,
            repo.artifact,
            path,
            repo.file_headers(file),
            conditions,
            head=head,
            door="hub",
            client=client,
        )
