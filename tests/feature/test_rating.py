import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.emulator.server import EmulatorServer
from tests.feature.conftest import GH, HF, register
from tests.support import auth_request
from tmr.app import create_app
from tmr.container import Registry

METRICS = [
    "net_score", "ramp_up_time", "bus_factor", "performance_claims", "license", "dataset_and_code_score",
    "dataset_quality", "code_quality", "reproducibility", "reviewedness", "tree_score", "size_score",
]  # fmt: skip
FIELDS = {"name", "category", *METRICS, *(f"{m}_latency" for m in METRICS)}
BERT = f"{HF}/google-bert/bert-base-uncased"


def rate(client: TestClient, auth: dict[str, str], artifact_id: str) -> dict[str, Any]:
    response = client.get(f"/artifact/model/{artifact_id}/rate", headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_rating_has_all_26_fields_and_sane_values(client: TestClient, auth: dict[str, str]) -> None:
    artifact_id = register(client, auth, "model", BERT)["metadata"]["id"]
    rating = rate(client, auth, artifact_id)
    assert set(rating) == FIELDS
    assert rating["name"] == "bert-base-uncased"
    assert rating["category"]
    assert rating["category"] != "unknown"
    for key, value in rating.items():
        assert value is not None, key
        if key.endswith("_latency"):
            assert isinstance(value, float), key
            # Each metric runs inside the whole rating, whose time net_score_latency is.
            assert 0 <= value <= rating["net_score_latency"], key
        elif key == "size_score":
            assert set(value) == {"raspberry_pi", "jetson_nano", "desktop_pc", "aws_server"}
            assert all(0 <= v <= 1 for v in value.values())
        elif key not in ("name", "category"):
            assert 0 <= value <= 1, key  # bert links its repository: reviewedness is measured
    assert rating["net_score_latency"] > 0  # measured, not a placeholder
    trail = client.get(f"/artifact/model/{artifact_id}/audit", headers=auth).json()
    assert [e["action"] for e in trail] == ["CREATE", "RATE"]


def test_reviewedness_is_minus_one_without_a_linked_repository(
    client: TestClient, auth: dict[str, str]
) -> None:
    artifact_id = register(client, auth, "model", f"{HF}/nomic/tiny-mit-model")["metadata"]["id"]
    assert rate(client, auth, artifact_id)["reviewedness"] == -1


def test_good_evidence_rates_higher_than_bare(client: TestClient, auth: dict[str, str]) -> None:
    good = rate(client, auth, register(client, auth, "model", BERT)["metadata"]["id"])
    bare = rate(client, auth, register(client, auth, "model", f"{HF}/bare/no-card")["metadata"]["id"])
    assert good["net_score"] > bare["net_score"]
    for metric in (
        "ramp_up_time",
        "license",
        "performance_claims",
        "dataset_and_code_score",
        "reproducibility",
    ):
        assert good[metric] > bare[metric], metric


def test_ratings_are_stored_and_served_without_recomputing(
    client: TestClient, auth: dict[str, str], emulator: EmulatorServer
) -> None:
    artifact_id = register(client, auth, "model", BERT)["metadata"]["id"]
    first = rate(client, auth, artifact_id)
    calls = emulator.faults.requests_seen("")
    assert rate(client, auth, artifact_id) == first
    assert emulator.faults.requests_seen("") == calls


def test_thirteen_concurrent_rate_requests_all_succeed(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    from tests.emulator.fixtures import hf_models

    models = [m for m in hf_models() if not m.private][:13]
    ids = [register(client, auth, "model", m.url)["metadata"]["id"] for m in models]
    for artifact_id in ids:  # mark stale: recompute under concurrency, not just stored reads
        stored = registry.store.load_rating(artifact_id)
        assert stored is not None
        registry.store.save_rating(artifact_id, dataclasses.replace(stored, engine_version=0))
    statuses: list[int] = []
    barrier = threading.Barrier(13)

    def one(artifact_id: str) -> None:
        barrier.wait()
        response = client.get(f"/artifact/model/{artifact_id}/rate", headers=auth)
        statuses.append(response.status_code)
        assert set(response.json()) == FIELDS

    threads = [threading.Thread(target=one, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 13


def test_upstream_failure_mid_rating_is_500_naming_the_failure_then_recovers(
    client: TestClient, auth: dict[str, str], emulator: EmulatorServer
) -> None:
    emulator.faults.add(r"/github/repos/google-research/bert$", status=503)
    artifact_id = register(client, auth, "model", BERT)["metadata"]["id"]  # registration still succeeds
    response = client.get(f"/artifact/model/{artifact_id}/rate", headers=auth)
    assert response.status_code == 500
    assert "evidence" in response.json()["failed_metrics"]
    emulator.faults.clear()
    assert rate(client, auth, artifact_id)["net_score"] > 0


def test_rate_errors(client: TestClient, auth: dict[str, str]) -> None:
    code = register(client, auth, "code", f"{GH}/psf/requests")["metadata"]["id"]
    assert client.get(f"/artifact/model/{code}/rate", headers=auth).status_code == 404
    assert client.get("/artifact/model/424242/rate", headers=auth).status_code == 404
    assert client.get("/artifact/model/not_valid!/rate", headers=auth).status_code == 400
    assert client.get("/artifact/model/424242/rate").status_code == 403


def test_ingest_admits_a_good_model_and_refuses_a_poor_one(client: TestClient, auth: dict[str, str]) -> None:
    admitted = client.post("/artifact/ingest", json={"url": BERT}, headers=auth)
    assert admitted.status_code == 201, admitted.text
    refused = client.post("/artifact/ingest", json={"url": f"{HF}/bare/no-card"}, headers=auth)
    assert refused.status_code == 424
    failing = refused.json()["details"]["failing_metrics"]
    assert "ramp_up_time" in failing
    assert all(v == "failed" or isinstance(v, (float, dict, str)) for v in failing.values())
    assert client.get("/artifact/byName/no-card", headers=auth).status_code == 404  # nothing stored
    listed = client.post("/artifacts", json=[{"name": "*"}], headers=auth).json()
    assert [a["name"] for a in listed] == ["bert-base-uncased"]


def test_gate_enforced_on_the_contract_route_when_configured(make_registry: Callable[..., Registry]) -> None:
    registry = make_registry(ingest_gate="enforce")
    with TestClient(create_app(registry=registry)) as client:
        auth = {"X-Authorization": client.put("/authenticate", json=auth_request()).json()}
        assert (
            client.post("/artifact/model", json={"url": f"{HF}/bare/no-card"}, headers=auth).status_code
            == 424
        )
        assert client.post("/artifact/model", json={"url": BERT}, headers=auth).status_code == 201
        assert (
            client.post(
                "/artifact/dataset", json={"url": f"{HF}/datasets/bare/empty-dataset"}, headers=auth
            ).status_code
            == 201
        )


@pytest.mark.parametrize(
    ("model", "github", "expected"),
    [
        (BERT, f"{GH}/google-research/bert", True),
        (BERT, f"{GH}/psf/requests", True),
        (f"{HF}/someone/nc-model", f"{GH}/psf/requests", False),
        (BERT, f"{GH}/nolicense/mystery", False),
    ],
)
def test_license_check(
    client: TestClient, auth: dict[str, str], model: str, github: str, expected: bool
) -> None:
    artifact_id = register(client, auth, "model", model)["metadata"]["id"]
    response = client.post(
        f"/artifact/model/{artifact_id}/license-check", json={"github_url": github}, headers=auth
    )
    assert response.status_code == 200, response.text
    assert response.json() is expected


def test_license_check_errors(client: TestClient, auth: dict[str, str], emulator: EmulatorServer) -> None:
    artifact_id = register(client, auth, "model", BERT)["metadata"]["id"]
    url = f"/artifact/model/{artifact_id}/license-check"
    assert client.post(url, json={"github_url": f"{GH}/nobody/nothing"}, headers=auth).status_code == 404
    assert (
        client.post(
            "/artifact/model/424242/license-check", json={"github_url": f"{GH}/psf/requests"}, headers=auth
        ).status_code
        == 404
    )
    assert client.post(url, json={"github_url": "https://gitlab.com/a/b"}, headers=auth).status_code == 400
    assert client.post(url, json={}, headers=auth).status_code == 400
    emulator.faults.add(r"/github/repos/weird/custom-license", status=500)
    assert (
        client.post(url, json={"github_url": f"{GH}/weird/custom-license"}, headers=auth).status_code == 502
    )


def test_updating_a_model_re_rates_it(client: TestClient, auth: dict[str, str]) -> None:
    artifact_id = register(client, auth, "model", f"{HF}/nomic/tiny-mit-model", name="m")["metadata"]["id"]
    before = rate(client, auth, artifact_id)
    body = {
        "metadata": {"name": "m", "id": artifact_id, "type": "model"},
        "data": {"url": f"{HF}/someone/nc-model"},
    }
    assert client.put(f"/artifacts/model/{artifact_id}", json=body, headers=auth).status_code == 200
    after = rate(client, auth, artifact_id)
    assert after["license"] < before["license"]


def test_tree_score_is_the_parents_net_score(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    base = register(client, auth, "model", f"{HF}/acme/base-lm")["metadata"]["id"]
    fine = register(client, auth, "model", f"{HF}/acme/base-lm-finetuned")["metadata"]["id"]
    # Even when the parent's rating is gone, rating the child rates the parent first.
    stored = registry.store.load_rating(base)
    assert stored is not None
    registry.store.save_rating(base, dataclasses.replace(stored, failed=True))
    child = client.get(f"/artifact/model/{fine}/rate", headers=auth)
    assert child.status_code == 200
    parent = rate(client, auth, base)
    assert child.json()["tree_score"] == pytest.approx(parent["net_score"])


def test_the_gate_s_rating_is_served_not_recomputed(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    admitted = client.post("/artifact/ingest", json={"url": BERT}, headers=auth)
    assert admitted.status_code == 201, admitted.text
    artifact_id = admitted.json()["metadata"]["id"]
    kept = registry.store.load_rating(artifact_id)
    assert kept is not None
    assert client.get(f"/artifact/model/{artifact_id}/rate", headers=auth).status_code == 200
    assert registry.store.load_rating(artifact_id) == kept  # the gate's own rating, not a new one
