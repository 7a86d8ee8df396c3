"""Zip uploads: spooled to disk, validated, then exploded into content-addressed blobs.

An upload is hostile until proven otherwise, and can be far larger than memory. So the stream is
spooled to a temporary file with a hard byte limit (reading stops at the first byte too many),
the central directory is checked before any entry is decompressed, and every entry is streamed
in chunks into the blob store while its actual decompressed size is counted: a zip bomb whose
headers lie is stopped mid-stream, not after it has filled the disk.

Decisions:
- Ratio limits apply only to entries (and archives) larger than `ratio_floor_bytes`: a tiny
  very compressible file (an empty-ish JSON, `.gitattributes`) is not a bomb.
- When every file sits under one top-level folder (`my-model/config.json`), that folder is
  stripped: zipping a folder is the common habit, and the registry stores the Hugging Face
  layout from its root. `__MACOSX/` resource forks are dropped before that decision.
- Sizes over a limit are PayloadTooLarge (413); everything malformed or suspicious (paths,
  symlinks, encryption, ratios, headers that disagree with the data) is InvalidInput (400).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import struct
import tempfile
import zipfile
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from tmr.artifacts.filekinds import classify
from tmr.artifacts.models import FileKind
from tmr.errors import (
    DiskUnavailable,
    InvalidInput,
    PayloadTooLarge,
    StorageUnavailable,
    disk_full,
    is_disk_full,
)

CHUNK_SIZE = 1024 * 1024
GiB = 1024**3
_SUPPORTED_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_CORRUPT = (zipfile.BadZipFile, EOFError, ValueError, struct.error, NotImplementedError)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"[A-Za-z]:")
_JUNK_FOLDERS = {"__MACOSX"}


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """Bounds on one upload. `max_entry_bytes` defaults to 4 times the upload limit (capped by the
    total): weights barely compress, so a legitimate entry is rarely much bigger than the zip."""

    max_upload_bytes: int = 5 * GiB
    max_entries: int = 10_000
    max_entry_bytes: int | None = None
    max_total_uncompressed: int = 20 * GiB
    max_ratio: int = 100
    ratio_floor_bytes: int = 1024 * 1024
    max_path_length: int = 1024

    @property
    def entry_bytes(self) -> int:
        if self.max_entry_bytes is not None:
            return self.max_entry_bytes
        return min(self.max_upload_bytes * 4, self.max_total_uncompressed)


@dataclass(slots=True)
class SpooledUpload:
    """The upload on disk. Use it as a context manager (or call `discard`) to remove the file."""

    path: Path
    size: int
    sha256: str

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> SpooledUpload:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.discard()


@dataclass(frozen=True, slots=True)
class ZipMember:
    """A file entry that passed validation: `path` is where it lands, `name` its name in the zip."""

    path: str
    name: str
    size: int
    compressed_size: int
    crc32: int  # checked by zipfile as the entry is read; stored for the registry's own zips


@dataclass(frozen=True, slots=True)
class ExplodedFile:
    path: str
    size: int
    sha256: str
    crc32: int | None  # None for bytes that arrived outside a zip (a Hub push's LFS objects):
    # measured later, like any stored file without one (FileMirror._with_checksums)
    kind: FileKind = field(default=FileKind.OTHER)


class Spooler:
    """Writes a stream to a temporary file, hashing it, and stops at the first byte over the
    limit. Fed chunk by chunk, so a sync iterator and an async request body share it."""

    def __init__(self, limits: UploadLimits, tmp_dir: Path | None = None) -> None:
        self._limit = limits.max_upload_bytes
        self._digest = hashlib.sha256()
        self._size = 0
        try:
            fd, name = tempfile.mkstemp(prefix="tmr-upload-", suffix=".zip", dir=tmp_dir)
        except OSError as exc:
            raise _spool_failed(exc) from exc
        self.path = Path(name)
        self._out = os.fdopen(fd, "wb")

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._limit:
            raise PayloadTooLarge("upload exceeds the size limit", limit=self._limit)
        self._digest.update(chunk)
        try:
            self._out.write(chunk)
        except OSError as exc:
            raise _spool_failed(exc) from exc

    def finish(self) -> SpooledUpload:
        try:
            self._out.close()
        except OSError as exc:
            raise _spool_failed(exc) from exc
        if self._size == 0:
            raise InvalidInput("the upload is empty")
        return SpooledUpload(self.path, self._size, self._digest.hexdigest())

    def abort(self) -> None:
        with contextlib.suppress(OSError):  # buffered bytes that no longer fit: dropped anyway
            self._out.close()
        self.path.unlink(missing_ok=True)


def _spool_failed(exc: OSError) -> StorageUnavailable:
    """The spool folder is full (DiskFull, 503 naming the disk) or unusable."""
    if is_disk_full(exc):
        return disk_full("an upload", exc)
    return DiskUnavailable(f"the upload could not be spooled: {exc}")


def spool_upload(chunks: Iterable[bytes], limits: UploadLimits, tmp_dir: Path | None = None) -> SpooledUpload:
    """Write the stream to a temporary file, hashing it; stop at the first byte over the limit."""
    spooler = Spooler(limits, tmp_dir)
    try:
        for chunk in chunks:
            spooler.feed(chunk)
        return spooler.finish()
    except BaseException:
        spooler.abort()
        raise


async def spool_upload_async(
    chunks: AsyncIterable[bytes], limits: UploadLimits, tmp_dir: Path | None = None
) -> SpooledUpload:
    """`spool_upload` for a request body read by the event loop (the writes are small and local)."""
    spooler = Spooler(limits, tmp_dir)
    try:
        async for chunk in chunks:
            spooler.feed(chunk)
        return spooler.finish()
    except BaseException:
        spooler.abort()
        raise


def _entry_path(info: zipfile.ZipInfo, limits: UploadLimits) -> list[str]:
    """The entry's path components, or InvalidInput when the name could escape or mislead."""
    raw = info.orig_filename
    shown = raw[:200]
    if len(raw) > limits.max_path_length:
        raise InvalidInput("zip entry path is too long", path=shown, limit=limits.max_path_length)
    if _CONTROL.search(raw):
        raise InvalidInput("zip entry name contains NUL or control characters", path=shown)
    if "\\" in raw:
        raise InvalidInput("zip entry name uses backslashes", path=shown)
    if raw.startswith("/") or _DRIVE.match(raw):
        raise InvalidInput("zip entry has an absolute path", path=shown)
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InvalidInput("zip entry path contains '..'", path=shown)
    if not parts and not info.is_dir():
        raise InvalidInput("zip entry has an empty name", path=shown)
    return parts


def _check_entry(info: zipfile.ZipInfo, limits: UploadLimits) -> None:
    name = info.orig_filename[:200]
    if stat.S_ISLNK(info.external_attr >> 16):
        raise InvalidInput("zip entry is a symbolic link", path=name)
    if info.flag_bits & 0x1:
        raise InvalidInput("zip entry is encrypted", path=name)
    if info.compress_type not in _SUPPORTED_METHODS:
        raise InvalidInput("zip entry uses an unsupported compression method", path=name)
    if info.file_size > limits.entry_bytes:
        raise PayloadTooLarge("zip entry is too large", path=name, limit=limits.entry_bytes)
    if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(
        info.compress_size, 1
    ):
        raise InvalidInput("zip entry compression ratio is too high (zip bomb?)", path=name)


def validate_zip(path: Path, limits: UploadLimits) -> list[ZipMember]:
    """Check the central directory and return the file entries, without decompressing any."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except _CORRUPT as exc:
        raise InvalidInput(f"not a readable zip archive: {exc}") from None
    if len(infos) > limits.max_entries:
        raise PayloadTooLarge("zip has too many entries", entries=len(infos), limit=limits.max_entries)
    files: list[tuple[list[str], zipfile.ZipInfo]] = []
    total = 0
    for info in infos:
        parts = _entry_path(info, limits)
        _check_entry(info, limits)
        if info.is_dir() or (parts and parts[0] in _JUNK_FOLDERS):
            continue
        total += info.file_size
        files.append((parts, info))
    if total > limits.max_total_uncompressed:
        raise PayloadTooLarge("zip expands beyond the size limit", limit=limits.max_total_uncompressed)
    if total > limits.ratio_floor_bytes and total > limits.max_ratio * max(path.stat().st_size, 1):
        raise InvalidInput("zip compression ratio is too high (zip bomb?)")
    if not files:
        raise InvalidInput("zip contains no files")
    tops = {parts[0] for parts, _ in files}
    if len(tops) == 1 and all(len(parts) > 1 for parts, _ in files):
        files = [(parts[1:], info) for parts, info in files]
    members: list[ZipMember] = []
    seen: set[str] = set()
    folders: set[str] = set()
    for parts, info in files:
        member_path = "/".join(parts)
        if member_path in seen:
            raise InvalidInput("zip has duplicate entries", path=member_path[:200])
        seen.add(member_path)
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
        members.append(ZipMember(member_path, info.filename, info.file_size, info.compress_size, info.CRC))
    clash = seen & folders
    if clash:
        raise InvalidInput("zip entry is both a file and a folder", path=min(clash)[:200])
    return members


def _counted(
    source: IO[bytes], member: ZipMember, limits: UploadLimits, budget: list[int]
) -> Iterator[bytes]:
    """The entry's bytes in chunks, stopping as soon as the data outgrows what was declared."""
    count = 0
    while True:
        try:
            chunk = source.read(CHUNK_SIZE)
        except _CORRUPT as exc:
            raise InvalidInput(f"zip entry is corrupt: {exc}", path=member.path[:200]) from None
        if not chunk:
            break
        count += len(chunk)
        budget[0] -= len(chunk)
        if count > member.size:
            raise InvalidInput("zip entry decompresses past its declared size", path=member.path[:200])
        if count > limits.entry_bytes or budget[0] < 0:
            raise PayloadTooLarge("zip entry expands beyond the size limit", path=member.path[:200])
        if count > limits.ratio_floor_bytes and count > limits.max_ratio * max(member.compressed_size, 1):
            raise InvalidInput("zip entry compression ratio is too high (zip bomb?)", path=member.path[:200])
        yield chunk
    if count != member.size:
        raise InvalidInput("zip entry is shorter than its declared size", path=member.path[:200])


def explode(
    path: Path,
    members: Iterable[ZipMember],
    put_stream: Callable[[Iterable[bytes]], tuple[str, int]],
    limits: UploadLimits,
) -> list[ExplodedFile]:
    """Stream each member into `put_stream` (the blob store's, adapted to return (sha256, size)),
    so identical bytes become one blob whoever shares them."""
    budget = [limits.max_total_uncompressed]
    exploded: list[ExplodedFile] = []
    try:
        archive = zipfile.ZipFile(path)
    except _CORRUPT as exc:
        raise InvalidInput(f"not a readable zip archive: {exc}") from None
    with archive:
        for member in members:
            try:
                source = archive.open(member.name)
            except (*_CORRUPT, KeyError) as exc:
                raise InvalidInput(f"zip entry is unreadable: {exc}", path=member.path[:200]) from None
            with source:
                sha256, size = put_stream(_counted(source, member, limits, budget))
            if size != member.size:
                raise InvalidInput("zip entry size does not match its header", path=member.path[:200])
            exploded.append(ExplodedFile(member.path, size, sha256, member.crc32, classify(member.path)))
    return exploded
