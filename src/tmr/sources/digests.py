"""Upstream digests: checking bytes against what the upstream vouched for while they stream.

Hugging Face vouches for LFS files with a sha256 and for the others with a git blob id; GitHub
with git blob ids. Both are stored as ``sha256:<hex>`` or ``git:<hex>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from tmr.errors import IntegrityError


def sha256_digest(hex_digest: str) -> str:
    return f"sha256:{hex_digest.lower()}"


def git_digest(hex_digest: str) -> str:
    return f"git:{hex_digest.lower()}"


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def checked(chunks: Iterable[bytes], expected: str | None, size: int, label: str) -> Iterator[bytes]:
    """Pass `chunks` through, raising IntegrityError at the end if their size or digest differs
    from what the upstream promised. Consumers that commit only after exhaustion (the blob
    stores) therefore never keep wrong bytes."""
    algorithm, _, want = (expected or "").partition(":")
    if algorithm == "git":
        hasher = hashlib.sha1(b"blob %d\0" % size, usedforsecurity=False)
    elif algorithm == "sha256":
        hasher = hashlib.sha256()
    else:
        hasher = None
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        if seen > size:
            raise IntegrityError(f"{label}: upstream sent more than the {size} bytes it listed")
        if hasher is not None:
            hasher.update(chunk)
        yield chunk
    if seen != size:
        raise IntegrityError(f"{label}: upstream sent {seen} bytes, listed {size}")
    if hasher is not None and hasher.hexdigest() != want.lower():
        raise IntegrityError(f"{label}: bytes do not match the upstream digest {expected}")
