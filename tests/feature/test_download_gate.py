"""The download gate (downloads/gate.py) at work: with one slot, a download waiting on its upstream
steps aside, and a settled download goes through meanwhile; a download the event loop cannot
finish without waiting runs in a thread, spending its token use once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.emulator.server import EmulatorServer
from tests.feature.conftest import HF, register
from tests.support import auth_request
from tests.zips import model_files, zip_bytes
from tmr.app import create_app
from tmr.container import Registry
from tmr.storage.sessions import _sqlite_writer
from tmr.storage.tables import TokenRow, table

UPSTREAM_DELAY_S = 5.0  # far longer than a settled download takes, even on a loaded machine
WAIT_S = 30.0
SLOW_FILES = r"tiny-mit-model/resolve/.*safetensors"


def _upload(client: TestClient, auth: dict[str, str], name: str, seed: int) -> str:
    """A private model: stored and checked as it is uploaded, so its downloads are settled."""
    uploaded = client.post(
        "/artifact/model/upload",
        params={"name": name},
        content=zip_bytes(model_files(seed=seed)),
        headers=auth | {"Content-Type": "application/zip"},
    )
    assert uploaded.status_code == 201, uploaded.text
    artifact_id: str = uploaded.json()["metadata"]["id"]
    return artifact_id


@pytest.fixture
def narrow(make_registry: Callable[..., Registry]) -> Iterator[tuple[TestClient, dict[str, str]]]:
    registry = make_registry(download_plan_concurrency=1)
    assert registry.downloads.gate.width == 1
    with TestClient(create_app(registry=registry)) as client:
        response = client.put("/authenticate", json=auth_request())
        assert response.status_code == 200, response.text
        yield client, {"X-Authorization": response.json()}


def test_a_download_waiting_on_its_upstream_holds_up_no_other(
    narrow: tuple[TestClient, dict[str, str]], emulator: EmulatorServer
) -> None:
    client, auth = narrow
    settled = _upload(client, auth, "settled-model", seed=3)
    mirrored_later = register(client, auth, "model", f"{HF}/nomic/tiny-mit-model")["metadata"]["id"]
    emulator.faults.add(SLOW_FILES, delay_s=UPSTREAM_DELAY_S)
    before = emulator.faults.requests_seen(SLOW_FILES)
    slow_status: list[int] = []
    slow = threading.Thread(
        target=lambda: slow_status.append(client.get(f"/download/{mirrored_later}", headers=auth).status_code)
    )
    slow.start()
    deadline = time.monotonic() + WAIT_S
    while emulator.faults.requests_seen(SLOW_FILES) == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert emulator.faults.requests_seen(SLOW_FILES) > before, "the slow download never reached upstream"

    fast = client.get(f"/download/{settled}", headers=auth)

    assert fast.status_code == 200
    assert slow.is_alive(), "the settled download waited for the one mirroring from upstream"
    slow.join(WAIT_S)
    assert slow_status == [200]


def _uses(registry: Registry) -> int:
    tokens = table(TokenRow)
    with registry.store.engine.connect() as connection:
        return int(connection.scalar(select(func.sum(tokens.c.uses))) or 0)


def test_a_download_the_loop_cannot_finish_runs_in_a_thread_and_spends_one_use(
    registry: Registry, client: TestClient, auth: dict[str, str]
) -> None:
    assert registry.downloads.gate.inline  # SQLite: plans are tried on the event loop first
    artifact_id = _upload(client, auth, "loop-model", seed=5)
    assert client.get(f"/download/{artifact_id}", headers=auth).status_code == 200  # settled now
    uses = _uses(registry)
    writer = _sqlite_writer(registry.store.engine)
    assert writer is not None
    answers: list[int] = []
    with writer:  # this thread's write turn: the loop's attempt is WouldWait before it writes
        thread = threading.Thread(
            target=lambda: answers.append(client.get(f"/download/{artifact_id}", headers=auth).status_code)
        )
        thread.start()
        thread.join(0.2)  # the download waits for the turn in a worker thread meanwhile
    thread.join(WAIT_S)
    assert answers == [200]
    assert _uses(registry) == uses + 1  # the token spent once, not once per attempt
    history = registry.downloads.history.downloads_of(artifact_id, limit=10)
    assert [event.allowed for _seq, event in history] == [True, True]


def test_a_first_download_tried_on_the_loop_spends_one_use(
    registry: Registry, client: TestClient, auth: dict[str, str]
) -> None:
    # Not yet mirrored: the loop checks the token, meets the mirroring, and hands over to a thread.
    artifact_id = register(client, auth, "model", f"{HF}/nomic/tiny-mit-model")["metadata"]["id"]
    uses = _uses(registry)
    assert client.get(f"/download/{artifact_id}", headers=auth).status_code == 200
    assert _uses(registry) == uses + 1
