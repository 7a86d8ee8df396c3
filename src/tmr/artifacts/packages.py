"""Packages: an artifact's files (or some kinds of them, and its linked datasets' files) as one
stored zip with a fixed layout.

The bytes are a pure function of the entries' names, sizes, CRC-32s and contents, so the digest of
that description is a strong ETag, and any byte range can be served without the bytes before it.
The sha256 of the bytes themselves is worth announcing too (clients check downloads with it), but
costs a pass over them: it is taken once per package identity and kept in the state store.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from tmr.artifacts.locks import KeyedLocks
from tmr.artifacts.models import Artifact, FileEntry, FileKind
from tmr.artifacts.ziplayout import Segment, ZipEntry, layout, read_range
from tmr.errors import Conflict, IntegrityError, InvalidInput
from tmr.storage.blobs.base import BlobStore, Presigner

log = logging.getLogger("tmr.packages")

DATASETS_PART = "datasets"
DATASETS_DIR = "datasets/"


@dataclass(frozen=True, slots=True)
class PackageParts:
    """What `?parts=` asked for: file kinds of the artifact itself (None: all of them), and
    whether the files of its linked datasets come along."""

    kinds: frozenset[FileKind] | None = None
    datasets: bool = False


def parse_parts(parts: str | None) -> PackageParts:
    """`weights,config,datasets` → the parts; nothing → the whole artifact; unknown → 400."""
    names = [p.strip() for p in (parts or "").split(",") if p.strip()]
    if not names:
        return PackageParts()
    valid = [k.value for k in FileKind] + [DATASETS_PART]
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise InvalidInput(
            f"unknown part(s) {', '.join(unknown)}; parts must be a comma-separated list of: "
            + ", ".join(valid),
            valid=valid,
        )
    return PackageParts(
        kinds=frozenset(FileKind(n) for n in names if n != DATASETS_PART),
        datasets=DATASETS_PART in names,
    )


@dataclass(frozen=True, slots=True)
class Package:
    segments: list[Segment]
    length: int
    etag: str  # quoted, strong

    @property
    def identity(self) -> str:
        """The ETag without quotes: names these exact bytes."""
        return self.etag.strip('"')

    @property
    def digest_key(self) -> str:
        """Where the package's sha256 is kept in the state store."""
        return f"package-sha256:{self.identity}"

    def read(self, blobs: BlobStore, start: int, end: int) -> Iterator[bytes]:
        # Eager over the network (S3): a store that is down is a 503 before the headers.
        return read_range(self.segments, start, end, blobs.open, eager=not blobs.local)


def package_files(
    artifact: Artifact, kinds: Iterable[FileKind] | None, datasets: Sequence[tuple[str, Artifact]] = ()
) -> list[tuple[str, FileEntry]]:
    """(name in the zip, file) for every file the package holds, in its order."""
    wanted = set(kinds) if kinds is not None else None
    chosen = [(file.path, file) for file in artifact.files if wanted is None or file.kind in wanted]
    for folder, dataset in datasets:
        chosen += [(f"{DATASETS_DIR}{folder}/{file.path}", file) for file in dataset.files]
    return chosen


def _entries(artifact: Artifact, kinds: Iterable[FileKind] | None, folder: str = "") -> list[ZipEntry]:
    entries = []
    for path, file in package_files(artifact, kinds):
        if file.sha256 is None or file.crc32 is None:
            raise IntegrityError(f"{folder}{file.path} has not been mirrored")
        entries.append(ZipEntry(folder + path, file.size, file.crc32, file.sha256))
    return entries


def build_package(
    artifact: Artifact,
    kinds: Iterable[FileKind] | None = None,
    datasets: Sequence[tuple[str, Artifact]] = (),
) -> Package:
    """The package of `artifact`'s files of `kinds` (None: all), then every file of each
    `(folder, dataset)` under `datasets/<folder>/`. The ETag is the digest of the entries, so it
    changes whenever the set of datasets or any of their files does."""
    entries = _entries(artifact, kinds)
    for folder, dataset in datasets:
        entries += _entries(dataset, None, f"{DATASETS_DIR}{folder}/")
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:  # two entries of one name would extract as one, silently
            raise Conflict(f"the package would hold {entry.name} twice", path=entry.name)
        seen.add(entry.name)
    segments, length = layout(entries)
    description = "\n".join(f"{e.name}\0{e.size}\0{e.crc32}\0{e.sha256}" for e in entries)
    return Package(segments, length, '"' + hashlib.sha256(description.encode()).hexdigest() + '"')


# ----------------------------------------------------------------------------- digests, objects


class StateStore(Protocol):
    """Small shared key/value state (the metadata store's registry_state): first writer wins."""

    def peek_state(self, key: str) -> str | None: ...

    def state(self, key: str, default: str) -> str: ...


_LOCKS = KeyedLocks()


def _sha256_of(chunks: Iterable[bytes]) -> str:
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
    return hasher.hexdigest()


class PackageDigests:
    """The sha256 of whole packages, each computed once and kept under its identity (which fixes
    the bytes, so the value never goes stale). Because it never does, the digests this worker
    has read are also remembered in memory (the most recent `remembered` of them), which spares
    every download of a settled package one query."""

    def __init__(
        self, state: StateStore, eager_limit: int, locks: KeyedLocks = _LOCKS, remembered: int = 4096
    ) -> None:
        self._state = state
        self._eager_limit = eager_limit
        self._locks = locks
        self._remembered = remembered
        self._seen: dict[str, str] = {}
        self._seen_lock = threading.Lock()

    def known(self, package: Package) -> str | None:
        seen = self._seen.get(package.identity)
        if seen is not None:
            return seen
        found = self._state.peek_state(package.digest_key)
        if found is not None:
            self._remember(package, found)
        return found

    def record(self, package: Package, sha256: str) -> str:
        """Keep a measured digest; a different one already kept means the bytes are not what their
        layout promises (a blob changed under its name): never announce either as right."""
        kept = self._state.state(package.digest_key, sha256)
        if kept != sha256:
            raise IntegrityError(
                "the package's bytes do not match their recorded sha256", kept=kept, measured=sha256
            )
        self._remember(package, kept)
        return kept

    def _remember(self, package: Package, sha256: str) -> None:
        with self._seen_lock:  # the oldest out first: a dict keeps insertion order
            self._seen[package.identity] = sha256
            while len(self._seen) > self._remembered:
                del self._seen[next(iter(self._seen))]

    def eager(self, package: Package, blobs: BlobStore) -> str | None:
        """The digest, hashed now if unknown and the package is at most the eager limit (one
        request per identity in this worker does it; the others wait and read it); None for a
        larger package not yet measured."""
        known = self.known(package)
        if known is not None or package.length > self._eager_limit:
            return known
        with self._locks.hold(package.identity):
            known = self.known(package)
            if known is not None:
                return known
            return self.record(package, _sha256_of(package.read(blobs, 0, package.length)))

    def materialise(self, package: Package, blobs: BlobStore, target: Presigner) -> str:
        """Copy the package once into an object of `target` named by its identity, hashing it on
        the way (and checking it against the digest recorded earlier, if any); its sha256. An
        object already there, of the right size and with a recorded digest, is reused: its name
        fixes its bytes, and only checked bytes are ever completed under it."""
        with self._locks.hold(package.identity):
            known = self.known(package)
            if known is not None and target.package_size(package.identity) == package.length:
                return known
            stored = target.put_package(
                package.identity,
                package.read(blobs, 0, package.length),
                size=package.length,
                expected_sha256=known,
            )
            return self.record(package, stored.sha256)
