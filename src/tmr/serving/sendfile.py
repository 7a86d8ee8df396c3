"""uvicorn's HTTP protocol taught the ASGI file-sending extensions, so the kernel sends packages.

uvicorn gives an ASGI app no way to send a file other than passing its bytes through Python: a
read into a buffer, a copy into the transport, a copy into the socket. nginx moves the same bytes
with `sendfile(2)`, which never brings them into user space, and that difference was most of
the gap between the two in `./run bench download` (docs/performance.md). `SendfileProtocol` is
uvicorn's httptools protocol that offers the app `http.response.pathsend` and
`http.response.zerocopysend` (the ASGI extensions granian and others implement) and answers them
with `os.sendfile` on the connection's socket (`_kernel_send`).
Everything else about a request (parsing, headers, keep-alive, flow control, completion) stays
uvicorn's: the headers go through uvicorn's own `send`, the file's bytes bypass it, and an empty
final body message lets uvicorn check the length and complete the response as it always does.

The extensions are offered only on a loop whose `sendfile` exists (asyncio's; uvloop has none),
so `tmr serve` runs uvicorn on the asyncio loop with this protocol.

`loop.sendfile` itself was not kept on the hot path: after every partial send it drops the
socket's writer, returns to the loop and registers the writer again, two `epoll_ctl` calls and
a loop turn per socket buffer's worth, under 100 connections about a tenth of the server's CPU
(docs/performance.md). `_kernel_send` registers once per file and sends until the kernel says
the buffer is full; it uses `loop.sendfile` whenever its preconditions do not hold.
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
        sent = await _kernel_send(loop, cycle.transport, file, offset, count)
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


async def _kernel_send(
    loop: asyncio.AbstractEventLoop, transport: asyncio.Transport, file: BinaryIO, offset: int, count: int
) -> int:
    """`os.sendfile` of `count` bytes of `file` from `offset` to the transport's socket: the
    bytes sent (fewer only when the file ends first). The socket's writer is registered once and
    kept until the file is sent, or the send fails (a reset client: ConnectionError). Reading is
    paused meanwhile, as `loop.sendfile` does, so that the transport cannot be closed under the
    send; a client leaving is then seen by the send itself. With bytes still buffered in the
    transport, or without the selector loop's writer hooks, it is `loop.sendfile`."""
    add_writer = getattr(loop, "_add_writer", None)
    remove_writer = getattr(loop, "_remove_writer", None)
    sock = transport.get_extra_info("socket")
    if (
        add_writer is None
        or remove_writer is None
        or sock is None
        or transport.get_write_buffer_size()
        or transport.is_closing()
    ):
        return await loop.sendfile(transport, file, offset, count)
    out_fd, in_fd = sock.fileno(), file.fileno()
    done: asyncio.Future[int] = loop.create_future()
    sent = 0
    registered = False

    def pump() -> None:
        nonlocal offset, sent, registered
        if done.done():
            return
        try:
            while sent < count:
                moved = os.sendfile(out_fd, in_fd, offset, count - sent)
                if moved == 0:  # the file ended
                    break
                offset += moved
                sent += moved
        except (BlockingIOError, InterruptedError):
            if not registered:
                add_writer(out_fd, pump)
                registered = True
            return
        except OSError as exc:  # a reset client, or a file that cannot be read
            done.set_exception(exc)
            return
        done.set_result(sent)

    reading = transport.is_reading()
    if reading:
        transport.pause_reading()
    try:
        pump()
        return await done
    finally:
        if registered:
            remove_writer(out_fd)
        if reading and not transport.is_closing():
            transport.resume_reading()
