"""Streaming stored bytes to a client, the way that keeps a worker fastest for each blob store.

A blob on local disk is read in the event loop itself (a 1 MiB read from the page cache costs
less than handing the iterator to a worker thread and back for every chunk, and holds one chunk
per connection instead of two). Measured with `./run bench download`: 689 → 1,009-1,212 MB/s on
one worker, and peak memory 295 → 156-207 MiB with 100 connections. The loop yields after each
chunk, so one fast client cannot hold it. A blob from S3 is a network read: it stays in the
thread pool, where a slow response cannot stall the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping

from fastapi.responses import StreamingResponse

from tmr.storage.blobs.base import BlobStore


async def _inline(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0)


def stream(
    blobs: BlobStore, chunks: Iterator[bytes], status_code: int, media_type: str, headers: Mapping[str, str]
) -> StreamingResponse:
    body: Iterator[bytes] | AsyncIterator[bytes] = _inline(chunks) if blobs.local else chunks
    return StreamingResponse(body, status_code=status_code, media_type=media_type, headers=headers)
