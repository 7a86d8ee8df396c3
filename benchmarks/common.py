"""Shared pieces of the benchmarks: a real registry process, the emulator, and percentiles."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import auth_request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "mean_ms": round(statistics.fmean(values) * 1000, 2),
        "p50_ms": round(percentile(values, 0.50) * 1000, 2),
        "p99_ms": round(percentile(values, 0.99) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


def peak_rss_mib(pid: int) -> float:
    """The process's high-water resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("VmHWM not found")


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Authorization": self.token}


@contextlib.contextmanager
def registry_server(env: dict[str, str], log_path: Path) -> Iterator[Server]:
    """`./run serve` on a free port with `env`, until it answers /health."""
    port = free_port()
    # A static admin token: a benchmark makes more requests than one login's 1,000-use budget.
    static = secrets.token_urlsafe(24)
    full_env = {**os.environ, "LOG_LEVEL": "0", "AUTH_TOKEN": static, **env}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(ROOT / "run"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 120
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited with {process.returncode}: see {log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                if time.time() > deadline:
                    raise RuntimeError(f"server did not start: see {log_path}")
                time.sleep(0.2)
            login = httpx.put(f"{url}/authenticate", json=auth_request(), timeout=10)
            login.raise_for_status()
            yield Server(url, process, f"bearer {static}")
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
