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


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket on a port the kernel picks, already listening: handed to the server process
    (`tmr serve --fd`), so no other process can take the port between choosing it and serving it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, 0))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def port_in_use(log: str) -> bool:
    """Whether a server's log says it could not bind its port: the cue to retry on another one."""
    return "address already in use" in log.lower()


def unused_port() -> int:
    """A port that was free a moment ago, for third-party servers that bind their own (granian,
    nginx): a start that fails with `port_in_use` must be retried on a new one."""
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
    env: dict[str, str], log_path: Path, start_timeout_s: float = 180, port_attempts: int = 5
) -> Iterator[ServerProcess]:
    """`./run serve` on a kernel-chosen port with `env` added, until it answers /health; stopped on
    exit. The server inherits an already-listening socket; granian, which binds its own, is given a
    port and restarted on another when that one was taken meanwhile."""
    static = secrets.token_urlsafe(24)
    full_env = {**os.environ, "LOG_LEVEL": "1", "AUTH_TOKEN": static, **env}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    binds_itself = full_env.get("TMR_SERVER") == "granian"
    for attempt in range(1, port_attempts + 1):
        try:
            server = _started(full_env, static, log_path, start_timeout_s, binds_itself)
        except _PortTaken:
            if attempt == port_attempts:
                raise RuntimeError(f"no free port after {port_attempts} attempts") from None
            continue
        try:
            yield server
        finally:
            stop_process(server.process)
        return


class _PortTaken(Exception):
    """The server exited because another process took its port first."""


def _started(
    env: dict[str, str], static: str, log_path: Path, start_timeout_s: float, binds_itself: bool
) -> ServerProcess:
    command = [str(ROOT / "run"), "serve"]
    if binds_itself:
        port = unused_port()
        command += ["--host", "127.0.0.1", "--port", str(port)]
        passed: tuple[int, ...] = ()
    else:
        listener = listening_socket()
        port = int(listener.getsockname()[1])
        command += ["--fd", str(listener.fileno())]
        passed = (listener.fileno(),)
    try:
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, pass_fds=passed
            )
    finally:
        if not binds_itself:
            listener.close()  # the server holds its own copy now
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s  # not the wall clock: it can be set
        while True:
            if process.poll() is not None:
                text = log_path.read_text()
                if binds_itself and port_in_use(text):
                    raise _PortTaken
                raise RuntimeError(f"server exited with {process.returncode}:\n{text[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        if binds_itself and not _is_ours(url, static):
            raise _PortTaken  # another server answered on the port this one could not bind
    except BaseException:
        stop_process(process)
        raise
    return ServerProcess(url, process, static, log_path)


def _is_ours(url: str, static: str) -> bool:
    """Whether the server at `url` accepts this run's static admin token (another one would not)."""
    headers = {"X-Authorization": f"bearer {static}"}
    return httpx.get(f"{url}/users", headers=headers, timeout=10).status_code == 200


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill what has not ended after 20 s."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
