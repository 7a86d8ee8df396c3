"""File contents for fixture repositories, plus the git / git-LFS hashing the real services expose.

Contents are either small in-memory bytes or large seeded streams that are generated chunk by chunk on
demand, so a 25 MB weights file never sits in memory or in git. Hashes are computed exactly as git and
git-LFS do, so clients that verify ETags, blob ids or sha256 digests see consistent values.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

CHUNK_SIZE = 1 << 16


def git_blob_sha1(data: bytes) -> str:
    """Return the git object id of a blob (what `git hash-object` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """Return the git-LFS pointer file stored in git in place of an LFS object."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def stable_sha1(*parts: object) -> str:
    """Deterministic 40-hex id (commit shas, ids) derived from arbitrary labels."""
    return hashlib.sha1(":".join(str(p) for p in parts).encode()).hexdigest()


def stable_int(*parts: object, bits: int = 31) -> int:
    """Deterministic integer derived from labels; used for seeds and numeric ids."""
    return int(stable_sha1(*parts), 16) % (1 << bits)


class Blob:
    """Abstract file content: a size, byte-range iteration and (cached) digests."""

    size: int

    def iter_range(self, start: int, end: int) -> Iterator[bytes]:
        """Yield the bytes in [start, end) in chunks."""
        raise NotImplementedError

    def read(self) -> bytes:
        """Return the whole content (only sensible for small blobs)."""
        return b"".join(self.iter_range(0, self.size))

    @property
    def sha256(self) -> str:
        raise NotImplementedError

    @property
    def git_sha1(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class InlineBlob(Blob):
    """Small content held in memory."""

    data: bytes
    size: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", len(self.data))

    def iter_range(self, start: int, end: int) -> Iterator[bytes]:
        for pos in range(start, end, CHUNK_SIZE):
            yield self.data[pos : min(end, pos + CHUNK_SIZE)]

    def read(self) -> bytes:
        return self.data

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def git_sha1(self) -> str:
        return git_blob_sha1(self.data)


class SeededBlob(Blob):
    """Large content: a fixed prefix followed by pseudo-random bytes generated per chunk from a seed.

    Any byte range can be produced without generating what precedes it, and the sha256 is computed
    lazily once (thread-safe) and cached, so serving a 25 MB file costs no memory.
    """

    def __init__(self, prefix: bytes, size: int, seed: int) -> None:
        if size < len(prefix):
            raise ValueError("size must cover the prefix")
        self.prefix = prefix
        self.size = size
        self.seed = seed
        self._lock = threading.Lock()
        self._sha256: str | None = None
        self._sha1: str | None = None

    def _body_chunk(self, index: int) -> bytes:
        body_len = self.size - len(self.prefix)
        length = min(CHUNK_SIZE, body_len - index * CHUNK_SIZE)
        return random.Random(self.seed * 1_000_003 + index).randbytes(length)

    def iter_range(self, start: int, end: int) -> Iterator[bytes]:
        plen = len(self.prefix)
        if start < plen:
            yield self.prefix[start : min(end, plen)]
            start = plen
        while start < end:
            index, offset = divmod(start - plen, CHUNK_SIZE)
            chunk = self._body_chunk(index)[offset : offset + (end - start)]
            yield chunk
            start += len(chunk)

    def _digests(self) -> tuple[str, str]:
        with self._lock:
            if self._sha256 is None or self._sha1 is None:
                sha256 = hashlib.sha256()
                sha1 = hashlib.sha1(b"blob %d\0" % self.size)
                for chunk in self.iter_range(0, self.size):
                    sha256.update(chunk)
                    sha1.update(chunk)
                self._sha256, self._sha1 = sha256.hexdigest(), sha1.hexdigest()
            return self._sha256, self._sha1

    @property
    def sha256(self) -> str:
        return self._digests()[0]

    @property
    def git_sha1(self) -> str:
        return self._digests()[1]


def git_tree_shas(blob_shas: dict[str, str]) -> dict[str, str]:
    """Compute git tree object ids for every directory ("" is the root) of a path -> blob-sha mapping."""
    children: dict[str, dict[str, tuple[str, str]]] = {"": {}}
    for path in blob_shas:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            children.setdefault("/".join(parts[:depth]), {})
    for path, sha in blob_shas.items():
        parent, _, name = path.rpartition("/")
        children[parent][name] = ("100644", sha)
    result: dict[str, str] = {}
    for directory in sorted(children, key=lambda d: d.count("/") + (d != ""), reverse=True):
        entries = children[directory]
        body = b"".join(
            f"{mode} {name}".encode() + b"\0" + bytes.fromhex(sha)
            for name, (mode, sha) in sorted(
                entries.items(), key=lambda kv: kv[0] + ("/" if kv[1][0] == "40000" else "")
            )
        )
        result[directory] = hashlib.sha1(b"tree %d\0" % len(body) + body).hexdigest()
        if directory:
            parent, _, name = directory.rpartition("/")
            children[parent][name] = ("40000", result[directory])
    return result
