"""Runs the emulator with uvicorn in a background thread (tests) or in the foreground (`python -m`)."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from tests.emulator.app import create_emulator_app
from tests.emulator.faults import FaultController
from tests.emulator.fixtures import Fixtures

STARTUP_TIMEOUT_S = 60.0  # a guard against hanging, not a measure of speed


@dataclass(frozen=True)
class EmulatorServer:
    """Handle on a running emulator: base URLs for both upstreams and the shared fault controller."""

    url: str
    hf_endpoint: str
    github_api_url: str
    faults: FaultController
    fixtures: Fixtures

    def env(self) -> dict[str, str]:
        """Environment variables pointing a registry (or huggingface_hub) at this emulator."""
        return {"HF_ENDPOINT": self.hf_endpoint, "GITHUB_API_URL": self.github_api_url}


def uvicorn_config(app: ASGIApp, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    """Config shared by the thread and the CLI: no lifespan, no websockets, short graceful shutdown."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        ws="none",
        access_log=False,
        timeout_graceful_shutdown=1,
        timeout_keep_alive=5,
    )


def _wait_until_up(url: str, server: uvicorn.Server, thread: threading.Thread) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("emulator server thread exited during startup")
        if server.started:
            try:
                with opener.open(f"{url}/_emulator/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
        time.sleep(0.02)
    raise TimeoutError(f"emulator did not answer on {url} within {STARTUP_TIMEOUT_S}s")


@contextmanager
def running_emulator(
    port: int = 0, host: str = "127.0.0.1", fixtures: Fixtures | None = None
) -> Iterator[EmulatorServer]:
    """Start the emulator on host:port (0 = a free port), yield its handle, and stop it on exit."""
    controller = FaultController()
    app = create_emulator_app(fixtures, controller)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, host, bound_port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="tmr-emulator", daemon=True)
    thread.start()
    url = f"http://{host}:{bound_port}"
    try:
        _wait_until_up(url, server, thread)
        yield EmulatorServer(url, url, f"{url}/github", controller, app.state.fixtures)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
