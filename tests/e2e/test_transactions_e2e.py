"""Transactions against a real server process, on SQLite + files and on PostgreSQL: a server
SIGKILLed in the middle of execute (while the third command reads its upstream, and on PostgreSQL
inside the apply transaction itself) leaves no artifact changed and the transaction open; a
three-artifact transaction becomes visible at once; two conflicting transactions executed at the
same time commit exactly one."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests import services
from tests.emulator.server import EmulatorServer, running_emulator
from tests.processes import ServerProcess, registry_server

HF = "https://huggingface.co"
THREE = [
    {"op": "register", "type": "model", "url": f"{HF}/google-bert/bert-base-uncased"},
    {"op": "register", "type": "dataset", "url": f"{HF}/datasets/stanfordnlp/imdb"},
    {"op": "register", "type": "code", "url": "https://github.com/psf/requests"},
]
THIRD_FETCH = r"/github/repos/psf/requests"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with running_emulator() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, emulator: EmulatorServer
) -> Iterator[dict[str, str]]:
    """The environment of a server (one data directory, one database) that outlives a process."""
    env = {"TMR_DATA_DIR": str(tmp_path / "data"), **emulator.env()}
    if request.param == "sqlite":
        yield env
        return
    with services.fresh_postgres_database("tmr_tx") as url:
        yield env | {"TMR_DATABASE_URL": url}


@pytest.fixture
def postgres_backend(tmp_path: Path, emulator: EmulatorServer) -> Iterator[dict[str, str]]:
    with services.fresh_postgres_database("tmr_tx") as url:
        yield {"TMR_DATA_DIR": str(tmp_path / "data"), "TMR_DATABASE_URL": url, **emulator.env()}


Start = Callable[[], contextlib.AbstractContextManager[ServerProcess]]


def starter(env: dict[str, str], logs: Path) -> Start:
    """Servers started one after another on the same data."""
    count = [0]

    def started() -> contextlib.AbstractContextManager[ServerProcess]:
        count[0] += 1
        return registry_server(env, logs / f"server{count[0]}.log")

    return started


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def opened_with(client: httpx.Client, commands: list[dict[str, Any]]) -> str:
    response = client.post("/transactions")
    assert response.status_code == 201, response.text
    tid: str = response.json()["id"]
    for command in commands:
        appended = client.post(f"/transactions/{tid}/commands", json=command)
        assert appended.status_code == 201, appended.text
    return tid


def visible(client: httpx.Client) -> list[str]:
    response = client.post("/artifacts", json=[{"name": "*"}])
    assert response.status_code == 200, response.text
    return sorted(a["type"] for a in response.json())


def execute_in_background(server: ServerProcess, tid: str) -> threading.Thread:
    """Execute in a thread whose request dies with the server (its outcome is not awaited)."""

    def execute() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(f"{server.url}/transactions/{tid}/execute", headers=server.headers, timeout=120)

    thread = threading.Thread(target=execute, daemon=True)
    thread.start()
    return thread


def test_a_server_killed_while_preparing_leaves_everything_as_it_was(
    backend: dict[str, str], tmp_path: Path, emulator: EmulatorServer
) -> None:
    start = starter(backend, tmp_path)
    with start() as server, httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as client:
        tid = opened_with(client, THREE)
        emulator.faults.clear()
        emulator.faults.add(THIRD_FETCH, hold=True)
        try:
            thread = execute_in_background(server, tid)
            wait_until(lambda: emulator.faults.requests_seen(THIRD_FETCH) > 0, "the third command's fetch")
            server.process.kill()
            server.process.wait(timeout=30)
        finally:
            emulator.faults.clear()  # releases the held request
        thread.join(timeout=60)
    with start() as server, httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as client:
        assert visible(client) == []
        shown = client.get(f"/transactions/{tid}").json()
        assert shown["state"] == "open"
        assert all(c["result"] is None for c in shown["commands"])
        # Still executable: all three appear together.
        executed = client.post(f"/transactions/{tid}/execute")
        assert executed.status_code == 200, executed.text
        assert visible(client) == ["code", "dataset", "model"]
        assert [r["metadata"]["type"] for r in executed.json()["results"]] == ["model", "dataset", "code"]

        # Two transactions changing the same model, executed at once: exactly one commits.
        model_id = executed.json()["results"][0]["metadata"]["id"]
        urls = [f"{HF}/acme/base-lm", f"{HF}/acme/base-lm-finetuned"]
        tids = [
            opened_with(client, [{"op": "update", "type": "model", "id": model_id, "url": u}]) for u in urls
        ]
        barrier = threading.Barrier(2)
        statuses: dict[str, int] = {}

        def execute(transaction_id: str) -> None:
            barrier.wait(timeout=30)
            response = httpx.post(
                f"{server.url}/transactions/{transaction_id}/execute", headers=server.headers, timeout=120
            )
            statuses[transaction_id] = response.status_code

        threads = [threading.Thread(target=execute, args=(t,)) for t in tids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert sorted(statuses.values()) == [200, 409], statuses
        winner = urls[tids.index(next(t for t, s in statuses.items() if s == 200))]
        assert client.get(f"/artifacts/model/{model_id}").json()["data"]["url"] == winner
        loser = next(t for t, s in statuses.items() if s == 409)
        assert client.get(f"/transactions/{loser}").json()["state"] == "failed"


@pytest.mark.postgres
def test_a_server_killed_inside_the_apply_transaction_commits_nothing(
    postgres_backend: dict[str, str], tmp_path: Path
) -> None:
    start = starter(postgres_backend, tmp_path)
    url = make_url(postgres_backend["TMR_DATABASE_URL"])
    dsn = f"host={url.host} port={url.port} user={url.username} dbname={url.database}"
    if url.password:
        dsn += f" password={url.password}"
    with start() as server, httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as client:
        tid = opened_with(client, THREE)
        # `apply` writes the audit entries last: holding that table stops it after every other row.
        with psycopg.connect(dsn) as holder:
            holder.execute("LOCK TABLE audit IN ACCESS EXCLUSIVE MODE")
            thread = execute_in_background(server, tid)
            waiting = "SELECT count(*) FROM pg_locks WHERE relation = 'audit'::regclass AND NOT granted"

            def blocked() -> bool:
                with psycopg.connect(dsn) as probe:
                    row = probe.execute(waiting).fetchone()
                    return bool(row and row[0])

            wait_until(blocked, "apply to wait for the audit table")
            server.process.kill()
            server.process.wait(timeout=30)
            holder.rollback()
        thread.join(timeout=60)
    with start() as server, httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as client:
        assert visible(client) == []
        assert client.get(f"/transactions/{tid}").json()["state"] == "open"
        executed = client.post(f"/transactions/{tid}/execute")
        assert executed.status_code == 200, executed.text
        assert visible(client) == ["code", "dataset", "model"]
