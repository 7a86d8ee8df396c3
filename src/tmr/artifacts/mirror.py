"""The bytes of artifacts' files: stored, judged by their bytes, and mirrored from the upstream on
demand.

Small files are stored at registration; large upstream files (weights, data) are recorded first
and fetched the first time something needs them, checked against the upstream digest before a
byte is served. Every stored file that is (or claims to be) weights is judged once, when its
bytes arrive, and the verdict is kept with the file.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import replace
from typing import Protocol

from tmr.artifacts.building import Crc32, PreparedArtifact, with_stored_files
from tmr.artifacts.interfaces import ArtifactRepository
from tmr.artifacts.locks import KeyedLocks
from tmr.artifacts.models import Artifact, FileEntry, FileKind
from tmr.artifacts.uploads import ExplodedFile, SpooledUpload, UploadLimits, explode, validate_zip
from tmr.errors import NotFound
from tmr.safety.inspect import DEFAULT_MAX_SCAN_BYTES
from tmr.safety.verdicts import judge_files
from tmr.sources.models import SourceKind, UpstreamFile
from tmr.storage.blobs.base import BlobStore


class FileSources(Protocol):
    """Checked bytes of upstream files (the sources' part of mirroring)."""

    def open_files(
        self, kind: SourceKind, files: Iterable[UpstreamFile]
    ) -> Iterator[tuple[UpstreamFile, Iterator[bytes]]]: ...


def _unmeasured(artifact: Artifact) -> list[FileEntry]:
    """Stored files without their CRC-32 yet (stored before CRCs were recorded)."""
    return [f for f in artifact.files if f.sha256 is not None and f.crc32 is None]


def missing(
    artifact: Artifact, kinds: Collection[FileKind] | None = None, paths: Collection[str] | None = None
) -> list[FileEntry]:
    """Files recorded but not yet stored, of `kinds` and `paths` (None: any)."""
    return [
        f
        for f in artifact.files
        if f.sha256 is None
        and f.upstream_url
        and (kinds is None or f.kind in kinds)
        and (paths is None or f.path in paths)
    ]


class FileMirror:
    def __init__(
        self,
        repo: ArtifactRepository,
        blobs: BlobStore,
        sources: FileSources,
        scan_limit: int = DEFAULT_MAX_SCAN_BYTES,
    ) -> None:
        self._repo = repo
        self._blobs = blobs
        self._sources = sources
        self._scan_limit = scan_limit
        self._locks = KeyedLocks()

    def store_and_judge(self, prepared: PreparedArtifact) -> PreparedArtifact:
        """Store a prepared artifact's small files, then judge every stored file by its bytes
        (those still in memory are read there rather than back from the store)."""
        contents = prepared.contents
        for data in contents.values():
            self._blobs.put_bytes(data)

        def read(sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
            if sha256 in contents:
                return iter((contents[sha256][start:end],))
            return self._blobs.open(sha256, start, end)

        judged = judge_files(prepared.artifact.files, read, self._scan_limit)
        return replace(with_stored_files(prepared, judged), judged=True)

    def judge_weights(self, prepared: PreparedArtifact) -> PreparedArtifact:
        """Mirror a prepared artifact's weights, then store and judge its files (the ingest gate
        refuses a public model whose weights import code, so it must see them first)."""
        fetched = self.fetch(prepared.artifact, {FileKind.WEIGHTS})
        return self.store_and_judge(with_stored_files(prepared, fetched))

    def fetch(
        self,
        artifact: Artifact,
        kinds: Collection[FileKind] | None = None,
        paths: Collection[str] | None = None,
    ) -> list[FileEntry]:
        """Fetch (checked against the upstream digest) and store the bytes of the files not yet
        stored, of `kinds` and `paths` (None: any); returns those entries with their digests."""
        wanted = missing(artifact, kinds, paths)
        if not wanted:
            return []
        upstream = [
            UpstreamFile(f.path, f.size, f.kind, f.upstream_url or "", f.upstream_digest) for f in wanted
        ]
        by_path = {f.path: f for f in wanted}
        fetched = []
        for file, chunks in self._sources.open_files(SourceKind(artifact.source), upstream):
            crc = Crc32()
            stored = self._blobs.put_stream(crc.through(chunks))
            fetched.append(replace(by_path[file.path], sha256=stored.sha256, crc32=crc.value))
        return fetched

    def ensure_mirrored(
        self,
        artifact: Artifact,
        kinds: Collection[FileKind] | None = None,
        paths: Collection[str] | None = None,
    ) -> Artifact:
        """Every file of `kinds` and `paths` (None: any) stored, checked and judged before any byte
        is served, so a digest mismatch or upstream failure is an error here, never a short
        package later; then every stored file given its CRC-32. Only what is asked is fetched.
        Concurrent first downloads of one artifact in this worker wait for one mirroring."""
        if missing(artifact, kinds, paths):
            with self._locks.hold(artifact.id):
                current = self._repo.get(artifact.id)  # another request may have mirrored meanwhile
                if current is None:
                    raise NotFound(f"no artifact with id {artifact.id}")
                artifact = self._mirror(current, kinds, paths)
        return self._with_checksums(artifact)

    @staticmethod
    def settled(
        artifact: Artifact, kinds: Collection[FileKind] | None = None, paths: Collection[str] | None = None
    ) -> bool:
        """True when `ensure_mirrored` has nothing to fetch or measure: it would return at once."""
        return not missing(artifact, kinds, paths) and not _unmeasured(artifact)

    def _mirror(
        self, artifact: Artifact, kinds: Collection[FileKind] | None, paths: Collection[str] | None
    ) -> Artifact:
        fetched = self.fetch(artifact, kinds, paths)
        for file in fetched:
            self._repo.record_file_digest(artifact.id, file.path, file.sha256 or "", file.crc32 or 0)
        artifact = artifact.with_files(fetched)
        # The new bytes, and weights stored before verdicts were kept; other stored files were
        # judged when they were stored.
        new = {f.path for f in fetched}
        unjudged = [
            f for f in artifact.files if f.path in new or (f.kind is FileKind.WEIGHTS and f.safety is None)
        ]
        judged = judge_files(unjudged, self._blobs.open, self._scan_limit)
        if judged:
            self._repo.record_file_safety(artifact.id, judged)
        return artifact.with_files(judged)

    def _with_checksums(self, artifact: Artifact) -> Artifact:
        """Give every stored file its CRC-32 (files stored before CRCs were recorded)."""
        measured = []
        for file in _unmeasured(artifact):
            assert file.sha256 is not None  # stored, by _unmeasured
            crc = Crc32()
            for _chunk in crc.through(self._blobs.open(file.sha256)):
                pass
            self._repo.record_file_digest(artifact.id, file.path, file.sha256, crc.value)
            measured.append(replace(file, crc32=crc.value))
        return artifact.with_files(measured)

    def store_upload(self, spooled: SpooledUpload, limits: UploadLimits) -> list[ExplodedFile]:
        """Validate an uploaded zip, then explode it into blobs (identical bytes become one blob
        whoever uploaded them)."""
        members = validate_zip(spooled.path, limits)

        def put(chunks: Iterable[bytes]) -> tuple[str, int]:
            stored = self._blobs.put_stream(chunks)
            return stored.sha256, stored.size

        return explode(spooled.path, members, put, limits)

    def read_stored(self, sha256: str) -> bytes:
        return b"".join(self._blobs.open(sha256))
