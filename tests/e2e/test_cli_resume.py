"""`tmr push` resumed against a real registry process, on both e2e stacks (SQLite and files;
PostgreSQL and SeaweedFS): a push whose parts a proxy cuts mid-body until the command gives up
(exit 6), and a `tmr` process killed while a part is on its way, are each finished by running the
same command again, which sends only what the registry lacks (`resumed_from`); `tmr pull` then
gives the folder back byte for byte."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.processes import ServerProcess
from tests.zips import safetensors_bytes
from tmr.cli import cli
from tmr.client import resumable

PART = 8 * 1024 * 1024  # the registry's default part size
_NOT_FORWARDED = {"host", "connection", "content-length", "transfer-encoding", "keep-alive"}


class CuttingProxy(ThreadingHTTPServer):
    """Passes requests to the registry, except PATCHes past the first `passing` ones (None: all
    pass): those reach the registry only halfway before both connections close, as a network
    failing mid-part would do it, or are first held (`hold`) until the test releases them."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.passing: int | None = None
        self.hold = False
        self.held = threading.Event()
        self.release = threading.Event()
        self.patches = 0
        self.cut = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def passes(self) -> bool:
        with self._lock:
            self.patches += 1
            return self.passing is None or self.patches <= self.passing


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CuttingProxy

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_PATCH(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.command == "PATCH" and not self.server.passes():
            if self.server.hold:
                self.server.held.set()
                self.server.release.wait(120)
            self._cut(body)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
        with httpx.Client(timeout=300) as client:
            answer = client.request(
                self.command, self.server.upstream + self.path, headers=headers, content=body
            )
        self.send_response(answer.status_code)
        for name, value in answer.headers.multi_items():
            if name.lower() not in _NOT_FORWARDED | {"content-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.content)

    def _cut(self, body: bytes) -> None:
        """Half the part reaches the registry, then both connections close."""
        upstream = urlsplit(self.server.upstream)
        head = f"PATCH {self.path} HTTP/1.1\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in self.headers.items() if k.lower() != "connection")
        with socket.create_connection((upstream.hostname or "127.0.0.1", upstream.port or 80)) as raw:
            raw.sendall(f"{head}Connection: close\r\n\r\n".encode("latin-1") + body[: len(body) // 2])
        with self.server._lock:
            self.server.cut += 1
        self.close_connection = True
        with contextlib.suppress(OSError):  # a killed client has closed its end already
            self.connection.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def cutting_proxy(upstream: str) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(upstream)
    thread = threading.Thread(target=proxy.serve_forever, name="cutting-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.release.set()
        proxy.shutdown()
        proxy.server_close()
        thread.join()


def folder_of(root: Path, seed: int) -> Path:
    """A model of about 20 MiB: three parts."""
    root.mkdir()
    (root / "README.md").write_text(f"---\nlicense: mit\n---\n# acme/resumed-{seed}\n\nPushed in parts.\n")
    (root / "config.json").write_text(json.dumps({"model_type": "bert", "seed": seed}))
    (root / "model.safetensors").write_bytes(safetensors_bytes((2048, 2560), seed=seed))
    return root


def tmr(url: str, *args: str, token: str, config: Path) -> Result:
    env = {"TMR_URL": url, "TMR_TOKEN": token, "XDG_CONFIG_HOME": str(config)}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def pulled_back(server: ServerProcess, answer: dict[str, Any], folder: Path, config: Path) -> None:
    """`tmr pull` of what was pushed gives every file of the folder, byte for byte."""
    out = config.parent / f"{answer['metadata']['id']}.zip"
    pulled = tmr(
        server.url, "pull", answer["metadata"]["id"], "-o", str(out), token=server.static_token, config=config
    )
    assert pulled.exit_code == 0, pulled.output
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as package:
        assert sorted(package.namelist()) == sorted(p.name for p in folder.iterdir())
        for name in package.namelist():
            assert package.read(name) == (folder / name).read_bytes(), name


def kept_pushes(config: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((config / "tmr" / resumable.STATE_FILE).read_text())
    return state


def test_a_push_cut_until_it_gives_up_resumes_when_run_again(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resumable, "BACKOFF_S", 0.05)  # the waits, not the retries, made short
    folder = folder_of(tmp_path / "model", seed=21)
    config = tmp_path / "config"
    args = ("push", str(folder), "--name", "acme/resumed-cut", "--json")
    with cutting_proxy(server.url) as proxy:
        proxy.passing = 1  # the first part arrives; every later one is cut halfway
        first = tmr(proxy.url, *args, token=server.static_token, config=config)
        assert first.exit_code == 6, first.output
        assert "run the same command again to resume" in json.loads(first.stderr)["error"]
        assert proxy.cut == 1 + resumable.RETRIES
        assert len(kept_pushes(config)) == 1

        proxy.passing = None
        again = tmr(proxy.url, *args, token=server.static_token, config=config)
        assert again.exit_code == 0, again.output
    answer = json.loads(again.stdout)
    assert answer["resumed_from"] == PART  # only the part the registry had was not sent again
    assert answer["metadata"]["name"] == "acme/resumed-cut"
    assert kept_pushes(config) == {}
    pulled_back(server, answer, folder, config)


def test_a_killed_push_resumes_when_run_again(server: ServerProcess, tmp_path: Path) -> None:
    folder = folder_of(tmp_path / "model", seed=22)
    config = tmp_path / "config"
    command = [
        str(Path(sys.executable).with_name("tmr")),
        "push",
        str(folder),
        "--name",
        "acme/resumed-kill",
        "--json",
    ]
    with cutting_proxy(server.url) as proxy:
        env = {
            **os.environ,
            "TMR_URL": proxy.url,
            "TMR_TOKEN": server.static_token,
            "XDG_CONFIG_HOME": str(config),
        }
        proxy.passing, proxy.hold = 1, True  # the second part is held on its way
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert proxy.held.wait(120), "the second part never came"
        finally:
            process.kill()  # mid-part, as a closed laptop or a `kill -9` would
            process.wait()
        proxy.passing, proxy.hold = None, False
        proxy.release.set()  # the held part reaches the registry halfway, then is cut
        assert len(kept_pushes(config)) == 1
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    answer = json.loads(again.stdout)
    assert answer["resumed_from"] == PART
    pulled_back(server, answer, folder, config)
