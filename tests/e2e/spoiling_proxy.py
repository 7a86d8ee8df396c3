"""Pass-through HTTP proxies in front of a registry that spoil some exchanges, as a flaky network
or a corrupting middlebox would: `Proxy` forwards everything, and its hooks decide what to spoil.
`spoiling_proxy` cuts a download after a number of bytes or flips one of its bytes (the `tmr pull`
tests); `CuttingProxy` lets a part of an upload session reach the registry only halfway, or holds
it first (the `tmr push` resume tests)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

_NOT_FORWARDED = {"host", "connection", "content-length", "transfer-encoding", "keep-alive"}


class Proxy(ThreadingHTTPServer):
    """Forwards every request to `upstream` and its answer back, unless a hook spoils it."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spoil_request(self, handler: _Handler, body: bytes) -> bool:
        """Before forwarding: True when the hook answered (or cut) the request itself."""
        return False

    def spoil_answer(self, handler: _Handler, status: int, data: bytes) -> bytes | None:
        """The answer's body to send (None: the hook cut the connection instead)."""
        return data

    def stop(self) -> None:
        """Called before the proxy shuts down: release whatever a hook holds."""


def cut_connection(handler: _Handler) -> None:
    """Both directions of the client's connection closed, now."""
    handler.close_connection = True
    with contextlib.suppress(OSError):  # a killed client has closed its end already
        handler.connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Proxy

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.server.spoil_request(self, body):
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
        with (
            httpx.Client(timeout=300) as client,
            client.stream(
                self.command, self.server.upstream + self.path, headers=headers, content=body
            ) as answer,
        ):
            data = b"".join(answer.iter_raw())  # as sent: still compressed if it was
            self.send_response(answer.status_code)
            for name, value in answer.headers.multi_items():
                if name.lower() not in _NOT_FORWARDED:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
        sent = self.server.spoil_answer(self, answer.status_code, data)
        if sent is not None and self.command != "HEAD":
            self.wfile.write(sent)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


P = TypeVar("P", bound=Proxy)


@contextlib.contextmanager
def running(proxy: P) -> Iterator[P]:
    """`proxy` serving on a port the kernel picked while the block runs."""
    thread = threading.Thread(target=proxy.serve_forever, name=type(proxy).__name__, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.stop()
        proxy.shutdown()
        proxy.server_close()
        thread.join()


# -- downloads --------------------------------------------------------------------------------
@dataclass
class Spoiler:
    """What the proxy does to the next `/download/` answer (then it passes everything through)."""

    cut_after: int | None = None
    flip_byte: int | None = None
    download_ranges: list[str | None] = field(default_factory=list)  # the Range of each download


class _SpoilingProxy(Proxy):
    def __init__(self, upstream: str, spoiler: Spoiler) -> None:
        super().__init__(upstream)
        self.spoiler = spoiler

    def spoil_answer(self, handler: _Handler, status: int, data: bytes) -> bytes | None:
        spoiler = self.spoiler
        if not handler.path.startswith("/download/"):
            return data
        spoiler.download_ranges.append(handler.headers.get("Range"))
        if spoiler.flip_byte is not None and status in (200, 206):
            index, spoiler.flip_byte = spoiler.flip_byte, None
            return data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1 :]
        if spoiler.cut_after is not None and status == 200:
            cut, spoiler.cut_after = spoiler.cut_after, None
            handler.wfile.write(data[:cut])
            handler.wfile.flush()
            cut_connection(handler)
            return None
        return data


@contextlib.contextmanager
def spoiling_proxy(upstream: str, spoiler: Spoiler) -> Iterator[str]:
    """The URL of a proxy spoiling downloads as `spoiler` says, while the block runs."""
    with running(_SpoilingProxy(upstream, spoiler)) as proxy:
        yield proxy.url


# -- upload sessions --------------------------------------------------------------------------
class CuttingProxy(Proxy):
    """Passes requests to the registry, except PATCHes past the first `passing` ones (None: all
    pass): those reach the registry only halfway before both connections close, as a network
    failing mid-part would do it, or are first held (`hold`) until the test releases them."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.passing: int | None = None
        self.hold = False
        self.held = threading.Event()
        self.release = threading.Event()
        self.patches = 0
        self.cut = 0

    def spoil_request(self, handler: _Handler, body: bytes) -> bool:
        if handler.command != "PATCH":
            return False
        with self.lock:
            self.patches += 1
            if self.passing is None or self.patches <= self.passing:
                return False
        if self.hold:
            self.held.set()
            self.release.wait(120)
        self._send_half(handler, body)
        with self.lock:
            self.cut += 1
        cut_connection(handler)
        return True

    def _send_half(self, handler: _Handler, body: bytes) -> None:
        """Half the part reaches the registry, then that connection closes."""
        upstream = urlsplit(self.upstream)
        head = f"PATCH {handler.path} HTTP/1.1\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in handler.headers.items() if k.lower() != "connection")
        with socket.create_connection((upstream.hostname or "127.0.0.1", upstream.port or 80)) as raw:
            raw.sendall(f"{head}Connection: close\r\n\r\n".encode("latin-1") + body[: len(body) // 2])

    def stop(self) -> None:
        self.release.set()


def cutting_proxy(upstream: str) -> contextlib.AbstractContextManager[CuttingProxy]:
    return running(CuttingProxy(upstream))
