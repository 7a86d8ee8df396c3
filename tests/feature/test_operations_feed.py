"""The operations feed (`/operations/...`): every instance's activity and the recent log lines,
read through the same metadata store whichever instance answers."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.feature.conftest import BERT, GH, register
from tests.support import auth_request
from tmr.accounts.models import User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.container import Registry

BERT_REPO = BERT.removeprefix("https://huggingface.co/")


@pytest.fixture
def ops(make_registry: Callable[..., Registry]) -> Registry:
    return make_registry(ops_flush_s=0)  # every request ends with a flush: no waiting in tests


@pytest.fixture
def ops_client(ops: Registry) -> Iterator[TestClient]:
    with TestClient(create_app(registry=ops)) as client:
        yield client


@pytest.fixture
def admin(ops_client: TestClient) -> dict[str, str]:
    return {"X-Authorization": ops_client.put("/authenticate", json=auth_request()).json()}


@pytest.fixture
def alice(ops: Registry, ops_client: TestClient) -> dict[str, str]:
    ops.store.put_user(User("alice", False, hash_password("alice-pw")))
    return {"X-Authorization": ops_client.put("/authenticate", json=auth_request("alice-pw", "alice")).json()}


def activity(client: TestClient, headers: dict[str, str], window: int = 60) -> dict[str, Any]:
    response = client.get("/operations/activity", params={"window": window}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_activity_counts_requests_registrations_and_downloads(
    ops_client: TestClient, admin: dict[str, str]
) -> None:
    bert = register(ops_client, admin, "model", BERT)["metadata"]["id"]
    register(ops_client, admin, "code", f"{GH}/psf/requests")
    whole = ops_client.get(f"/download/{bert}", headers=admin)
    first = ops_client.get(f"/download/{bert}", headers={**admin, "Range": "bytes=0-99"})
    rest = ops_client.get(f"/download/{bert}", headers={**admin, "Range": "bytes=100-"})
    hub = ops_client.get(
        f"/{BERT_REPO}/resolve/main/config.json",
        headers={"Authorization": f"Bearer {admin['X-Authorization']}"},
    )
    not_modified = ops_client.get(
        f"/download/{bert}", headers={**admin, "If-None-Match": whole.headers["etag"]}
    )
    assert [r.status_code for r in (whole, first, rest, hub, not_modified)] == [200, 206, 206, 200, 304]
    missing = ops_client.get("/artifacts/model/12345", headers=admin)
    assert missing.status_code == 404

    body = activity(ops_client, admin)
    totals = body["totals"]
    # authenticate, 2 registrations, 5 downloads (one of them a 304), one 404: 9 before this one
    assert totals["requests"] == 9
    assert (totals["errors"], totals["server_errors"]) == (1, 0)
    assert totals["error_rate"] == round(1 / 9, 4)
    assert totals["registrations"] == {"code": 1, "model": 1}
    # The whole package, the range from byte 0 and the Hub file start downloads; the rest of a
    # range does not; the 304 serves nothing. Every byte answered is counted.
    assert totals["downloads"] == 3
    sent = sum(len(r.content) for r in (whole, first, rest, hub))
    assert totals["bytes_served"] == sent
    latency = totals["latency"]
    assert 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"]
    routes = {r["route"]: r["requests"] for r in body["routes"]}
    assert routes["POST /artifact/{artifact_type}"] == 2
    assert routes["GET /download/{id}"] == 4
    assert sum(routes.values()) == 9
    assert len(body["minutes"]) == 60
    assert sum(m["requests"] for m in body["minutes"]) == 9
    assert sum(m["downloads"] for m in body["minutes"]) == 3
    assert sum(sum(m["by_route"].values()) for m in body["minutes"]) == 9
    assert body["instances"] == 1
    components = {c["id"]: c for c in body["components"]["components"]}
    assert {"api", "metadata_store", "blob_store"} <= set(components)
    assert all(c["observed_at"].endswith("Z") for c in components.values())


@pytest.mark.parametrize("window", [5, 15, 60])
def test_each_window_has_one_entry_per_minute(
    ops_client: TestClient, admin: dict[str, str], window: int
) -> None:
    body = activity(ops_client, admin, window)
    assert body["window_minutes"] == window
    assert len(body["minutes"]) == window
    starts = [m["minute"] for m in body["minutes"]]
    assert starts == sorted(starts)
    assert body["totals"]["requests"] >= 1  # the authentication, in the current minute


@pytest.mark.parametrize("window", ["7", "0", "1440", "-5", "sixty", ""])
def test_an_unknown_window_is_400(ops_client: TestClient, admin: dict[str, str], window: str) -> None:
    response = ops_client.get("/operations/activity", params={"window": window}, headers=admin)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"


def test_the_feed_needs_a_token(ops_client: TestClient) -> None:
    assert ops_client.get("/operations/activity").status_code == 403
    assert ops_client.get("/operations/logs").status_code == 403
    bad = {"X-Authorization": "bearer not-a-token"}
    assert ops_client.get("/operations/activity", headers=bad).status_code == 403


def test_activity_is_for_any_user_logs_for_admins(ops_client: TestClient, alice: dict[str, str]) -> None:
    assert ops_client.get("/operations/activity", headers=alice).status_code == 200
    for path in ("/operations/logs", "/operations/logs.jsonl"):
        refused = ops_client.get(path, headers=alice)
        assert refused.status_code == 401
        assert refused.json()["code"] == "permission_denied"


def test_logs_filter_by_level_and_text(ops_client: TestClient, admin: dict[str, str]) -> None:
    ops_client.get("/artifacts/model/424242", headers=admin)
    logging.getLogger("tmr.test.feed").warning("disk nearly full on %s", "blob-store", extra={"free": 3})
    logging.getLogger("tmr.test.feed").debug("never kept")

    everything = ops_client.get("/operations/logs", headers=admin)
    assert everything.status_code == 200
    lines = everything.json()["lines"]
    assert lines == sorted(lines, key=lambda line: line["at"], reverse=True)
    assert {line["level"] for line in lines} == {"info", "warning"}
    request_paths = [line["fields"].get("path") for line in lines if line["message"] == "request"]
    assert "/artifacts/model/424242" in request_paths  # the request log line, with its fields

    warnings = ops_client.get("/operations/logs", params={"level": "warning"}, headers=admin).json()["lines"]
    assert [(w["logger"], w["message"], w["fields"]) for w in warnings] == [
        ("tmr.test.feed", "disk nearly full on blob-store", {"free": 3})
    ]
    found = ops_client.get("/operations/logs", params={"q": "424242"}, headers=admin).json()["lines"]
    assert [line["fields"]["status"] for line in found] == [404]
    one = ops_client.get("/operations/logs", params={"limit": 1}, headers=admin).json()["lines"]
    assert len(one) == 1

    for params in ({"level": "loud"}, {"limit": 0}, {"limit": 5000}, {"q": "x" * 500}):
        refused = ops_client.get("/operations/logs", params=params, headers=admin)
        assert refused.status_code == 400, params


def test_logs_download_as_json_lines(ops_client: TestClient, admin: dict[str, str]) -> None:
    logging.getLogger("tmr.test.feed").error("rating failed for %s", "bert")
    response = ops_client.get("/operations/logs.jsonl", params={"level": "error"}, headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert disposition.endswith('.jsonl"')
    rows = [json.loads(text) for text in response.text.splitlines()]
    assert [(r["level"], r["message"]) for r in rows] == [("error", "rating failed for bert")]
    assert set(rows[0]) == {"at", "level", "logger", "message", "instance", "fields"}
    everything = ops_client.get("/operations/logs.jsonl", headers=admin).text.splitlines()
    assert len(everything) > 1


def test_two_instances_sharing_a_database_show_the_same_sums(
    make_registry: Callable[..., Registry], tmp_path: Path
) -> None:
    shared = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    one, two = (
        make_registry(database_url=shared, ops_flush_s=0),
        make_registry(database_url=shared, ops_flush_s=0),
    )
    with TestClient(create_app(registry=one)) as a, TestClient(create_app(registry=two)) as b:
        token = {"X-Authorization": a.put("/authenticate", json=auth_request()).json()}
        for _ in range(3):
            assert a.post("/artifacts", json=[{"name": "*"}], headers=token).status_code == 200
        for _ in range(2):
            assert b.post("/artifacts", json=[{"name": "*"}], headers=token).status_code == 200
        assert b.get("/artifacts/code/999", headers=token).status_code == 404

        seen_by_a = activity(a, token)
        seen_by_b = activity(b, token)
    # 1 authenticate + 3 on one; 3 on two: seven requests before the first read
    assert seen_by_a["totals"]["requests"] == 7
    assert seen_by_b["totals"]["requests"] == 8  # and a's read, flushed when it answered
    assert seen_by_a["instances"] == seen_by_b["instances"] == 2
    assert seen_by_a["totals"]["errors"] == seen_by_b["totals"]["errors"] == 1
    routes_a = {r["route"]: r["requests"] for r in seen_by_a["routes"]}
    assert routes_a["POST /artifacts"] == 5


def test_a_failing_flush_never_fails_the_request(
    ops: Registry, ops_client: TestClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object) -> None:
        raise ConnectionError("the database went away")

    store = ops.activity._store
    monkeypatch.setattr(store, "save_minutes", refuse)
    monkeypatch.setattr(store, "append_logs", refuse)
    assert ops_client.get("/health").status_code == 200
    assert ops_client.post("/artifacts", json=[{"name": "*"}], headers=admin).status_code == 200
    monkeypatch.undo()
    body = activity(ops_client, admin)
    assert body["totals"]["requests"] == 3  # kept in memory, written by the next flush
    warnings = ops_client.get("/operations/logs", params={"q": "failed"}, headers=admin).json()["lines"]
    assert any(line["message"].startswith("operations: saving") for line in warnings)


def test_the_feed_is_in_the_openapi_document(ops_client: TestClient) -> None:
    spec = ops_client.get("/openapi.json").json()
    for path in ("/operations/activity", "/operations/logs", "/operations/logs.jsonl"):
        assert "get" in spec["paths"][path], path
    activity_op = spec["paths"]["/operations/activity"]["get"]
    assert {p["name"] for p in activity_op["parameters"]} >= {"window", "X-Authorization"}
    schema = activity_op["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/ActivityOut")
    assert "MinuteOut" in spec["components"]["schemas"]
    assert (
        "application/x-ndjson"
        in spec["paths"]["/operations/logs.jsonl"]["get"]["responses"]["200"]["content"]
    )


def test_health_components_still_reports_this_worker(ops_client: TestClient, admin: dict[str, str]) -> None:
    ops_client.post("/artifacts", json=[{"name": "*"}], headers=admin)
    body = ops_client.get("/health/components", params={"windowMinutes": 5}).json()
    api = {c["id"]: c for c in body["components"]}["api"]
    assert api["metrics"]["requests"] == 2.0
