"""What a download answers, decided once for every door: the plan a view executes.

A plan is the status, the headers and the bytes (or a redirect, or nothing for 304 and HEAD).
Conditional requests and byte ranges (RFC 9110) are decided here, for packages and single files
alike, so the contract's `/download` and the Hugging Face door cannot disagree on them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from tmr.errors import IntegrityError, InvalidInput, RangeNotSatisfiable


def content_disposition(name: str, disposition: str = "attachment") -> str:
    """A Content-Disposition naming `name`: an ASCII fallback for old clients and the exact
    UTF-8 name (RFC 6266), with quotes, backslashes and controls never reaching the header."""
    base = name.rsplit("/", 1)[-1] or "file"
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in base)
    return f"{disposition}; filename=\"{plain}\"; filename*=UTF-8''{quote(base, safe='')}"


_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(header: str | None, length: int) -> tuple[int, int] | None:
    """A single `bytes=` range as [start, end) within `length`; None for the whole representation.
    Several ranges are answered with the whole of it (allowed by RFC 9110); a range that starts
    past the end is 416."""
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
            raise RangeNotSatisfiable(f"range not satisfiable for {length} bytes", length=length)
        return max(0, length - suffix), length
    start = int(first)
    end = min(int(last) + 1, length) if last else length
    if start >= length or (last and int(last) < start):
        raise RangeNotSatisfiable(f"range not satisfiable for {length} bytes", length=length)
    return start, end


@dataclass(frozen=True, slots=True)
class Conditions:
    """The request's conditional and range headers, as sent (None when absent)."""

    range: str | None = None
    if_range: str | None = None
    if_none_match: str | None = None

    def not_modified(self, etag: str) -> bool:
        """If-None-Match names this representation (or `*`): 304."""
        if not self.if_none_match:
            return False
        tags = {tag.strip() for tag in self.if_none_match.split(",")}
        return "*" in tags or etag in tags

    def stale_range(self, etag: str) -> bool:
        """A Range for another version of the representation (If-Range names another ETag): its
        right answer is the whole new representation."""
        return (
            self.range is not None and self.if_range is not None and self.if_range.strip() not in {"", etag}
        )

    def span(self, etag: str, length: int) -> tuple[int, int] | None:
        """The bytes to send as [start, end), or None for all of them."""
        return None if self.stale_range(etag) else parse_range(self.range, length)


@dataclass(frozen=True, slots=True)
class FileSpan:
    """Bytes [start, end) of a local file; `whole` when that is all of it."""

    path: Path
    start: int
    end: int
    whole: bool


@dataclass(frozen=True, slots=True)
class Body:
    """The bytes of an answer. `local`: they come from local disk (cheap to read inline in the
    event loop), not over a network."""

    chunks: Iterator[bytes]
    local: bool
    file: FileSpan | None = None
    """The bytes are this span of a local file: a server that can send a file itself (the ASGI
    zero-copy and path-send extensions) is given the file instead of the chunks."""


@dataclass(frozen=True, slots=True)
class DownloadPlan:
    status: int
    headers: Mapping[str, str]
    media_type: str | None = None
    body: Body | None = None  # None: no content (304, 307, HEAD)

    @property
    def redirect(self) -> str | None:
        """Where a 307 sends the client (its `Location`)."""
        return self.headers.get("Location") if self.status == 307 else None


Reader = Callable[[int, int], Iterator[bytes]]


def serve_bytes(
    length: int,
    headers: Mapping[str, str],
    span: tuple[int, int] | None,
    read: Reader,
    *,
    media_type: str,
    local: bool,
) -> DownloadPlan:
    """200 with all `length` bytes, or 206 with `span` ([start, end), from `Conditions.span`)."""
    start, end = span or (0, length)
    out = {**headers, "Content-Length": str(end - start)}
    if span is not None:
        out["Content-Range"] = f"bytes {start}-{end - 1}/{length}"
    chunks = read(start, end) if end > start else iter(())
    return DownloadPlan(206 if span else 200, out, media_type, Body(chunks, local))


_CHUNK = 1024 * 1024


def read_open_file(handle: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    """Bytes [start, end) of an open file, a chunk at a time; closed when the answer ends (or
    is dropped)."""
    try:
        handle.seek(start)
        left = end - start
        while left > 0:
            chunk = handle.read(min(_CHUNK, left))
            if not chunk:
                raise IntegrityError("a stored package file is shorter than its layout")
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def read_file(path: Path, start: int, end: int) -> Iterator[bytes]:
    """Bytes [start, end) of a local file, opened only when the first chunk is asked for (a
    server that sends the file itself never asks)."""
    yield from read_open_file(path.open("rb"), start, end)


def serve_file(
    path: Path, length: int, headers: Mapping[str, str], span: tuple[int, int] | None, *, media_type: str
) -> DownloadPlan:
    """`serve_bytes` over a local file holding exactly the `length` bytes, naming the file and
    the span so that the server may send it itself."""
    plan = serve_bytes(
        length,
        headers,
        span,
        lambda start, end: read_file(path, start, end),
        media_type=media_type,
        local=True,
    )
    if plan.body is None:
        return plan
    start, end = span or (0, length)
    return replace(plan, body=Body(plan.body.chunks, True, FileSpan(path, start, end, span is None)))
