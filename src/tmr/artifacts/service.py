"""Register, read, update, delete and reset artifacts; mirror their files on demand.

Writes follow one order: blobs first (content-addressed, so re-writing is harmless), then one
metadata transaction. A failure anywhere before the transaction leaves no visible artifact, only
orphan blobs that `collect_orphans` can remove.
"""

from __future__ import annotations

import hashlib
import logging
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from tmr.accounts.models import User
from tmr.accounts.permissions import can_read
from tmr.analysis.references import keys_for, references
from tmr.artifacts.ids import is_valid_id, new_artifact_id
from tmr.artifacts.interfaces import ArtifactRepository
from tmr.artifacts.locks import KeyedLocks
from tmr.artifacts.models import (
    Artifact,
    ArtifactLink,
    ArtifactSummary,
    ArtifactType,
    AuditEntry,
    FileEntry,
    FileKind,
    Visibility,
)
from tmr.artifacts.uploads import SpooledUpload, UploadLimits, explode, validate_zip
from tmr.errors import Conflict, InvalidInput, NotFound
from tmr.safety.inspect import DEFAULT_MAX_SCAN_BYTES
from tmr.safety.verdicts import judge_files
from tmr.search.versions import normalize_version
from tmr.sources.models import SourceKind, SourceSnapshot, UpstreamFile
from tmr.sources.registry import SourceRegistry
from tmr.sources.upload import upload_snapshot
from tmr.storage.blobs.base import BlobStore

log = logging.getLogger("tmr.artifacts")
MAX_NAME_LENGTH = 512
_ID_ATTEMPTS = 5


class _Crc32:
    """CRC-32 of bytes as they stream past (zip headers need it before the data)."""

    def __init__(self) -> None:
        self.value = 0

    def through(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.value = zlib.crc32(chunk, self.value)
            yield chunk


@dataclass(slots=True)
class PreparedArtifact:
    """An artifact read from its source but not stored: its metadata and small files' bytes."""

    artifact: Artifact
    contents: dict[str, bytes]
    judged: bool = False  # its stored files were judged already (the ingest gate does it first)


def _now() -> datetime:
    return datetime.now(UTC)


def check_name(name: str) -> str:
    """Names are free text of "keyboard" characters; `*` is reserved for enumeration."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name must be a non-empty string")
    if name == "*":
        raise InvalidInput('the name "*" is reserved')
    if len(name) > MAX_NAME_LENGTH or any(ord(c) < 32 for c in name):
        raise InvalidInput("name is too long or holds control characters")
    return name


class ArtifactService:
    def __init__(
        self,
        repo: ArtifactRepository,
        blobs: BlobStore,
        sources: SourceRegistry,
        clock: Callable[[], datetime] = _now,
        scan_limit: int = DEFAULT_MAX_SCAN_BYTES,
    ) -> None:
        self._scan_limit = scan_limit
        self._repo = repo
        self._blobs = blobs
        self._sources = sources
        self._clock = clock
        self._mirror_locks = KeyedLocks()

    # -- reading ---------------------------------------------------------------------------
    def get(self, type_: ArtifactType, artifact_id: str, viewer: User | None = None) -> Artifact:
        """The artifact, if it exists with this type and `viewer` may see it (None: no check)."""
        artifact = self.get_any(artifact_id, viewer)
        if artifact.type is not type_:
            raise NotFound(f"no {type_.value} artifact with id {artifact_id}")
        return artifact

    def get_any(self, artifact_id: str, viewer: User | None = None) -> Artifact:
        if not is_valid_id(artifact_id):
            raise InvalidInput("artifact id must match ^[A-Za-z0-9-]+$")
        artifact = self._repo.get(artifact_id)
        if artifact is None or not can_read(viewer, artifact):
            raise NotFound(f"no artifact with id {artifact_id}")
        return artifact

    # -- writing ---------------------------------------------------------------------------
    def register(self, type_: ArtifactType, url: str, name: str | None, actor: User) -> Artifact:
        return self.commit(self.prepare(type_, url, name), actor)

    def prepare(self, type_: ArtifactType, url: str, name: str | None) -> PreparedArtifact:
        """Everything about a new artifact, read from its source, with nothing stored yet (the
        ingest gate rates it before deciding to keep it)."""
        ref = self._sources.parse(url, type_)
        chosen = check_name(name) if name is not None else ref.default_name
        if self._repo.find_by_url(type_, url) is not None:
            raise Conflict(f"a {type_.value} with url {url} is already registered")
        snapshot = self._sources.inspect(ref)
        artifact, contents = self._build(type_, chosen, url, snapshot)
        return PreparedArtifact(artifact, contents)

    def commit(self, prepared: PreparedArtifact, actor: User) -> Artifact:
        """Store a prepared artifact: its small files' blobs first (each stored file judged by its
        bytes), then one transaction."""
        artifact = prepared.artifact
        if not prepared.judged:
            self._store_and_judge(artifact.files, prepared.contents)
        now = self._clock()
        artifact.created_at = artifact.updated_at = now
        artifact.created_by = artifact.updated_by = actor.name
        for _ in range(_ID_ATTEMPTS):
            artifact.id = new_artifact_id()
            try:
                self._repo.create(artifact)
                break
            except Conflict:
                if self._repo.find_by_url(artifact.type, artifact.url) is not None:
                    raise Conflict(
                        f"a {artifact.type.value} with url {artifact.url} is already registered"
                    ) from None
        else:  # pragma: no cover - five random collisions in a row
            raise Conflict("could not allocate a unique artifact id")
        self._audit(artifact, actor, "CREATE")
        return artifact

    def _store_and_judge(self, files: list[FileEntry], contents: dict[str, bytes]) -> list[FileEntry]:
        """Store the small files' bytes, then judge every stored file by its bytes; those still in
        memory are read there rather than back from the store."""
        for data in contents.values():
            self._blobs.put_bytes(data)

        def read(sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
            if sha256 in contents:
                return iter((contents[sha256][start:end],))
            return self._blobs.open(sha256, start, end)

        return judge_files(files, read, self._scan_limit)

    def update(self, type_: ArtifactType, artifact_id: str, name: str, url: str, actor: User) -> Artifact:
        """Replace the artifact's content from its (possibly new) source URL; name and id stay."""
        current = self.get(type_, artifact_id, actor)
        if name != current.name:
            raise InvalidInput("the name in the body must match the artifact's name")
        ref = self._sources.parse(url, type_)
        if url != current.url:
            other = self._repo.find_by_url(type_, url)
            if other is not None and other.id != artifact_id:
                raise Conflict(f"a {type_.value} with url {url} is already registered")
        snapshot = self._sources.inspect(ref)
        artifact, contents = self._build(type_, current.name, url, snapshot)
        self._store_and_judge(artifact.files, contents)
        artifact.id = current.id
        artifact.created_at, artifact.created_by = current.created_at, current.created_by
        artifact.updated_at, artifact.updated_by = self._clock(), actor.name
        self._repo.replace(artifact)
        self._audit(artifact, actor, "UPDATE")
        return artifact

    def delete(self, type_: ArtifactType, artifact_id: str, actor: User) -> None:
        artifact = self.get(type_, artifact_id, actor)
        if not self._repo.delete(artifact_id):
            raise NotFound(f"no {type_.value} artifact with id {artifact_id}")
        log.info("deleted %s %s by %s", artifact.type.value, artifact.id, actor.name)

    def reset(self) -> None:
        self._repo.reset()

    def _build(
        self, type_: ArtifactType, name: str, url: str, snapshot: SourceSnapshot
    ) -> tuple[Artifact, dict[str, bytes]]:
        """The artifact a snapshot describes, and the small files' bytes keyed by their sha256
        (stored only when the artifact is)."""
        files = []
        contents: dict[str, bytes] = {}
        for upstream in snapshot.files:
            sha256 = crc = None
            if upstream.content is not None:
                sha256 = hashlib.sha256(upstream.content).hexdigest()
                crc = zlib.crc32(upstream.content)
                contents[sha256] = upstream.content
            files.append(
                FileEntry(
                    path=upstream.path,
                    size=upstream.size,
                    kind=upstream.kind,
                    sha256=sha256,
                    upstream_url=upstream.download_url or None,
                    upstream_digest=upstream.upstream_digest,
                    crc32=crc,
                )
            )
        links: list[ArtifactLink] = []
        if type_ is ArtifactType.MODEL:
            try:
                links = references(
                    snapshot.card,
                    snapshot.facts.get("config"),
                    snapshot.facts.get("adapter_config"),
                    snapshot.readme,
                )
            except InvalidInput as exc:
                snapshot.notes.append(exc.message)
                snapshot.facts["lineage_error"] = exc.message
        keys = keys_for(name, url, snapshot.ref.repo_id or None)
        artifact = Artifact(
            id="",
            type=type_,
            name=name,
            url=url,
            source=snapshot.ref.kind.value,
            readme=snapshot.readme,
            card=snapshot.card,
            license=snapshot.license,
            upstream=snapshot.facts,
            version=snapshot.version,
            notes=snapshot.notes,
            files=files,
            keys=keys,
            links=[link for link in links if link.key not in keys],  # a model is not its own parent
        )
        return artifact, contents

    # -- files -------------------------------------------------------------------------------
    def ensure_mirrored(self, artifact: Artifact, paths: Collection[str] | None = None) -> Artifact:
        """Fetch, check and store every file (of `paths`, or all) not yet mirrored, before any byte
        is served: a digest mismatch or upstream failure is an error here, never a short package
        later. Concurrent first downloads of one artifact in this worker wait for one mirroring."""
        if not self._missing(artifact, None, paths):
            return artifact
        with self._mirror_locks.hold(artifact.id):
            artifact = self.get_any(artifact.id)  # another request may have mirrored meanwhile
            self._mirror(artifact, paths)
        return artifact

    def _mirror(self, artifact: Artifact, paths: Collection[str] | None) -> None:
        fetched = self.fetch_files(artifact, paths=paths)
        for file in fetched:
            self._repo.record_file_digest(artifact.id, file.path, file.sha256 or "", file.crc32 or 0)
        # The new bytes, and weights stored before verdicts were kept; other stored files were
        # judged when they were stored.
        new = {f.path for f in fetched}
        unjudged = [
            f for f in artifact.files if f.path in new or (f.kind is FileKind.WEIGHTS and f.safety is None)
        ]
        judged = judge_files(unjudged, self._blobs.open, self._scan_limit)
        if judged:
            self._repo.record_file_safety(artifact.id, judged)

    @staticmethod
    def _missing(
        artifact: Artifact, kinds: Collection[FileKind] | None, paths: Collection[str] | None
    ) -> list[FileEntry]:
        return [
            f
            for f in artifact.files
            if f.sha256 is None
            and f.upstream_url
            and (kinds is None or f.kind in kinds)
            and (paths is None or f.path in paths)
        ]

    def fetch_files(
        self,
        artifact: Artifact,
        kinds: Collection[FileKind] | None = None,
        paths: Collection[str] | None = None,
    ) -> list[FileEntry]:
        """Fetch (checked against the upstream digest) and store the bytes of the files not yet
        stored, of `kinds` and `paths` (None: any); the entries get their digests in memory and
        are returned."""
        missing = self._missing(artifact, kinds, paths)
        if not missing:
            return []
        upstream = [
            UpstreamFile(f.path, f.size, f.kind, f.upstream_url or "", f.upstream_digest) for f in missing
        ]
        by_path = {f.path: f for f in missing}
        for file, chunks in self._sources.open_files(SourceKind(artifact.source), upstream):
            crc = _Crc32()
            stored = self._blobs.put_stream(crc.through(chunks))
            by_path[file.path].sha256 = stored.sha256
            by_path[file.path].crc32 = crc.value
        return missing

    def judge_weights(self, prepared: PreparedArtifact) -> None:
        """Mirror a prepared artifact's weights and judge them by their bytes (the ingest gate
        refuses a public model whose weights import code, so it must see them first)."""
        self.fetch_files(prepared.artifact, {FileKind.WEIGHTS})
        self._store_and_judge(prepared.artifact.files, prepared.contents)
        prepared.judged = True

    # -- uploads -----------------------------------------------------------------------------
    def upload(
        self,
        type_: ArtifactType,
        spooled: SpooledUpload,
        name: str,
        version: str | None,
        actor: User,
        limits: UploadLimits,
    ) -> PreparedArtifact:
        """Validate and explode an uploaded zip into blobs and describe it as a private artifact
        of `actor`; nothing is visible until `commit`. The same zip (same sha256) uploaded twice
        as the same type is a conflict, as registering one URL twice is."""
        check_name(name)
        normalised = normalize_version(version) if version is not None else None
        url = f"upload:sha256:{spooled.sha256}"
        existing = self._repo.find_by_url(type_, url)
        if existing is not None:
            raise Conflict(f"this zip is already uploaded as {type_.value} {existing.id}", id=existing.id)
        members = validate_zip(spooled.path, limits)

        def put(chunks: Iterable[bytes]) -> tuple[str, int]:
            stored = self._blobs.put_stream(chunks)
            return stored.sha256, stored.size

        exploded = explode(spooled.path, members, put, limits)
        snapshot = upload_snapshot(
            url,
            exploded,
            lambda sha256: b"".join(self._blobs.open(sha256)),
            is_model=type_ is ArtifactType.MODEL,
            version=normalised,
        )
        artifact, contents = self._build(type_, name, url, snapshot)
        by_path = {e.path: e for e in exploded}
        for file in artifact.files:
            file.sha256, file.crc32 = by_path[file.path].sha256, by_path[file.path].crc32
        artifact.visibility = Visibility.PRIVATE
        artifact.keys = keys_for(name, "", None)
        return PreparedArtifact(artifact, contents)

    def ensure_checksums(self, artifact: Artifact) -> Artifact:
        """Give every stored file its CRC-32 (files stored before CRCs were recorded)."""
        for file in artifact.files:
            if file.sha256 is not None and file.crc32 is None:
                crc = _Crc32()
                for _chunk in crc.through(self._blobs.open(file.sha256)):
                    pass
                self._repo.record_file_digest(artifact.id, file.path, file.sha256, crc.value)
                file.crc32 = crc.value
        return artifact

    # -- audit -------------------------------------------------------------------------------
    def _audit(self, artifact: Artifact, actor: User, action: str) -> None:
        self._repo.add_audit(
            AuditEntry(
                user_name=actor.name,
                user_is_admin=actor.is_admin,
                at=self._clock(),
                artifact=ArtifactSummary(artifact.id, artifact.name, artifact.type),
                action=action,
            )
        )

    def record(self, artifact: Artifact, actor: User, action: str) -> None:
        """Audit an action taken elsewhere (DOWNLOAD, RATE)."""
        self._audit(artifact, actor, action)

    def audit_trail(self, type_: ArtifactType, artifact_id: str, actor: User) -> list[AuditEntry]:
        artifact = self.get(type_, artifact_id, actor)
        entries = self._repo.audit_for(artifact_id)
        self._audit(artifact, actor, "AUDIT")
        return entries

    def collect_orphans(self, grace_s: float = 0.0) -> int:
        """Delete blobs no artifact references that were last written more than `grace_s` ago.
        A write in flight (blobs stored, metadata not yet committed) is younger than any sensible
        grace, so scheduled collection runs beside live traffic; 0 (reset) takes every orphan."""
        written_before = time.time() - grace_s if grace_s > 0 else None
        referenced = set(self._repo.referenced_digests())
        removed = 0
        for digest in list(self._blobs.iter_digests(written_before)):
            if digest not in referenced:
                self._blobs.delete(digest)
                removed += 1
        return removed
