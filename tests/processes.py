"""A real registry process started with `./run serve`, for end-to-end tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import auth_request

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mib(pid: int) -> float:
    """The process's high-water resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("VmHWM not found")


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen[bytes]
    static_token: str
    log_path: Path

    @property
    def headers(self) -> dict[str, str]:
        """Headers with the static admin token (AUTH_TOKEN): no 1,000-use budget to run out of."""
        return {"X-Authorization": f"bearer {self.static_token}"}

    def login(self) -> dict[str, str]:
        """Headers with a token from /authenticate, exactly as the contract's client gets one."""
        response = httpx.put(f"{self.url}/authenticate", json=auth_request(), timeout=30)
        response.raise_for_status()
        return {"X-Authorization": response.json()}


@contextlib.contextmanager
def registry_server(
    env: dict[str, str], log_path: Path, start_timeout_s: float = 180
) -> Iterator[ServerProcess]:
    """`./run serve` on a free port with `env` added, until it answers /health; stopped on exit."""
    port = free_port()
    static = secrets.token_urlsafe(24)
    full_env = {**os.environ, "LOG_LEVEL": "1", "AUTH_TOKEN": static, **env}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(ROOT / "run"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + start_timeout_s  # not the wall clock: it can be set
            while True:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)
            yield ServerProcess(url, process, static, log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
