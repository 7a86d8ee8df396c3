"""Packages: an artifact's files (or some kinds of them) as one stored zip with a fixed layout.

The bytes are a pure function of the files' names, sizes, CRC-32s and contents, so the digest of
that description is a strong ETag, and any byte range can be served without the bytes before it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from tmr.artifacts.models import Artifact, FileKind
from tmr.artifacts.ziplayout import Segment, ZipEntry, layout, read_range
from tmr.errors import IntegrityError, InvalidInput, RangeNotSatisfiable
from tmr.storage.blobs.base import BlobStore


@dataclass(frozen=True, slots=True)
class Package:
    segments: list[Segment]
    length: int
    etag: str  # quoted, strong

    @property
    def identity(self) -> str:
        """The ETag without quotes: names these exact bytes."""
        return self.etag.strip('"')

    def read(self, blobs: BlobStore, start: int, end: int) -> Iterator[bytes]:
        return read_range(self.segments, start, end, blobs.open)


def build_package(artifact: Artifact, kinds: Iterable[FileKind] | None = None) -> Package:
    wanted = set(kinds) if kinds is not None else None
    entries = []
    for file in artifact.files:
        if wanted is not None and file.kind not in wanted:
            continue
        if file.sha256 is None or file.crc32 is None:
            raise IntegrityError(f"{file.path} has not been mirrored")
        entries.append(ZipEntry(file.path, file.size, file.crc32, file.sha256))
    segments, length = layout(entries)
    description = "\n".join(f"{e.name}\0{e.size}\0{e.crc32}\0{e.sha256}" for e in entries)
    return Package(segments, length, '"' + hashlib.sha256(description.encode()).hexdigest() + '"')


_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(header: str | None, length: int) -> tuple[int, int] | None:
    """A single `bytes=` range as [start, end) within `length`; None for the whole package.
    Several ranges are answered with the whole package (allowed by RFC 9110); a range that
    starts past the end is 416."""
    if header is None or "," in header:
        return None
    match = _RANGE.match(header)
    if match is None:
        raise InvalidInput(f"malformed Range header: {header!r}")
    first, last = match.groups()
    if not first and not last:
        raise InvalidInput(f"malformed Range header: {header!r}")
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable(f"range not satisfiable for a package of {length} bytes", length=length)
        return max(0, length - suffix), length
    start = int(first)
    end = min(int(last) + 1, length) if last else length
    if start >= length or (last and int(last) < start):
        raise RangeNotSatisfiable(f"range not satisfiable for a package of {length} bytes", length=length)
    return start, end
