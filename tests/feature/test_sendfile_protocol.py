"""`SendfileProtocol`: uvicorn's HTTP protocol answering the ASGI file-sending extensions with
`loop.sendfile`, run as a real uvicorn server on a socket of its own (bound to port 0, so no
port is chosen by luck) and spoken to over raw sockets, so every byte on the wire is checked."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tmr.serving.extensions import PATHSEND, ZEROCOPYSEND
from tmr.serving.sendfile import SendfileProtocol, offers_sendfile

DATA = bytes(range(256)) * 4096  # 1 MiB, every byte position distinguishable
Message = dict[str, Any]
Send = Callable[[Message], Any]


def _app(file: Path, seen: list[Message]) -> Any:
    """Answers by path: /path (pathsend), /zero?offset=&count= (zero-copy), /more (zero-copy then
    a body message), /chunked (zero-copy under chunked encoding), /short (a count beyond the
    declared length), /plain (an ordinary body)."""

    async def app(scope: Message, receive: Any, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        seen.append(scope)
        query = dict(part.split("=") for part in scope["query_string"].decode().split("&") if part)
        offset, count = int(query.get("offset", 0)), int(query.get("count", len(DATA)))
        path = scope["path"]
        length = {"/path": len(DATA), "/more": count + 3, "/short": 10}.get(path, count)
        headers = [(b"content-type", b"application/octet-stream")]
        if path != "/chunked":
            headers.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if path == "/path":
            await send({"type": PATHSEND, "path": str(file)})
        elif path == "/plain":
            await send({"type": "http.response.body", "body": DATA[offset : offset + count]})
        else:
            with file.open("rb") as handle:
                more = path in {"/more", "/chunked"}
                message = {"type": ZEROCOPYSEND, "file": handle, "offset": offset, "count": count}
                await send({**message, "more_body": more})
            if more:
                await send({"type": "http.response.body", "body": b"end"[: 3 if path == "/more" else 0]})

    return app


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, list[Message]]]:
    file = tmp_path / "data.bin"
    file.write_bytes(DATA)
    seen: list[Message] = []
    config = uvicorn.Config(
        _app(file, seen), loop="asyncio", http=SendfileProtocol, log_level="critical", lifespan="on"
    )
    server = uvicorn.Server(config)
    listener = socket.socket()
    # A small send buffer (inherited by every accepted socket) makes the kernel take a file a
    # piece at a time, so each test also covers sends that wait for the socket to drain.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    listener.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[listener])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a guard against hanging, not a measure of speed
    while not server.started:
        assert thread.is_alive(), "the server stopped before it started"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    yield listener.getsockname()[1], seen
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()


def _read_response(conn: socket.socket, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """One response from a keep-alive connection: status, headers, body (by Content-Length, or
    de-chunked)."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        assert chunk, "the connection closed before the headers"
        buffer += chunk
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}

    def more() -> bytes:
        chunk = conn.recv(1 << 20)
        assert chunk, "the connection closed mid-body"
        return chunk

    if method == "HEAD":
        return status, headers, b""
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            while b"\r\n" not in buffer:
                buffer += more()
            size_line, _, buffer = buffer.partition(b"\r\n")
            size = int(size_line, 16)
            while len(buffer) < size + 2:
                buffer += more()
            body, buffer = body + buffer[:size], buffer[size + 2 :]
            if size == 0:
                return status, headers, body
    length = int(headers["content-length"])
    while len(buffer) < length:
        buffer += more()
    assert len(buffer) == length, "bytes beyond the declared length"
    return status, headers, buffer


def _get(conn: socket.socket, target: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    conn.sendall(f"{method} {target} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    return _read_response(conn, method)


def test_the_extensions_are_offered_only_where_sendfile_exists(served: tuple[int, list[Message]]) -> None:
    port, seen = served
    with socket.create_connection(("127.0.0.1", port)) as conn:
        _get(conn, "/plain?count=5")
    assert set(seen[0]["extensions"]) >= {PATHSEND, ZEROCOPYSEND}
    assert offers_sendfile(asyncio.new_event_loop())
    uvloop = pytest.importorskip("uvloop")
    assert not offers_sendfile(uvloop.new_event_loop())


def test_files_and_spans_arrive_byte_for_byte_on_one_keep_alive_connection(
    served: tuple[int, list[Message]],
) -> None:
    port, _ = served
    with socket.create_connection(("127.0.0.1", port)) as conn:
        status, headers, body = _get(conn, "/path")
        assert (status, headers["content-length"], body) == (200, str(len(DATA)), DATA)
        for offset, count in [(0, len(DATA)), (1, 1), (12345, 100_000), (len(DATA) - 1, 1), (70_000, 0)]:
            status, headers, body = _get(conn, f"/zero?offset={offset}&count={count}")
            assert status == 200
            assert body == DATA[offset : offset + count]
            assert headers["content-length"] == str(count)
        # The same connection still carries ordinary bodies and a path send afterwards.
        assert _get(conn, "/plain?offset=7&count=9")[2] == DATA[7:16]
        assert _get(conn, "/path")[2] == DATA


def test_a_file_followed_by_more_body_and_a_chunked_answer(served: tuple[int, list[Message]]) -> None:
    port, _ = served
    with socket.create_connection(("127.0.0.1", port)) as conn:
        status, _, body = _get(conn, "/more?offset=5&count=1000")
        assert (status, body) == (200, DATA[5:1005] + b"end")
        status, headers, body = _get(conn, "/chunked?offset=9&count=300000")
        assert headers["transfer-encoding"] == "chunked"
        assert (status, body) == (200, DATA[9:300009])
        assert _get(conn, "/path")[2] == DATA  # the connection is still in step


def test_head_sends_headers_and_no_bytes(served: tuple[int, list[Message]]) -> None:
    port, _ = served
    with socket.create_connection(("127.0.0.1", port)) as conn:
        status, headers, _ = _get(conn, "/path", method="HEAD")
        assert (status, headers["content-length"]) == (200, str(len(DATA)))
        # Had the body been sent, this response would start with file bytes, not a status line.
        assert _get(conn, "/plain?count=4")[2] == DATA[:4]


def test_a_count_beyond_the_declared_length_ends_the_connection(served: tuple[int, list[Message]]) -> None:
    port, _ = served
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"GET /short?count=1000 HTTP/1.1\r\nHost: t\r\n\r\n")
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0]
    assert len(body) < 1000  # never more than was declared: the server closed instead


def test_a_client_leaving_mid_file_does_not_harm_the_next(served: tuple[int, list[Message]]) -> None:
    port, _ = served
    for _ in range(3):
        conn = socket.create_connection(("127.0.0.1", port))
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conn.sendall(b"GET /path HTTP/1.1\r\nHost: t\r\n\r\n")
        conn.recv(1000)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # a reset, mid-file
    with socket.create_connection(("127.0.0.1", port)) as conn:
        assert _get(conn, "/path")[2] == DATA


@pytest.mark.parametrize("path", ["/zero", "/chunked"])
def test_a_file_shorter_than_its_count_ends_the_connection(
    served: tuple[int, list[Message]], path: str
) -> None:
    port, _ = served
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(f"GET {path}?offset={len(DATA) - 10}&count=100 HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0]
    if path == "/zero":
        assert len(body) < 100  # the declared length is never reached: the connection was closed
    else:
        assert DATA[-10:] in body  # what exists was sent, then the answer was cut, not terminated
        assert not body.endswith(b"0\r\n\r\n")


def test_a_slow_reader_gets_every_byte_and_the_connection_reads_again(
    served: tuple[int, list[Message]],
) -> None:
    """A small receive buffer makes the kernel refuse most of the file at first: the send waits
    for the socket to drain many times over, and reading, paused meanwhile, resumes, or the
    second request on the connection would never be answered."""
    port, _ = served
    with socket.socket() as conn:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conn.settimeout(30)
        conn.connect(("127.0.0.1", port))
        for target in ("/path", "/zero?offset=3&count=700001"):
            conn.sendall(f"GET {target} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            status, _headers, body = _read_response(conn)
            assert status == 200
            expected = DATA if target == "/path" else DATA[3:700004]
            assert body == expected
