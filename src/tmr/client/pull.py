"""A package pulled to a file, resumable and checked.

The bytes go to `FILE.part`, and what the registry said about them (its ETag and sha256) to
`FILE.part.json`, before the first byte. A pull that finds both asks only for the rest
(`Range: bytes=N-`) and only if the package is still the same (`If-Range: <ETag>`); a changed
package comes back whole (200) and replaces the partial one. The finished file is hashed
(the partial bytes first, then the rest as it arrives) and compared with `X-Package-SHA256`
before it is renamed to FILE: a file by the final name is always a whole, checked package."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from tmr.client.errors import ClientError, ExitCode
from tmr.client.http import RegistryClient, refusal, segment

CHUNK = 1 << 20
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


@dataclass(frozen=True)
class Pulled:
    path: Path
    size: int
    sha256: str
    verified: bool  # False only when the registry announced no digest (see docs/using.md)
    resumed_from: int  # bytes kept from an earlier, cut pull (0: from the start)
    unsafe_files: str | None


@dataclass(frozen=True)
class Request:
    artifact_id: str
    parts: str | None = None
    allow_unsafe: bool = False

    def params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.parts:
            params["parts"] = self.parts
        if self.allow_unsafe:
            params["allow_unsafe"] = "true"
        return params

    def key(self) -> dict[str, Any]:
        return {"artifact_id": self.artifact_id, "parts": self.parts, "allow_unsafe": self.allow_unsafe}


class _Partial:
    """FILE.part and FILE.part.json."""

    def __init__(self, dest: Path, request: Request) -> None:
        self.data = dest.with_name(dest.name + ".part")
        self.state = dest.with_name(dest.name + ".part.json")
        self.request = request

    def resumable(self) -> tuple[int, str] | None:
        """The bytes kept and the ETag they belong to, when a partial pull of this request exists."""
        try:
            state = json.loads(self.state.read_text(encoding="utf-8"))
            size = self.data.stat().st_size
        except (OSError, ValueError):
            return None
        if not isinstance(state, dict) or state.get("request") != self.request.key():
            return None
        etag = state.get("etag")
        return (size, etag) if isinstance(etag, str) and etag and size > 0 else None

    def begin(self, etag: str | None) -> None:
        self.state.write_text(json.dumps({"request": self.request.key(), "etag": etag}), encoding="utf-8")

    def discard(self) -> None:
        for path in (self.data, self.state):
            path.unlink(missing_ok=True)


def pull(
    client: RegistryClient,
    request: Request,
    dest: Path,
    on_progress: Callable[[int, int | None], object] = lambda _done, _total: None,
) -> Pulled:
    """Download `request` to `dest`; `on_progress(bytes so far, total or None)` as it goes."""
    partial = _Partial(dest, request)
    for _attempt in range(2):  # a second time only after a 416 on a partial file that was too long
        kept = partial.resumable()
        if kept is None:
            partial.discard()
        headers = {"Range": f"bytes={kept[0]}-", "If-Range": kept[1]} if kept else {}
        path = f"/download/{segment(request.artifact_id)}"
        with client.stream(path, params=request.params(), headers=headers) as response:
            if response.status_code == 416 and kept:
                response.read()
                partial.discard()
                continue
            with _followed(response, headers) as (body, announced):
                return _received(body, announced, partial, dest, kept, on_progress)
    raise ClientError("the registry keeps refusing the range of a partial download", ExitCode.GENERIC)


@contextlib.contextmanager
def _followed(
    response: httpx.Response, headers: dict[str, str]
) -> Iterator[tuple[httpx.Response, httpx.Headers]]:
    """The answer that carries the bytes, and the registry's own headers (ETag, digest, unsafe
    files): a presigned redirect's target is fetched without the token and without If-Range,
    which the registry has already checked before redirecting."""
    if response.status_code in (301, 302, 303, 307, 308) and "location" in response.headers:
        plain = {k: v for k, v in headers.items() if k == "Range"}
        with RegistryClient.elsewhere(response.headers["location"], plain) as target:
            yield target, response.headers
        return
    yield response, response.headers


def _received(
    response: httpx.Response,
    announced: httpx.Headers,
    partial: _Partial,
    dest: Path,
    kept: tuple[int, str] | None,
    on_progress: Callable[[int, int | None], object],
) -> Pulled:
    if response.status_code not in (200, 206):
        response.read()
        raise refusal(response)
    hasher = hashlib.sha256()
    if response.status_code == 206 and kept:
        try:
            start, total = _range_of(response, kept[0])
        except ClientError:
            partial.discard()  # the next run starts over rather than trip on the same answer
            raise
        with partial.data.open("rb") as existing:
            while chunk := existing.read(CHUNK):
                hasher.update(chunk)
        mode, offset = "ab", start
    else:  # the whole package: first pull, or the package changed since the partial one
        length = response.headers.get("content-length")
        total = int(length) if length and length.isdigit() else None
        partial.discard()
        mode, offset = "wb", 0
    partial.begin(announced.get("etag"))
    with partial.data.open(mode) as out:
        done = _copy(response, out, hasher, offset, total, on_progress)
    if total is not None and done != total:
        raise _cut(done, total)
    sha256 = hasher.hexdigest()
    expected = announced.get("x-package-sha256")
    if expected and expected.lower() != sha256:
        partial.discard()
        raise ClientError(
            f"the package's sha256 is {sha256}, not the {expected} the registry announced: discarded",
            ExitCode.INTEGRITY,
        )
    partial.data.replace(dest)
    partial.state.unlink(missing_ok=True)
    return Pulled(dest, done, sha256, bool(expected), offset, announced.get("x-unsafe-files"))


def _range_of(response: httpx.Response, asked: int) -> tuple[int, int | None]:
    match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
    if match is None or int(match.group(1)) != asked:
        raise ClientError("the registry answered a range other than the one asked for", ExitCode.GENERIC)
    return asked, None if match.group(3) == "*" else int(match.group(3))


def _copy(
    response: httpx.Response,
    out: IO[bytes],
    hasher: Any,
    offset: int,
    total: int | None,
    on_progress: Callable[[int, int | None], object],
) -> int:
    done = offset
    on_progress(done, total)
    try:
        for chunk in response.iter_bytes():  # as it arrives: a cut keeps every byte received
            out.write(chunk)
            hasher.update(chunk)
            done += len(chunk)
            on_progress(done, total)
    except httpx.TransportError:
        out.flush()
        raise _cut(done, total) from None
    return done


def _cut(done: int, total: int | None) -> ClientError:
    of = f" of {total}" if total is not None else ""
    return ClientError(
        f"the download was cut after {done}{of} bytes; run the same command again to resume",
        ExitCode.UNAVAILABLE,
    )
