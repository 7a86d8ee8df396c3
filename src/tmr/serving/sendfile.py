"""uvicorn's HTTP protocol taught the ASGI file-sending extensions, so the kernel sends packages.

uvicorn gives an ASGI app no way to send a file other than passing its bytes through Python: a
read into a buffer, a copy into the transport, a copy into the socket. nginx moves the same bytes
with `sendfile(2)`, which never brings them into user space, and that difference was most of
the gap between the two in `./run bench download` (docs/performance.md). `SendfileProtocol` is
uvicorn's httptools protocol that offers the app `http.response.pathsend` and
`http.response.zerocopysend` (the ASGI extensions granian and others implement) and answers them
with `loop.sendfile`, which on asyncio's selector loop is `os.sendfile` on the connection's socket.
Everything else about a request (parsing, headers, keep-alive, flow control, completion) stays
uvicorn's: the headers go through uvicorn's own `send`, the file's bytes bypass it, and an empty
final body message lets uvicorn check the length and complete the response as it always does.

The extensions are offered only on a loop whose `sendfile` exists (asyncio's; uvloop has none),
so `tmr serve` runs uvicorn on the asyncio loop with this protocol.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import ExitStack
from typing import Any, BinaryIO

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from tmr.serving.extensions import PATHSEND, ZEROCOPYSEND

Message = MutableMapping[str, Any]
Sender = Callable[[Any], Awaitable[None]]


def offers_sendfile(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether `loop.sendfile` is implemented (asyncio's loops; uvloop raises NotImplementedError)."""
    return isinstance(loop, asyncio.BaseEventLoop)


class SendfileProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol whose requests may end in a file the kernel sends."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if offers_sendfile(self.loop):
            self.scope["extensions"] = {PATHSEND: {}, ZEROCOPYSEND: {}}

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        # The cycle's task has been created but not started, so the app is handed this `send`.
        if cycle is not None and "send" not in vars(cycle) and offers_sendfile(self.loop):
            cycle.send = _file_sender(cycle, cycle.send, self.loop)  # type: ignore[method-assign,assignment]


def _file_sender(cycle: RequestResponseCycle, send: Sender, loop: asyncio.AbstractEventLoop) -> Sender:
    """`send` with the two file messages answered by `loop.sendfile`; any other message, or a
    file message where uvicorn itself would refuse one (before the start, after the end, after
    a disconnect), goes to uvicorn's `send` unchanged."""

    async def file_send(message: Message) -> None:
        kind = message["type"]
        if kind not in (PATHSEND, ZEROCOPYSEND) or not cycle.response_started or cycle.response_complete:
            await send(message)
            return
        more_body = bool(message.get("more_body", False)) if kind == ZEROCOPYSEND else False
        with ExitStack() as stack:
            if kind == PATHSEND:
                file: BinaryIO = stack.enter_context(open(message["path"], "rb"))  # noqa: ASYNC230 (a local open: microseconds)
            else:
                file = message["file"]
            offset = int(message.get("offset") or 0)
            count = message.get("count")
            count = os.fstat(file.fileno()).st_size - offset if count is None else int(count)
            await _send_file(cycle, send, loop, file, offset, count)
        await send({"type": "http.response.body", "body": b"", "more_body": more_body})

    return file_send


async def _send_file(
    cycle: RequestResponseCycle,
    send: Sender,
    loop: asyncio.AbstractEventLoop,
    file: BinaryIO,
    offset: int,
    count: int,
) -> None:
    """`count` bytes of `file` from `offset` into the response, counted against its
    Content-Length the way uvicorn counts a body message."""
    if cycle.disconnected or cycle.scope["method"] == "HEAD" or count <= 0:
        return
    if cycle.chunked_encoding:
        # Chunked framing needs the bytes in hand: send them as ordinary body messages.
        file.seek(offset)
        while count > 0:
            chunk = file.read(min(count, 1 << 20))
            if not chunk:
                raise RuntimeError("the file is shorter than the count to send")
            count -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        return
    if count > cycle.expected_content_length:
        raise RuntimeError("Response content longer than Content-Length")
    if cycle.flow.write_paused:
        await cycle.flow.drain()
    try:
        sent = await loop.sendfile(cycle.transport, file, offset, count)
    except (ConnectionError, RuntimeError):
        # The client went away mid-file (a reset, or `loop.sendfile`'s "Transport is closing"; with
        # its fallback allowed it raises nothing else): end the connection as uvicorn does when a
        # write finds the client gone. A failing read of the file is an OSError and propagates.
        cycle.transport.close()
        cycle.disconnected = True
        return
    if sent != count:
        raise RuntimeError("the file is shorter than the count to send")
    cycle.expected_content_length -= count
