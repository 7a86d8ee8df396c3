"""The download workload through the API and the pages, in process. The runner's clients reach
the same app through an in-process ASGI transport (given to the runner's constructor), so a run
downloads real packages from a real registry without a network."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.feature.conftest import BERT, register
from tests.feature.web_support import ui_sign_in
from tests.support import auth_request
from tmr.accounts.models import User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.container import Registry
from tmr.storage.workloads import SqlWorkloadStore
from tmr.workload.models import RunStatus, WorkloadParams, WorkloadRun
from tmr.workload.runner import HttpRunner
from tmr.workload.service import WorkloadService


def in_process(registry: Registry, app: FastAPI, *, inline: bool) -> None:
    """The registry's workload service with clients that reach `app` in process."""
    registry.workloads = WorkloadService(
        SqlWorkloadStore(registry.store.engine),  # type: ignore[attr-defined]
        registry.artifacts,
        registry.accounts,
        HttpRunner(httpx.ASGITransport(app=app), report_interval_s=0.05),
        inline=inline,
    )


@pytest.fixture
def app(registry: Registry) -> FastAPI:
    app = create_app(registry=registry)
    in_process(registry, app, inline=False)
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # Inside the context the app's event loop lives on between requests: a run scheduled as a
    # task goes on after its start request has been answered.
    with TestClient(app) as test_client:
        yield test_client


def body(artifact_id: str, **overrides: Any) -> dict[str, Any]:
    return {"artifact_id": artifact_id, "clients": 2, "requests": 6, "time_limit_s": 60, **overrides}


def wait_for_end(client: TestClient, auth: dict[str, str], run_id: str) -> dict[str, Any]:
    """Poll until the run has ended (bounded, so a broken run fails the test instead of hanging)."""
    for _ in range(1200):
        run: dict[str, Any] = client.get(f"/workloads/{run_id}", headers=auth).json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end: {run}")


def package_size(client: TestClient, auth: dict[str, str], artifact_id: str, parts: str | None = None) -> int:
    response = client.get(f"/download/{artifact_id}", params={"parts": parts} if parts else {}, headers=auth)
    assert response.status_code == 200, response.text
    return len(response.content)


def stale_run(registry: Registry, run_id: str, started: datetime, limit_s: int = 30) -> None:
    """An active run as a worker that died would have left it."""
    SqlWorkloadStore(registry.store.engine).create(  # type: ignore[attr-defined]
        WorkloadRun(
            id=run_id,
            started_by="ece30861defaultadminuser",
            started_at=started,
            deadline_at=started + timedelta(seconds=limit_s + 30),
            artifact_id="1",
            artifact_name="gone",
            params=WorkloadParams(1, 1, limit_s),
            status=RunStatus.RUNNING,
        ),
        started,
        100,
    )


# -- the API -------------------------------------------------------------------------------------
def test_a_run_downloads_the_package_under_load_and_reports_its_numbers(
    client: TestClient, auth: dict[str, str], bert: str
) -> None:
    size = package_size(client, auth, bert)
    started = client.post("/workloads", json=body(bert), headers=auth)
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["status"] in ("queued", "running")
    assert started.headers["location"].endswith(f"/workloads/{run['id']}")
    assert run["parameters"] == {"clients": 2, "requests": 6, "time_limit_s": 60, "parts": None}
    assert run["artifact"] == {"id": bert, "name": "bert-base-uncased"}
    ended = wait_for_end(client, auth, run["id"])
    assert ended["status"] == "finished", ended
    assert ended["progress"] == {"done": 6, "failed": 0, "requests": 6}
    results = ended["results"]
    assert results["bytes"] == 6 * size
    assert results["errors"] == 0
    assert results["first_error"] is None
    assert results["throughput_mb_s"] > 0
    assert results["requests_per_s"] > 0
    assert 0 < results["median_ms"] <= results["p99_ms"]
    assert results["mean_ms"] > 0
    assert ended["finished_at"] is not None
    listed = client.get("/workloads", headers=auth).json()
    assert [r["id"] for r in listed] == [run["id"]]


def test_a_part_of_the_package_is_what_the_clients_fetch(
    client: TestClient, auth: dict[str, str], bert: str
) -> None:
    size = package_size(client, auth, bert, "config")
    run = client.post("/workloads", json=body(bert, parts="config", requests=3), headers=auth).json()
    ended = wait_for_end(client, auth, run["id"])
    assert ended["parameters"]["parts"] == "config"
    assert ended["results"]["bytes"] == 3 * size


def test_the_workload_spends_its_own_tokens_not_the_admins(
    client: TestClient, auth: dict[str, str], bert: str, registry: Registry
) -> None:
    admin = registry.accounts.check(auth["X-Authorization"])
    session = {"X-Authorization": registry.accounts.issue(admin, 2)}  # two uses, no more
    run = client.post("/workloads", json=body(bert, requests=20), headers=session).json()
    wait_for_end(client, auth, run["id"])
    # 20 downloads later the two-use token has spent one: the clients had tokens of their own.
    assert client.get(f"/workloads/{run['id']}", headers=session).json()["progress"]["done"] == 20
    assert client.get(f"/workloads/{run['id']}", headers=session).status_code == 403


def test_inline_deployments_answer_once_the_run_has_ended(make_registry: Callable[..., Registry]) -> None:
    registry = make_registry(workload_inline=True)
    app = create_app(registry=registry)
    in_process(registry, app, inline=True)
    with TestClient(app) as client:
        auth = {"X-Authorization": client.put("/authenticate", json=auth_request()).json()}
        bert = register(client, auth, "model", BERT)["metadata"]["id"]
        started = client.post("/workloads", json=body(bert, time_limit_s=100), headers=auth)
        assert started.status_code == 202, started.text
        run = started.json()
        assert run["status"] == "finished"  # no background work: the answer waited for the end
        assert run["progress"]["done"] == 6
        assert run["parameters"]["time_limit_s"] == 25  # clamped under the gateway's 29 s
        assert registry.workloads.bounds.max_time_limit_s == 25


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"clients": 0}, "clients"),
        ({"clients": 65}, "clients"),
        ({"requests": 0}, "requests"),
        ({"requests": 10_001}, "requests"),
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"time_limit_s": 121}, "time_limit_s"),
        ({"parts": "weights,bogus"}, "parts"),
    ],
)
def test_bounds_are_400_naming_the_field(
    client: TestClient, auth: dict[str, str], bert: str, overrides: dict[str, Any], field: str
) -> None:
    response = client.post("/workloads", json=body(bert, **overrides), headers=auth)
    assert response.status_code == 400, response.text
    assert list(response.json()["details"]["fields"]) == [field]
    assert client.get("/workloads", headers=auth).json() == []  # nothing stored


@pytest.mark.parametrize(
    "payload",
    [{}, {"artifact_id": "1", "clients": "two", "requests": 1, "time_limit_s": 1}, [1, 2], {"clients": 1.5}],
)
def test_malformed_bodies_are_400(client: TestClient, auth: dict[str, str], payload: object) -> None:
    assert client.post("/workloads", json=payload, headers=auth).status_code == 400


def test_an_artifact_that_is_not_there_is_404(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/workloads", json=body("123456"), headers=auth)
    assert response.status_code == 404
    assert "artifact_id" in response.json()["details"]["fields"]
    assert client.post("/workloads", json=body("no such id!"), headers=auth).status_code == 400


def test_only_administrators_run_or_read_workloads(
    client: TestClient, auth: dict[str, str], bert: str, registry: Registry
) -> None:
    registry.store.put_user(User("casey", False, hash_password("casey-password")))
    casey_token = client.put("/authenticate", json=auth_request("casey-password", "casey")).json()
    casey = {"X-Authorization": casey_token}
    assert client.post("/workloads", json=body(bert), headers=casey).status_code == 401
    assert client.get("/workloads", headers=casey).status_code == 401
    assert client.post("/workloads", json=body(bert)).status_code == 403  # no token at all
    assert client.get("/workloads").status_code == 403
    assert client.get("/workloads/1", headers=auth).status_code == 404


def test_one_run_at_a_time_and_a_dead_run_does_not_block_for_ever(
    client: TestClient, auth: dict[str, str], bert: str, registry: Registry
) -> None:
    now = datetime.now(UTC)
    stale_run(registry, "100", now)  # its deadline is 60 s away
    refused = client.post("/workloads", json=body(bert), headers=auth)
    assert refused.status_code == 409
    assert refused.json()["details"]["run_id"] == "100"
    assert client.get("/workloads/100", headers=auth).json()["status"] == "running"


def test_a_run_whose_process_died_reads_as_interrupted_and_frees_the_way(
    client: TestClient, auth: dict[str, str], bert: str, registry: Registry
) -> None:
    stale_run(registry, "100", datetime.now(UTC) - timedelta(minutes=5))
    old = client.get("/workloads/100", headers=auth).json()
    assert old["status"] == "interrupted"
    assert "stopped before it finished" in old["error"]
    started = client.post("/workloads", json=body(bert, requests=2), headers=auth)
    assert started.status_code == 202, started.text
    assert wait_for_end(client, auth, started.json()["id"])["status"] == "finished"
    assert [r["status"] for r in client.get("/workloads", headers=auth).json()] == ["finished", "interrupted"]


def test_every_failed_request_is_counted_with_the_first_reason(
    client: TestClient, auth: dict[str, str], bert: str, emulator: Any
) -> None:
    # The weights are mirrored on first download; an upstream that fails makes each one a 503.
    emulator.faults.add(r"/resolve/.*\.safetensors", status=503)
    run = client.post("/workloads", json=body(bert, clients=1, requests=3), headers=auth).json()
    ended = wait_for_end(client, auth, run["id"])
    assert ended["status"] == "finished"  # the run worked; the requests did not
    assert ended["progress"] == {"done": 3, "failed": 3, "requests": 3}
    assert ended["results"]["errors"] == 3
    assert ended["results"]["first_error"].startswith("HTTP 503")
    assert ended["results"]["median_ms"] is None  # no successful request to measure
    assert ended["results"]["bytes"] == 0


def test_the_openapi_page_documents_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/workloads"]) == {"get", "post"}
    assert "202" in paths["/workloads"]["post"]["responses"]
    assert "409" in paths["/workloads"]["post"]["responses"]
    assert "get" in paths["/workloads/{run_id}"]


# -- the pages -----------------------------------------------------------------------------------
def _start_form(client: TestClient, key: str, artifact_id: str, **overrides: str) -> httpx.Response:
    data = {
        "form_key": key,
        "artifact_id": artifact_id,
        "clients": "2",
        "requests": "4",
        "time_limit_s": "60",
    }
    data.update(overrides)
    return client.post("/ui/workload", data=data, follow_redirects=False)


def test_the_page_starts_a_run_and_shows_its_numbers(
    client: TestClient, auth: dict[str, str], bert: str
) -> None:
    key = ui_sign_in(client)
    page = client.get("/ui/workload")
    assert page.status_code == 200
    assert f'<option value="{bert}">bert-base-uncased (model)</option>' in page.text
    assert "No run yet" in page.text
    started = _start_form(client, key, bert)
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    run_id = location.rsplit("/", 1)[-1]
    assert location == f"/ui/workload/{run_id}"
    running = client.get(location)
    assert running.status_code == 200
    assert '<progress id="run-progress" max="4"' in running.text
    assert 'aria-live="polite"' in running.text
    assert "<meta http-equiv" not in running.text.lower()  # no meta refresh
    wait_for_end(client, auth, run_id)
    finished = client.get(location).text
    assert "✓</span> Finished" in finished
    assert "4 of 4 requests done." in finished
    for words in ("MB/s", "requests/s", "Mean", "Median", "99th percentile"):
        assert words in finished
    assert 'id="run-refresh"' not in finished  # nothing left to refresh
    listing = client.get("/ui/workload").text
    assert f'href="/ui/workload/{run_id}"' in listing
    assert "Workload runs, newest first" in listing


def test_two_runs_compared_side_by_side(client: TestClient, auth: dict[str, str], bert: str) -> None:
    key = ui_sign_in(client)
    ids = []
    for clients in ("1", "2"):
        started = _start_form(client, key, bert, clients=clients)
        run_id = started.headers["location"].rsplit("/", 1)[-1]
        wait_for_end(client, auth, run_id)
        ids.append(run_id)
    listing = client.get("/ui/workload").text
    assert "Compare two runs" in listing
    compared = client.get("/ui/workload/compare", params={"first": ids[0], "second": ids[1]})
    assert compared.status_code == 200
    text = compared.text
    assert "Throughput (MB/s)" in text
    assert "p99 latency (ms)" in text
    assert re.search(r"[+-]\d+\.\d %", text)  # a change in per cent of the baseline
    assert re.search(r"(better|worse|same)</span>", text)
    assert client.get("/ui/workload/compare", params={"first": ids[0]}).status_code == 400
    assert client.get("/ui/workload/compare", params={"first": ids[0], "second": "999"}).status_code == 404


def test_the_form_says_what_is_wrong_next_to_each_field(client: TestClient, bert: str) -> None:
    key = ui_sign_in(client)
    bad = _start_form(client, key, bert, clients="0", requests="many", time_limit_s="500")
    assert bad.status_code == 400
    assert 'id="f-requests-error"' in bad.text
    assert "Enter the number of requests as a whole number." in bad.text
    # Bounds are the service's: once the form parses, its words come back tied to the fields.
    bounded = _start_form(client, key, bert, clients="0", time_limit_s="500")
    assert bounded.status_code == 400
    assert 'id="f-clients-error"' in bounded.text
    assert "Clients must be between 1 and 64." in bounded.text
    assert 'id="f-time_limit_s-error"' in bounded.text
    assert 'aria-invalid="true"' in bounded.text
    missing = _start_form(client, key, "")
    assert missing.status_code == 400
    assert "Choose the artifact" in missing.text
    unknown = _start_form(client, key, "123456")
    assert unknown.status_code == 404
    assert 'id="f-artifact_id-error"' in unknown.text


def test_the_form_says_when_another_run_is_in_progress(
    client: TestClient, bert: str, registry: Registry
) -> None:
    key = ui_sign_in(client)
    stale_run(registry, "100", datetime.now(UTC))
    refused = _start_form(client, key, bert)
    assert refused.status_code == 409
    assert "Another workload is running" in refused.text
    assert 'href="/ui/workload/100"' in refused.text


def test_the_form_needs_its_key_and_an_administrator(
    client: TestClient, bert: str, registry: Registry
) -> None:
    ui_sign_in(client)
    forged = _start_form(client, "0" * 64, bert)
    assert forged.status_code == 403
    assert client.get("/workloads").json() == []  # the session cookie reads the feed
    registry.store.put_user(User("casey", False, hash_password("casey-password")))
    with TestClient(client.app) as other:
        ui_sign_in(other, "casey", "casey-password")
        assert other.get("/ui/workload").status_code == 401
    client.cookies.clear()
    signed_out = client.get("/ui/workload", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/ui/sign-in")
