"""A download plan executed as an HTTP response, the way that keeps a worker fastest.

Bytes from local disk are read in the event loop itself (a 1 MiB read from the page cache costs
less than handing the iterator to a worker thread and back for every chunk, and holds one chunk
per connection instead of two). Measured with `./run bench download`: 689 → 1,009-1,212 MB/s on
one worker, and peak memory 295 → 156-207 MiB with 100 connections. The loop yields after each
chunk, so one fast client cannot hold it. Bytes from S3 are a network read: they stay in the
thread pool, where a slow response cannot stall the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

from fastapi import Response
from fastapi.responses import StreamingResponse

from tmr.downloads.plan import DownloadPlan


async def _inline(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0)


def respond(plan: DownloadPlan) -> Response:
    """The plan's status and headers, with its bytes streamed (none for 304, 307 and HEAD)."""
    if plan.body is None:
        return Response(status_code=plan.status, headers=dict(plan.headers), media_type=plan.media_type)
    chunks = plan.body.chunks
    body: Iterator[bytes] | AsyncIterator[bytes] = _inline(chunks) if plan.body.local else chunks
    return StreamingResponse(body, status_code=plan.status, media_type=plan.media_type, headers=plan.headers)
