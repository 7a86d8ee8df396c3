"""Whole packages kept as files on local disk, so that a popular package is a file send.

A package's bytes are fixed by its identity (its ETag), so a file named after the identity never
goes stale: it is written once, by the first whole download that streams to its end (the bytes
go to the client and to a temporary file at once, and the file takes its name by an atomic
rename only when complete and of the right length), and every later download or range of that
package reads the file instead of assembling the zip from its blobs. Under a server with the ASGI
`pathsend` extension (granian) the file is then sent by the server itself, never through Python.

The cache is bounded: after each file is added the least recently used files are removed until
the total is within `max_bytes` (a hit refreshes a file's time). A file used in the last
`keep_recent_s` seconds is never removed, since a response may be about to send it; the cache
may then exceed its bound until those files age. Several workers may share the folder: each
writes its own temporary file and renames are atomic, so the worst race writes a package twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("tmr.downloads.cache")

SUFFIX = ".zip"
_PARTIAL = ".partial-"


class PackageCache:
    def __init__(self, root: Path, max_bytes: int, *, keep_recent_s: float = 60.0) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.keep_recent_s = keep_recent_s
        root.mkdir(parents=True, exist_ok=True)
        self._clear_partials()

    def _name(self, identity: str) -> Path:
        if not identity or not all(c.isalnum() or c in "-_" for c in identity):
            raise ValueError(f"not a package identity: {identity!r}")
        return self.root / f"{identity}{SUFFIX}"

    def admits(self, length: int) -> bool:
        """A package is cached only if it can fit in a quarter of the cache (a bigger one would
        evict everything else for one download)."""
        return 0 < length <= self.max_bytes // 4

    def get(self, identity: str, length: int) -> Path | None:
        """The package's file when it is cached whole; its use time is refreshed."""
        path = self._name(identity)
        try:
            if path.stat().st_size != length:
                return None
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    def filling(self, identity: str, length: int, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """`chunks`, passed through while they are written to the cache; the file is named only
        if every byte arrived (a client that leaves early leaves nothing behind).

        The cache is an optimisation: a write it cannot make (a full disk, a folder gone) drops
        the partial file and the rest of the package still goes to the client, uncached."""
        final = self._name(identity)
        partial = self.root / f"{identity}{_PARTIAL}{secrets.token_hex(6)}"
        out = self._open_partial(partial)
        written = 0
        try:
            for chunk in chunks:
                if out is not None:
                    try:
                        out.write(chunk)
                    except OSError as exc:
                        log.warning("package cache: not caching %s: %s", identity, exc)
                        self._drop(out, partial)
                        out = None
                written += len(chunk)
                yield chunk
            if out is not None and written == length:
                kept, out = out, None
                if self._keep(kept, partial, final):
                    self._evict()
        finally:
            if out is not None:
                self._drop(out, partial)

    @staticmethod
    def _keep(out: BinaryIO, partial: Path, final: Path) -> bool:
        """Name the complete file; on a failure (its last bytes did not fit) drop it instead."""
        try:
            out.close()
            os.replace(partial, final)
        except OSError as exc:
            log.warning("package cache: not caching %s: %s", final.name, exc)
            with contextlib.suppress(OSError):
                partial.unlink()
            return False
        return True

    @staticmethod
    def _open_partial(partial: Path) -> BinaryIO | None:
        try:
            return partial.open("wb")
        except OSError as exc:
            log.warning("package cache: cannot write %s: %s", partial.parent, exc)
            return None

    @staticmethod
    def _drop(out: BinaryIO | None, partial: Path) -> None:
        """Close and remove a partial file, whatever state its disk is in."""
        if out is not None:
            with contextlib.suppress(OSError):  # buffered bytes that no longer fit
                out.close()
        with contextlib.suppress(OSError):
            partial.unlink()

    def _evict(self) -> None:
        """Remove the least recently used files until the total is within the bound."""
        now = time.time()
        entries = []
        for path in self.root.glob(f"*{SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        for used, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            if now - used < self.keep_recent_s:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                total -= size
                log.info("package cache: evicted %s (%d bytes)", path.name, size)

    def _clear_partials(self) -> None:
        """Temporary files left by a process that died mid-download (older than a minute)."""
        cutoff = time.time() - 60
        for path in self.root.glob(f"*{_PARTIAL}*"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

    def clear(self) -> None:
        """Remove every cached package (the registry's reset)."""
        for path in self.root.glob(f"*{SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
