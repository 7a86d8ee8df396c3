"""HTTP helpers shared by the Hub and GitHub routes: JSON, byte ranges, file bodies and Link pagination."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tests.emulator.blobs import Blob

JSON_TYPE = "application/json; charset=utf-8"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact JSON like the real services (no trailing newline, UTF-8)."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, status, headers=headers, media_type=JSON_TYPE)


def truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes", "on")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Return the inclusive byte range of a single-range header, None to serve the whole file.

    Raises ValueError when the range cannot be satisfied (caller answers 416). Multi-range and malformed
    headers are ignored (a full 200 response is allowed by RFC 9110).
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0:
            raise ValueError("empty suffix range")
        return max(0, size - suffix), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise ValueError("range not satisfiable")
    return start, end


def blob_response(
    request: Request, blob: Blob, headers: dict[str, str], media_type: str = "application/octet-stream"
) -> Response:
    """Serve a blob honouring HEAD and single `Range` requests (206 / 416), streaming large content."""
    headers = {**headers, "Accept-Ranges": "bytes"}
    try:
        span = parse_range(request.headers.get("range"), blob.size)
    except ValueError:
        return Response(b"", 416, headers={**headers, "Content-Range": f"bytes */{blob.size}"})
    status, start, end = 200, 0, blob.size
    if span is not None:
        status, start, end = 206, span[0], span[1] + 1
        headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{blob.size}"
    headers["Content-Length"] = str(end - start)
    if request.method == "HEAD":
        return Response(None, status, headers=headers, media_type=media_type)
    if end - start <= 1 << 20:
        return Response(b"".join(blob.iter_range(start, end)), status, headers=headers, media_type=media_type)
    return StreamingResponse(blob.iter_range(start, end), status, headers=headers, media_type=media_type)


def page_params(request: Request, default: int = 30, maximum: int = 100) -> tuple[int, int]:
    """(page, per_page) from the query string, clamped like GitHub (invalid values fall back to defaults)."""
    try:
        per_page = int(request.query_params.get("per_page", default))
    except ValueError:
        per_page = default
    try:
        page = int(request.query_params.get("page", 1))
    except ValueError:
        page = 1
    return max(1, page), min(max(1, per_page), maximum)


def page_url(request: Request, **params: str | int) -> str:
    query = dict(request.query_params)
    query.update({k: str(v) for k, v in params.items()})
    return str(request.url.replace_query_params(**query))


def paginate(request: Request, items: list[Any], default: int = 30) -> tuple[list[Any], dict[str, str]]:
    """Slice `items` for ?page/per_page and build a GitHub-style Link header (next/last/first/prev)."""
    page, per_page = page_params(request, default)
    last = max(1, -(-len(items) // per_page))
    links = []
    if page < last:
        links += [
            f'<{page_url(request, page=page + 1, per_page=per_page)}>; rel="next"',
            f'<{page_url(request, page=last, per_page=per_page)}>; rel="last"',
        ]
    if page > 1:
        links += [
            f'<{page_url(request, page=min(page - 1, last), per_page=per_page)}>; rel="prev"',
            f'<{page_url(request, page=1, per_page=per_page)}>; rel="first"',
        ]
    headers = {"Link": ", ".join(links)} if links else {}
    return items[(page - 1) * per_page : page * per_page], headers
