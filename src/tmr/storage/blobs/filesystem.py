"""Blob store on a local directory: `root/ab/cd/<sha256>`, written atomically through `root/.tmp/`."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from tmr.errors import BlobStoreUnavailable, NotFound, StorageUnavailable, disk_full, is_disk_full
from tmr.storage.blobs.base import (
    CHUNK_SIZE,
    StoredBlob,
    check_digest,
    check_expected,
    check_range,
    is_digest,
)

_TMP_DIR = ".tmp"
# Blobs are immutable once named by their digest: read-only files guard against accidental edits
# (deleting still works, it needs write permission on the directory only).
_BLOB_MODE = 0o444


def _fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable (best effort: not every filesystem allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class FilesystemBlobStore:
    """Content-addressed blobs under `root`, fanned out over two directory levels.

    A write streams into a temporary file in `root/.tmp/` while hashing, fsyncs it and only then
    renames it to its digest, so a reader never sees a partial blob and two writers of the same
    bytes simply replace one complete copy with another. `.tmp` lives on the same filesystem as the
    blobs, which is what makes the rename atomic.
    """

    name: str = "filesystem"
    local: bool = True

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tmp = self.root / _TMP_DIR

    def __repr__(self) -> str:
        return f"FilesystemBlobStore({str(self.root)!r})"

    def path_of(self, sha256: str) -> Path:
        """Where the blob named `sha256` lives (whether or not it exists)."""
        digest = check_digest(sha256)
        return self.root / digest[:2] / digest[2:4] / digest

    # ---------------------------------------------------------------------------------- writes

    def put_stream(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredBlob:
        if expected_sha256 is not None:
            check_digest(expected_sha256)
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix="put-", dir=self._tmp)
        except OSError as exc:
            raise _unwritable(exc, root=str(self.root)) from exc
        tmp_path = Path(tmp_name)
        try:
            digest, size = self._write_hashing(fd, chunks)
            check_expected(expected_sha256, digest, size)
            final = self.path_of(digest)
            if final.is_file():
                # Already stored (content addressing): the copy in place is as good as ours. Its
                # time is refreshed so orphan collection sees it as just written.
                tmp_path.unlink(missing_ok=True)
                os.utime(final)
            else:
                _guarded(final.parent.mkdir, parents=True, exist_ok=True)  # a directory takes space too
                _guarded(os.chmod, tmp_path, _BLOB_MODE)
                _guarded(os.replace, tmp_path, final)
                _fsync_dir(final.parent)
            return StoredBlob(sha256=digest, size=size)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise

    @staticmethod
    def _write_hashing(fd: int, chunks: Iterable[bytes]) -> tuple[str, int]:
        hasher = hashlib.sha256()
        size = 0
        out = os.fdopen(fd, "wb")
        try:
            # Errors of the source (an upstream dropping the connection is an OSError too) pass
            # through untouched; only failures of our own writes mean the store is unusable.
            for chunk in chunks:
                if not chunk:
                    continue
                hasher.update(chunk)
                _guarded(out.write, chunk)
                size += len(chunk)
            _guarded(out.flush)
            _guarded(os.fsync, out.fileno())
        finally:
            # After a failed write the buffer still holds bytes that do not fit: closing would
            # raise that failure again, over the error that says what happened.
            with contextlib.suppress(OSError):
                out.close()
        return hasher.hexdigest(), size

    def put_bytes(self, data: bytes) -> StoredBlob:
        return self.put_stream([data])

    # ----------------------------------------------------------------------------------- reads

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def size(self, sha256: str) -> int:
        try:
            return self.path_of(sha256).stat().st_size
        except FileNotFoundError as exc:
            raise NotFound("blob not found", sha256=sha256) from exc

    def open(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield bytes [start, end) clipped to the blob; empty when start is at or past its end.

        The file is opened here, not on first iteration, so NotFound is raised before any byte is
        promised to a client, and a concurrent delete cannot cut the stream short.
        """
        check_range(start, end)
        path = self.path_of(sha256)
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise NotFound("blob not found", sha256=sha256) from exc
        size = os.fstat(handle.fileno()).st_size
        stop = size if end is None else min(end, size)
        return self._stream(handle, start, stop)

    @staticmethod
    def _stream(handle: BinaryIO, start: int, stop: int) -> Iterator[bytes]:
        with handle:
            if start >= stop:
                return
            handle.seek(start)
            remaining = stop - start
            while remaining > 0:
                block = handle.read(min(CHUNK_SIZE, remaining))
                if not block:
                    return
                remaining -= len(block)
                yield block

    def read(self, sha256: str) -> bytes:
        return b"".join(self.open(sha256))

    # ------------------------------------------------------------------------------ management

    def delete(self, sha256: str) -> None:
        self.path_of(sha256).unlink(missing_ok=True)

    def iter_digests(self, written_before: float | None = None) -> Iterator[str]:
        """Every stored digest, found by walking the two fan-out levels (temporary files skipped)."""
        for level1 in _subdirs(self.root):
            if len(level1.name) != 2:
                continue
            for level2 in _subdirs(Path(level1.path)):
                prefix = level1.name + level2.name
                with contextlib.suppress(FileNotFoundError), os.scandir(level2.path) as entries:
                    for entry in entries:
                        if (
                            entry.name.startswith(prefix)
                            and is_digest(entry.name)
                            and entry.is_file(follow_symlinks=False)
                            and (written_before is None or entry.stat().st_mtime < written_before)
                        ):
                            yield entry.name

    def check(self) -> None:
        """Prove the root can take a write: create, fsync and remove a probe file in `.tmp`."""
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix="check-", dir=self._tmp)
            try:
                os.write(fd, b"ok")
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(name)
        except OSError as exc:
            raise _unwritable(exc, root=str(self.root), error=str(exc)) from exc


def _unwritable(exc: OSError, **details: Any) -> StorageUnavailable:
    """A failed write of our own: the disk is full, or the directory is unusable."""
    if is_disk_full(exc):
        return disk_full("a blob", exc)
    return BlobStoreUnavailable("blob directory is not writable", **details)


def _guarded(write: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    try:
        write(*args, **kwargs)
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full("a blob", exc) from exc
        raise BlobStoreUnavailable("could not write blob", error=str(exc)) from exc


def _subdirs(path: Path) -> Iterator[os.DirEntry[str]]:
    """Directories directly under `path` (none when it does not exist), skipping `.tmp`."""
    try:
        with os.scandir(path) as entries:
            found = [e for e in entries if e.is_dir(follow_symlinks=False) and e.name != _TMP_DIR]
    except FileNotFoundError:
        return
    yield from found
