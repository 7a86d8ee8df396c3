"""The download workload through its doors (tmr's API and the dashboard's pages) over a registry in
memory and the SQL run store, with a scripted runner in place of the HTTP clients: the form's
refusals, one run at a time, a run's page and the comparison of two runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from tests.support import ADMIN, PASSWORD
from tests.unit.memory_app import ADMIN_HEADERS, memory_client, seed
from tests.unit.test_web_pages_memory import ui_sign_in
from tmr.container import Registry
from tmr.storage.workloads import SqlWorkloadStore
from tmr.workload.interfaces import ProgressReport, Target
from tmr.workload.models import Measurement
from tmr.workload.service import WorkloadService

MEASURED = Measurement(
    latencies_s=(0.1, 0.2, 0.3), bytes=3_000_000, elapsed_s=1.5, errors=1, first_error="503"
)


@dataclass
class ScriptedRunner:
    """Reports one request done, then answers the measurement (or raises `error`)."""

    measurement: Measurement = MEASURED
    error: BaseException | None = None
    targets: list[Target] = field(default_factory=list)

    async def run(self, target: Target, report: ProgressReport) -> Measurement:
        self.targets.append(target)
        await report(1, 0)
        if self.error is not None:
            raise self.error
        return self.measurement


@pytest.fixture
def app() -> Iterator[tuple[TestClient, Registry, ScriptedRunner]]:
    with memory_client() as (client, registry):
        runner = ScriptedRunner()
        registry.workloads = WorkloadService(
            SqlWorkloadStore(registry.store.engine),
            registry.artifacts,
            registry.accounts,
            runner,
            inline=True,
        )
        yield client, registry, runner


def test_the_api_runs_lists_and_reads_a_workload(app: tuple[TestClient, Registry, ScriptedRunner]) -> None:
    client, registry, runner = app
    model = seed(registry, "tiny", {"config.json": b"{}"})
    body = {"artifact_id": model.id, "clients": 2, "requests": 4, "time_limit_s": 10, "parts": "config"}
    started = client.post("/workloads", json=body, headers=ADMIN_HEADERS)
    assert started.status_code == 202, started.text
    run = started.json()
    assert started.headers["location"].endswith(f"/workloads/{run['id']}")
    assert run["status"] == "finished"
    assert run["artifact"] == {"id": model.id, "name": "tiny"}
    assert run["parameters"]["parts"] == "config"
    assert run["results"]["bytes"] == 3_000_000
    assert run["results"]["errors"] == 1
    assert run["results"]["first_error"] == "503"
    [target] = runner.targets
    assert target.url.endswith(f"/download/{model.id}")
    assert len(target.tokens) == 2
    listed = client.get("/workloads", headers=ADMIN_HEADERS)
    assert [r["id"] for r in listed.json()] == [run["id"]]
    assert client.get(f"/workloads/{run['id']}", headers=ADMIN_HEADERS).json() == run
    assert client.get("/workloads/404404", headers=ADMIN_HEADERS).status_code == 404
    out_of_bounds = client.post("/workloads", json=body | {"clients": 0}, headers=ADMIN_HEADERS)
    assert out_of_bounds.status_code == 400
    assert out_of_bounds.json()["details"]["fields"] == {"clients": "Clients must be between 1 and 64."}
    assert (
        client.post("/workloads", json=body | {"artifact_id": "999"}, headers=ADMIN_HEADERS).status_code
        == 404
    )
    assert client.post("/workloads", json=body).status_code == 403


def test_a_failed_run_is_recorded_with_its_error(app: tuple[TestClient, Registry, ScriptedRunner]) -> None:
    client, registry, runner = app
    runner.error = RuntimeError("connection refused")
    model = seed(registry, "tiny", {"config.json": b"{}"})
    body = {"artifact_id": model.id, "clients": 1, "requests": 1, "time_limit_s": 5}
    run = client.post("/workloads", json=body, headers=ADMIN_HEADERS).json()
    assert run["status"] == "failed"
    assert run["error"] == "RuntimeError: connection refused"
    assert run["results"] is None


def test_the_pages_start_show_and_compare_runs(app: tuple[TestClient, Registry, ScriptedRunner]) -> None:
    client, registry, _ = app
    model = seed(registry, "tiny", {"config.json": b"{}"})
    key = ui_sign_in(client, ADMIN, PASSWORD)
    form = client.get("/ui/workload", params={"artifact": model.id})
    assert form.status_code == 200
    assert "tiny (model)" in form.text
    refused = client.post(
        "/ui/workload",
        data={"form_key": key, "artifact_id": "", "clients": "two", "requests": "4", "time_limit_s": "10"},
    )
    assert refused.status_code == 400
    assert "Choose the artifact whose package the clients download." in refused.text
    assert "Enter the number of clients as a whole number." in refused.text
    too_many = client.post(
        "/ui/workload",
        data={
            "form_key": key,
            "artifact_id": model.id,
            "clients": "100000",
            "requests": "4",
            "time_limit_s": "10",
        },
    )
    assert too_many.status_code == 400
    unknown = client.post(
        "/ui/workload",
        data={"form_key": key, "artifact_id": "999", "clients": "1", "requests": "4", "time_limit_s": "10"},
    )
    assert unknown.status_code == 404
    ids = []
    for clients in ("1", "2"):
        started = client.post(
            "/ui/workload",
            data={
                "form_key": key,
                "artifact_id": model.id,
                "clients": clients,
                "requests": "4",
                "time_limit_s": "10",
            },
            follow_redirects=False,
        )
        assert started.status_code == 303, started.text
        found = re.search(r"/ui/workload/(\d+)$", started.headers["location"])
        assert found is not None
        ids.append(found.group(1))
    page = client.get(f"/ui/workload/{ids[0]}")
    assert page.status_code == 200
    assert "tiny" in page.text
    assert client.get("/ui/workload/123").status_code == 404
    compared = client.get("/ui/workload/compare", params={"first": ids[0], "second": ids[1]})
    assert compared.status_code == 200
    assert ids[0] in compared.text
    assert ids[1] in compared.text
    assert client.get("/ui/workload/compare", params={"first": ids[0]}).status_code == 400
