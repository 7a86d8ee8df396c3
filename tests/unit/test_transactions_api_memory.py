"""The transactions routes, their SQL rows and pages on the in-memory registry (plain URLs, which
tmr registers without fetching): open, append, execute all at once, read, list, abandon, and
the refusals of each door."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.memory_app import ADMIN_HEADERS, memory_client

AUTH = ADMIN_HEADERS


@pytest.fixture
def client() -> Iterator[TestClient]:
    with memory_client() as (built, _registry):
        yield built


def command(client: TestClient, tid: str, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
    response = client.post(f"/transactions/{tid}/commands", json=body, headers=AUTH)
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


def test_two_codes_commit_together_and_read_back(client: TestClient) -> None:
    tid = client.post("/transactions", headers=AUTH).json()["id"]
    command(client, tid, {"op": "register", "type": "code", "url": "https://example.org/a.git", "name": "a"})
    second = command(client, tid, {"op": "register", "type": "code", "url": "https://example.org/b.git"})
    assert (second["index"], second["op"], second["result"]) == (1, "register", None)
    assert client.post("/artifacts", json=[{"name": "*"}], headers=AUTH).json() == []
    executed = client.post(f"/transactions/{tid}/execute", headers=AUTH)
    assert executed.status_code == 200, executed.text
    ids = [r["metadata"]["id"] for r in executed.json()["results"]]
    assert len(client.post("/artifacts", json=[{"name": "*"}], headers=AUTH).json()) == 2
    shown = client.get(f"/transactions/{tid}", headers=AUTH).json()
    assert shown["state"] == "committed"
    assert [c["result"]["metadata"]["id"] for c in shown["commands"]] == ids
    listed = client.get("/transactions", params={"limit": 1}, headers=AUTH).json()
    assert [(t["id"], t["command_count"], t["commands"]) for t in listed] == [(tid, 2, [])]

    # Update one and delete the other, at once; the audit names the update.
    tid = client.post("/transactions", headers=AUTH).json()["id"]
    command(client, tid, {"op": "update", "type": "code", "id": ids[0], "url": "https://example.org/a2.git"})
    command(client, tid, {"op": "delete", "type": "code", "id": ids[1]})
    assert client.post(f"/transactions/{tid}/execute", headers=AUTH).status_code == 200
    assert (
        client.get(f"/artifacts/code/{ids[0]}", headers=AUTH).json()["data"]["url"]
        == "https://example.org/a2.git"
    )
    assert client.get(f"/artifacts/code/{ids[1]}", headers=AUTH).status_code == 404


def test_refusals(client: TestClient) -> None:
    tid = client.post("/transactions", headers=AUTH).json()["id"]
    url = "https://example.org/c.git"
    command(client, tid, {"op": "register", "type": "code", "url": url})
    assert (
        "touches each artifact once"
        in command(client, tid, {"op": "register", "type": "code", "url": url}, 409)["detail"]
    )
    assert (
        command(client, tid, {"op": "register", "type": "code"}, 400)["detail"]
        == "register commands need 'url'"
    )
    abandoned = client.delete(f"/transactions/{tid}", headers=AUTH).json()
    assert (abandoned["state"], abandoned["reason"]) == ("abandoned", "abandoned by ece30861defaultadminuser")
    assert client.post(f"/transactions/{tid}/execute", headers=AUTH).status_code == 409
    assert client.get("/transactions/nope", headers=AUTH).status_code == 404
    assert client.get("/transactions").status_code == 403
