"""A stored (uncompressed) zip whose every byte is known before any is read.

With each file's size and CRC-32 recorded when its bytes were stored, the headers of the zip
can be written up front, so the archive is a fixed sequence of segments: header bytes and blob
byte ranges. Any byte range of the package then maps straight onto those segments, which gives
an exact Content-Length, HTTP Range requests and resumed downloads without re-reading what the
client already has. Zip64 records are used where sizes, offsets or counts need them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

_LOCAL = 0x04034B50
_CENTRAL = 0x02014B50
_END = 0x06054B50
_END64 = 0x06064B50
_LOCATOR64 = 0x07064B50
_MAX32 = 0xFFFFFFFF
_MAX16 = 0xFFFF
_DOS_DATE = 0x0021  # 1980-01-01: a fixed stamp keeps the bytes a function of the content alone
_UTF8 = 0x0800
_FILE_MODE = 0o100644 << 16


@dataclass(frozen=True, slots=True)
class ZipEntry:
    name: str
    size: int
    crc32: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Segment:
    """`length` bytes at `offset`: either literal header bytes or a blob's whole content."""

    offset: int
    length: int
    data: bytes | None = None
    sha256: str | None = None


def _zip64_extra(*values: int) -> bytes:
    return struct.pack("<HH", 0x0001, 8 * len(values)) + b"".join(struct.pack("<Q", v) for v in values)


def _local_header(entry: ZipEntry, name: bytes, zip64: bool) -> bytes:
    size32 = _MAX32 if zip64 else entry.size
    extra = _zip64_extra(entry.size, entry.size) if zip64 else b""
    return (
        struct.pack(
            "<IHHHHHIIIHH",
            _LOCAL,
            45 if zip64 else 20,
            _UTF8,
            0,
            0,
            _DOS_DATE,
            entry.crc32,
            size32,
            size32,
            len(name),
            len(extra),
        )
        + name
        + extra
    )


def _central_header(entry: ZipEntry, name: bytes, offset: int, zip64: bool) -> bytes:
    big_size = zip64 or entry.size >= _MAX32
    big_offset = zip64 or offset >= _MAX32
    values = ([entry.size, entry.size] if big_size else []) + ([offset] if big_offset else [])
    extra = _zip64_extra(*values) if values else b""
    return (
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            _CENTRAL,
            0x0300 | (45 if values else 20),
            45 if values else 20,
            _UTF8,
            0,
            0,
            _DOS_DATE,
            entry.crc32,
            _MAX32 if big_size else entry.size,
            _MAX32 if big_size else entry.size,
            len(name),
            len(extra),
            0,
            0,
            0,
            _FILE_MODE,
            _MAX32 if big_offset else offset,
        )
        + name
        + extra
    )


def _end_records(count: int, cd_offset: int, cd_size: int, force_zip64: bool) -> bytes:
    zip64 = force_zip64 or count >= _MAX16 or cd_offset >= _MAX32 or cd_size >= _MAX32
    records = b""
    if zip64:
        end64_offset = cd_offset + cd_size
        records += struct.pack("<IQHHIIQQQQ", _END64, 44, 45, 45, 0, 0, count, count, cd_size, cd_offset)
        records += struct.pack("<IIQI", _LOCATOR64, 0, end64_offset, 1)
    records += struct.pack(
        "<IHHHHIIH",
        _END,
        0,
        0,
        min(count, _MAX16),
        min(count, _MAX16),
        min(cd_size, _MAX32),
        min(cd_offset, _MAX32),
        0,
    )
    return records


def layout(entries: Sequence[ZipEntry], force_zip64: bool = False) -> tuple[list[Segment], int]:
    """The package as segments, and its total length in bytes."""
    segments: list[Segment] = []
    central: list[bytes] = []
    offset = 0
    for entry in entries:
        name = entry.name.encode("utf-8")
        zip64 = force_zip64 or entry.size >= _MAX32
        header = _local_header(entry, name, zip64)
        central.append(_central_header(entry, name, offset, zip64 or offset >= _MAX32))
        segments.append(Segment(offset, len(header), data=header))
        offset += len(header)
        if entry.size:
            segments.append(Segment(offset, entry.size, sha256=entry.sha256))
            offset += entry.size
    directory = b"".join(central)
    tail = directory + _end_records(len(entries), offset, len(directory), force_zip64)
    segments.append(Segment(offset, len(tail), data=tail))
    return segments, offset + len(tail)


def read_range(
    segments: Sequence[Segment],
    start: int,
    end: int,
    open_blob: Callable[[str, int, int], Iterator[bytes]],
    *,
    eager: bool = False,
) -> Iterator[bytes]:
    """Bytes [start, end) of the package: header slices and blob ranges, nothing before `start`.

    With `eager`, the first blob in the range is opened before this returns (S3: its GET is
    sent), so a store that cannot serve it fails the request before any byte is promised: a 503
    naming the blob store, not a 200 cut after its headers."""
    wanted = [
        (
            segment,
            max(start, segment.offset) - segment.offset,
            min(end, segment.offset + segment.length) - segment.offset,
        )
        for segment in segments
        if segment.offset + segment.length > start and segment.offset < end
    ]
    first = (
        next((i for i, (segment, _, _) in enumerate(wanted) if segment.data is None), None) if eager else None
    )
    opened = None
    if first is not None:
        segment, lo, hi = wanted[first]
        assert segment.sha256 is not None
        opened = open_blob(segment.sha256, lo, hi)
    return _read(wanted, open_blob, first, opened)


def _read(
    wanted: Sequence[tuple[Segment, int, int]],
    open_blob: Callable[[str, int, int], Iterator[bytes]],
    first: int | None,
    opened: Iterator[bytes] | None,
) -> Iterator[bytes]:
    for index, (segment, lo, hi) in enumerate(wanted):
        if segment.data is not None:
            yield segment.data[lo:hi]
        elif index == first and opened is not None:
            yield from opened
        elif segment.sha256 is not None:
            yield from open_blob(segment.sha256, lo, hi)
