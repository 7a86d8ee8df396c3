"""Downloads: an artifact's files as one zip, mirrored from the upstream on first use, with
exact lengths, strong ETags, conditional requests and byte ranges (resumable downloads)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse

from tmr.api.deps import RegistryDep, UserDep
from tmr.artifacts.models import FileKind
from tmr.artifacts.packages import build_package, parse_range
from tmr.errors import InvalidInput

router = APIRouter(tags=["downloads"])


def parse_parts(parts: str | None) -> set[FileKind] | None:
    if not parts:
        return None
    try:
        return {FileKind(p.strip()) for p in parts.split(",") if p.strip()}
    except ValueError:
        names = ", ".join(k.value for k in FileKind)
        raise InvalidInput(f"parts must be a comma-separated list of: {names}") from None


@router.get("/download/{id}", response_model=None)
def download(
    user: UserDep,
    registry: RegistryDep,
    id: str,
    parts: Annotated[str | None, Query()] = None,
    range_: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    kinds = parse_parts(parts)
    artifact = registry.artifacts.get_any(id)
    artifact = registry.artifacts.ensure_checksums(registry.artifacts.ensure_mirrored(artifact))
    package = build_package(artifact, kinds)
    filename = "".join(c if c.isalnum() or c in "-_." else "_" for c in artifact.name) or artifact.id
    headers = {
        "ETag": package.etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="{filename}.zip"',
        "Cache-Control": "private, max-age=0, must-revalidate",
    }
    digest_key = f"package-sha256:{package.identity}"
    known = registry.store.peek_state(digest_key)
    if known:
        headers["X-Package-SHA256"] = known
        headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(known)).decode()}:"
    if if_none_match and package.etag in {tag.strip() for tag in if_none_match.split(",")} | {"*"}:
        return Response(status_code=304, headers=headers)
    # A Range for another version of the package (If-Range mismatch) gets the whole new one.
    span = parse_range(range_, package.length) if not if_range or if_range.strip() == package.etag else None
    start, end = span or (0, package.length)
    if start == 0:
        registry.artifacts.record(artifact, user, "DOWNLOAD")
    headers["Content-Length"] = str(end - start)
    status = 200
    if span is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{package.length}"
    body = package.read(registry.blobs, start, end)
    if known is None and span is None:
        # The package's sha256 costs a pass over its bytes: taken from the first whole download
        # and kept (keyed by the ETag, which fixes the bytes) for every later response.
        body = _hashing(body, lambda digest: registry.store.state(digest_key, digest))
    return StreamingResponse(body, status_code=status, media_type="application/zip", headers=headers)


def _hashing(chunks: Iterator[bytes], done: Callable[[str], object]) -> Iterator[bytes]:
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk
    done(hasher.hexdigest())  # only reached when every byte was sent
