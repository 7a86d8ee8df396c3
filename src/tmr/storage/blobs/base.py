"""The blob store interface: content-addressed bytes, stored once whoever shares them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from tmr.errors import IntegrityError, InvalidInput

CHUNK_SIZE = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_digest(value: str) -> bool:
    return _SHA256.fullmatch(value) is not None


def check_digest(sha256: str) -> str:
    """The digest when it is 64 lowercase hex characters; InvalidInput otherwise. Digests become
    paths and keys, so this check is also what keeps `../` out of them."""
    if not isinstance(sha256, str) or _SHA256.fullmatch(sha256) is None:
        raise InvalidInput("not a sha256 digest (64 lowercase hex characters)", sha256=repr(sha256)[:80])
    return sha256


def check_range(start: int, end: int | None) -> None:
    if start < 0:
        raise InvalidInput("range start must be >= 0", start=start)
    if end is not None and end < start:
        raise InvalidInput("range end must be >= start", start=start, end=end)


def check_expected(expected_sha256: str | None, digest: str, size: int) -> None:
    """Refuse bytes whose digest is not the one the caller vouched for."""
    if expected_sha256 is not None and digest != expected_sha256:
        raise IntegrityError(
            "blob bytes do not match their expected digest",
            expected=expected_sha256,
            actual=digest,
            size=size,
        )


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """What a write produced: the sha256 (hex, lowercase) that names the blob and its size in bytes."""

    sha256: str
    size: int


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed storage. Keys are sha256 hex digests of the bytes; writes are idempotent.

    A write never leaves a partial blob visible under its digest: bytes go to a temporary
    place first and are moved (or committed) only once their digest is known and checked.
    """

    name: str
    local: bool  # bytes come from local disk (cheap to read inline), not over a network

    def put_stream(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredBlob:
        """Store the bytes of `chunks`; raise tmr.errors.IntegrityError if they do not hash to
        `expected_sha256` (when given), leaving nothing stored."""
        ...

    def put_bytes(self, data: bytes) -> StoredBlob:
        """Store a small in-memory payload."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int:
        """Size in bytes; raise tmr.errors.NotFound when absent."""
        ...

    def open(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield the bytes [start, end) in chunks of at most CHUNK_SIZE; NotFound when absent."""
        ...

    def read(self, sha256: str) -> bytes:
        """Whole blob in memory: for small blobs (cards, configs) only."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove a blob; absent is not an error."""
        ...

    def iter_digests(self, written_before: float | None = None) -> Iterator[str]:
        """Every stored digest (for orphan collection); with `written_before` (a Unix time), only
        blobs last written before it. Writing bytes already stored counts as a write (the store
        refreshes the blob's time), so a blob a request is about to reference is never old."""
        ...

    def check(self) -> None:
        """Raise tmr.errors.StorageUnavailable when the store cannot be used (health checks)."""
        ...


@runtime_checkable
class Presigner(Protocol):
    """An optional capability of a blob store (the S3 store has it, the filesystem store does not):
    whole download packages kept as objects of their own, handed out as short-lived presigned URLs
    so that clients fetch the bytes from the store directly instead of through a worker (an AWS
    Lambda cannot answer more than 6 MB).

    A package is named by its identity (a sha256 hex digest of its layout, so these exact bytes)
    and lives beside the blobs but is never one: `iter_digests` does not list it, so orphan
    collection neither counts nor deletes it; `delete_packages` (on reset) does.
    """

    def put_package(
        self,
        identity: str,
        chunks: Iterable[bytes],
        size: int | None = None,
        expected_sha256: str | None = None,
    ) -> StoredBlob:
        """Stream `chunks` into the package object `identity`, hashing them on the way; the sha256
        and size of what was written. Never more than one upload part is held in memory. A failure
        (of the source or the store), or bytes whose length is not `size` or whose digest is not
        `expected_sha256` (when given: IntegrityError), leave nothing under the package's name."""
        ...

    def package_size(self, identity: str) -> int | None:
        """The stored package's size in bytes, or None when it has not been materialised."""
        ...

    def presigned_url(self, identity: str, expires_s: int = 300, filename: str | None = None) -> str:
        """A GET URL of the package valid for `expires_s` seconds (signature v4), answered as an
        attachment named `filename` when given. Signed locally: existence is not checked."""
        ...

    def delete_packages(self) -> int:
        """Remove every materialised package (and abandoned uploads of one); how many were removed."""
        ...
