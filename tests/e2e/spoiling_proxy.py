"""A pass-through HTTP proxy in front of a registry that can spoil downloads: cut one after a
number of bytes (the connection dies mid-body, as a flaky network does), or flip a byte of one
(what a corrupting middlebox or disk would do). For the `tmr pull` tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

_NOT_FORWARDED = {"host", "connection", "content-length", "transfer-encoding", "keep-alive"}


@dataclass
class Spoiler:
    """What the proxy does to the next `/download/` answer (then it passes everything through)."""

    cut_after: int | None = None
    flip_byte: int | None = None
    download_ranges: list[str | None] = field(default_factory=list)  # the Range of each download


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, spoiler: Spoiler) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.spoiler = spoiler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_PUT(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
        with (
            httpx.Client(timeout=60) as client,
            client.stream(
                self.command, self.server.upstream + self.path, headers=headers, content=body
            ) as answer,
        ):
            data = b"".join(answer.iter_raw())
            self.send_response(answer.status_code)
            for name, value in answer.headers.multi_items():
                if name.lower() not in _NOT_FORWARDED:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
        spoiler = self.server.spoiler
        if self.path.startswith("/download/"):
            spoiler.download_ranges.append(self.headers.get("Range"))
            if spoiler.flip_byte is not None and answer.status_code in (200, 206):
                index, spoiler.flip_byte = spoiler.flip_byte, None
                data = data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1 :]
            elif spoiler.cut_after is not None and answer.status_code == 200:
                cut, spoiler.cut_after = spoiler.cut_after, None
                self.wfile.write(data[:cut])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
        self.wfile.write(data)


@contextmanager
def spoiling_proxy(upstream: str, spoiler: Spoiler) -> Iterator[str]:
    """The proxy's URL, on a port the kernel picked, while the block runs."""
    server = _Server(upstream, spoiler)
    thread = threading.Thread(target=server.serve_forever, name="spoiling-proxy", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
