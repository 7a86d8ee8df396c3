"""A folder as a zip, produced while it is sent: entries are written to a sink that the upload
drains chunk by chunk, so neither the zip nor a file is ever whole in memory or on disk.

Entries are stored, not deflated: weights do not compress, deflating costs the CPU more than the
network saves, and a stored entry can never trip the registry's expansion-ratio limit. Names are
sorted and dated 1980-01-01, so the same files make the same zip, and the registry recognises a
second push of unchanged files (409 naming the first upload), and a resumed push can make the
stream again and skip what the registry holds. The zip's length is known before any file is read
(`zip_length`), which a resumable upload declares first."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tmr.client.errors import ClientError, ExitCode

CHUNK = 1 << 20
SKIPPED_FOLDERS = frozenset({".git", "__pycache__"})
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class FolderFile:
    name: str  # the zip entry's name: a relative POSIX path
    path: Path
    size: int
    mtime_ns: int = 0  # part of a push's fingerprint: a changed file is a new push


def folder_files(root: Path) -> list[FolderFile]:
    """The folder's files, sorted; symbolic links to files are followed (a `snapshot_download`
    folder is made of them), links to folders and `.git` are not."""
    if not root.is_dir():
        raise ClientError(f"{root} is not a folder", ExitCode.USAGE)
    found: list[FolderFile] = []
    for current, folders, names in os.walk(root):
        folders[:] = sorted(f for f in folders if f not in SKIPPED_FOLDERS)
        for name in names:
            path = Path(current) / name
            if path.is_file():
                info = path.stat()
                found.append(
                    FolderFile(path.relative_to(root).as_posix(), path, info.st_size, info.st_mtime_ns)
                )
    if not found:
        raise ClientError(f"{root} holds no files to push", ExitCode.USAGE)
    return sorted(found, key=lambda f: f.name)


class _Sink(io.RawIOBase):
    """An unseekable file that keeps what zipfile writes until it is drained."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> Iterator[bytes]:
        chunks, self._chunks = self._chunks, []
        yield from chunks


def zipped(files: list[FolderFile], on_read: Callable[[int], object] = lambda _n: None) -> Iterator[bytes]:
    """The zip of `files`, chunk by chunk; `on_read` is told how many bytes of each file were read."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for file in files:
            info = zipfile.ZipInfo(file.name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            info.file_size = file.size  # zipfile picks zip64 headers from it, before any byte
            try:
                source = file.path.open("rb")
            except OSError as exc:
                raise ClientError(f"cannot read {file.path}: {exc.strerror}", ExitCode.GENERIC) from None
            with source, archive.open(info, "w") as entry:
                while chunk := _read(source, file.path):
                    entry.write(chunk)
                    on_read(len(chunk))
                    yield from sink.drain()
            yield from sink.drain()
    yield from sink.drain()


def _read(source: BinaryIO, path: Path) -> bytes:
    """The next chunk; a file that cannot be read stops the push with its name (the registry,
    seeing the body end early, stores nothing)."""
    try:
        return source.read(CHUNK)
    except OSError as exc:
        raise ClientError(f"cannot read {path}: {exc.strerror}", ExitCode.GENERIC) from None


def zip_length(files: Sequence[FolderFile]) -> int:
    """The exact length of `zipped(files)`, from the names and sizes alone (no file is read).

    The layout is zipfile's for stored entries written to a stream it cannot seek: per entry a
    local header (30 bytes, the name, and a 20-byte zip64 field when the size is near 2 GiB or
    more), the bytes, a data descriptor (16 bytes; 24 with zip64); then a central directory entry
    per file (46 bytes, the name, and a zip64 field of 8 bytes per value over zipfile's limit: the
    sizes, the header's offset); then, when the count, the directory's offset or its size is over
    the limits, the zip64 end records (56 + 20 bytes), and the end record (22 bytes). The tests
    compare it with the stream itself, zip64 cases included."""
    limit, count_limit = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    offset = central = 0
    for file in files:
        name = _encoded(file.name)
        local64 = file.size * 1.05 > limit  # zipfile's own test, headroom for compression included
        fields = (2 if file.size > limit else 0) + (1 if offset > limit else 0)
        offset += 30 + len(name) + (20 if local64 else 0) + file.size + (24 if local64 else 16)
        central += 46 + len(name) + (4 + 8 * fields if fields else 0)
    end = 22
    if len(files) > count_limit or offset > limit or central > limit:
        end += 56 + 20
    return offset + central + end


def _encoded(name: str) -> bytes:
    """An entry's name as zipfile writes it: ASCII when it can, else UTF-8 (with a flag)."""
    try:
        return name.encode("ascii")
    except UnicodeEncodeError:
        return name.encode("utf-8")
