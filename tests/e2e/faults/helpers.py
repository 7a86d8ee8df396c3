"""What the fault-injection tests share: uploads that pause halfway, downloads compared byte for
byte, registrations held in flight, and polls with a deadline (never a sleep that bets on timing)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from tests.emulator.server import EmulatorServer
from tests.processes import ServerProcess

CHUNK = 256 * 1024
HF = "https://huggingface.co"


def client(server: ServerProcess, timeout: float = 60) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.headers, timeout=timeout)


def upload(
    http: httpx.Client, name: str, body: bytes, during: Callable[[], None] | None = None
) -> httpx.Response:
    """Upload the zip `body` as model `name`, streamed; with `during`, half of it is sent, then
    `during()` runs (a store is stopped, a disk filled) while the server waits for the rest."""

    def chunks() -> Iterator[bytes]:
        half = len(body) // 2 if during is not None else len(body)
        yield from (body[i : min(i + CHUNK, half)] for i in range(0, half, CHUNK))
        if during is not None:
            during()
        yield from (body[i : i + CHUNK] for i in range(half, len(body), CHUNK))

    return http.post(
        "/artifact/model/upload",
        params={"name": name},
        content=chunks(),
        headers={"Content-Type": "application/zip"},
    )


def package_sha256(http: httpx.Client, artifact_id: str) -> str:
    """The sha256 of the whole package as received, checked against what the server announces."""
    response = http.get(f"/download/{artifact_id}", params={"redirect": "false"})
    assert response.status_code == 200, response.text
    digest = hashlib.sha256(response.content).hexdigest()
    assert digest == response.headers["X-Package-SHA256"]
    return digest


def names(http: httpx.Client) -> set[str]:
    """Every artifact's name the registry lists."""
    listed = http.post("/artifacts", json=[{"name": "*"}])
    assert listed.status_code == 200, listed.text
    return {item["name"] for item in listed.json()}


def assert_names_component(response: httpx.Response, component: str, status: int = 503) -> None:
    """A clear refusal: the status, the component in the body, a Retry-After on a 503."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["details"]["component"] == component, body
    if status == 503:
        assert int(response.headers["Retry-After"]) > 0


def component(server: ServerProcess, ident: str) -> dict[str, Any]:
    report = httpx.get(f"{server.url}/health/components", timeout=60)
    assert report.status_code == 200, report.text
    found: dict[str, Any] = next(c for c in report.json()["components"] if c["id"] == ident)
    return found


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    """Poll `check` until it holds, failing with `what` after `timeout_s` (monotonic clock)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def register_held(
    server: ServerProcess, emulator: EmulatorServer, url: str, hold: str, meanwhile: Callable[[], None]
) -> httpx.Response:
    """Register `url` while the emulator holds the requests matching `hold`: once the registration
    is waiting on one, `meanwhile()` runs (a store is stopped), then the upstream answers."""
    emulator.faults.add(hold, hold=True)
    answer: list[httpx.Response] = []
    failure: list[BaseException] = []

    def register() -> None:
        try:
            with client(server, timeout=120) as http:
                answer.append(http.post("/artifact/model", json={"url": url}))
        except BaseException as exc:  # handed to the test's thread
            failure.append(exc)

    worker = threading.Thread(target=register, name="held-registration")
    worker.start()
    try:
        wait_until(lambda: emulator.faults.requests_seen(hold) > 0, "the registration to reach the upstream")
        meanwhile()
    finally:
        emulator.faults.clear()  # releases the held requests
        worker.join(timeout=120)
    assert not worker.is_alive(), "the registration did not finish"
    if failure:
        raise failure[0]
    return answer[0]
