"""Transactions over HTTP in process: commands checked when appended, applied all or none, owned
by their user, expiring on the service's clock; every refusal with its status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.emulator.server import EmulatorServer
from tests.feature.conftest import BERT, GH, HF, register
from tests.support import auth_request
from tests.zips import model_files, zip_bytes
from tmr.accounts.models import User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.artifacts.service import ArtifactService
from tmr.container import Registry
from tmr.storage.transactions import SqlTransactionStore
from tmr.transactions.service import TransactionService

IMDB = f"{HF}/datasets/stanfordnlp/imdb"
REQUESTS = f"{GH}/psf/requests"
ZIP = {"Content-Type": "application/zip"}


def opened(client: TestClient, auth: dict[str, str]) -> str:
    response = client.post("/transactions", headers=auth)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "open"
    assert body["commands"] == []
    transaction_id: str = body["id"]
    return transaction_id


def append(
    client: TestClient, auth: dict[str, str], tid: str, command: dict[str, Any], expect: int = 201
) -> dict[str, Any]:
    response = client.post(f"/transactions/{tid}/commands", json=command, headers=auth)
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


def listed(client: TestClient, auth: dict[str, str]) -> list[tuple[str, str]]:
    response = client.post("/artifacts", json=[{"name": "*"}], headers=auth)
    assert response.status_code == 200, response.text
    return sorted((a["type"], a["name"]) for a in response.json())


def login(client: TestClient, registry: Registry, name: str, admin: bool = False) -> dict[str, str]:
    registry.store.put_user(User(name, admin, hash_password("pw-" + name)))
    response = client.put("/authenticate", json=auth_request("pw-" + name, name))
    assert response.status_code == 200, response.text
    return {"X-Authorization": response.json()}


def test_three_artifacts_become_visible_together(client: TestClient, auth: dict[str, str]) -> None:
    tid = opened(client, auth)
    first = append(client, auth, tid, {"op": "register", "type": "model", "url": BERT})
    append(client, auth, tid, {"op": "register", "type": "dataset", "url": IMDB, "name": "imdb"})
    append(client, auth, tid, {"op": "register", "type": "code", "url": REQUESTS})
    assert first["index"] == 0
    assert first["result"] is None
    assert listed(client, auth) == []  # appended, not applied

    response = client.post(f"/transactions/{tid}/execute", headers=auth)
    assert response.status_code == 200, response.text
    executed = response.json()
    assert executed["state"] == "committed"
    assert [(r["index"], r["op"], r["metadata"]["type"]) for r in executed["results"]] == [
        (0, "register", "model"),
        (1, "register", "dataset"),
        (2, "register", "code"),
    ]
    assert listed(client, auth) == [
        ("code", "requests"),
        ("dataset", "imdb"),
        ("model", "bert-base-uncased"),
    ]
    model = executed["results"][0]
    assert model["data"]["download_url"].endswith(f"/download/{model['metadata']['id']}")
    assert client.get(f"/artifact/model/{model['metadata']['id']}/rate", headers=auth).status_code == 200
    audit = client.get(f"/artifact/model/{model['metadata']['id']}/audit", headers=auth).json()
    assert audit[0]["action"] == "CREATE"

    shown = client.get(f"/transactions/{tid}", headers=auth).json()
    assert shown["state"] == "committed"
    assert shown["finished_at"] is not None
    assert [c["result"]["metadata"]["id"] for c in shown["commands"]] == [
        r["metadata"]["id"] for r in executed["results"]
    ]
    # Executing again is a conflict: only one execute can flip it from open.
    again = client.post(f"/transactions/{tid}/execute", headers=auth)
    assert again.status_code == 409
    assert f"transaction {tid} is committed" in again.json()["detail"]
    assert client.delete(f"/transactions/{tid}", headers=auth).status_code == 409
    assert append(client, auth, tid, {"op": "ingest", "url": BERT}, expect=409)


@pytest.mark.parametrize(
    ("command", "status", "words"),
    [
        ({"op": "rename", "type": "model", "url": BERT}, 400, "invalid command: op"),
        ({"op": "register", "type": "weights", "url": BERT}, 400, "invalid command: type"),
        ({"op": "register", "type": "model"}, 400, "register commands need 'url'"),
        ({"op": "register", "type": "model", "url": BERT, "id": "1"}, 400, "register commands take no 'id'"),
        ({"op": "register", "type": "model", "url": "ftp://example.com/x"}, 400, ""),
        ({"op": "ingest", "type": "dataset", "url": IMDB}, 400, "ingest commands admit models only"),
        ({"op": "update", "type": "model", "url": BERT}, 400, "update commands need 'id'"),
        ({"op": "delete", "type": "model", "id": "123"}, 404, "no artifact with id 123"),
        ({"op": "delete", "type": "model", "id": "bad id!"}, 400, "artifact id must match"),
        ({"op": "update", "type": "model", "id": "123", "url": BERT}, 404, "no artifact with id 123"),
        ({"op": "register", "type": "model", "url": BERT, "extra": 1}, 400, "invalid command: extra"),
    ],
)
def test_a_bad_command_is_refused_when_appended(
    client: TestClient, auth: dict[str, str], command: dict[str, Any], status: int, words: str
) -> None:
    tid = opened(client, auth)
    refused = append(client, auth, tid, command, expect=status)
    assert words in refused["detail"]
    assert client.get(f"/transactions/{tid}", headers=auth).json()["command_count"] == 0


def test_bodies_that_are_not_commands_are_refused(client: TestClient, auth: dict[str, str]) -> None:
    tid = opened(client, auth)
    path = f"/transactions/{tid}/commands"
    not_json = client.post(path, content=b"{nope", headers=auth | {"Content-Type": "application/json"})
    assert not_json.status_code == 400
    assert "not a JSON command" in not_json.json()["detail"]
    text = client.post(path, content=b"hello", headers=auth | {"Content-Type": "text/plain"})
    assert text.status_code == 415
    stray = client.post(f"{path}?type=model", json={"op": "ingest", "url": BERT}, headers=auth)
    assert stray.status_code == 400
    assert "belong to ?op=upload" in stray.json()["detail"]
    nameless = client.post(f"{path}?op=upload&type=model", content=b"PK", headers=auth | ZIP)
    assert nameless.status_code == 400
    assert "needs ?type= and ?name=" in nameless.json()["detail"]
    as_json = client.post(f"{path}?op=upload&type=model&name=x", json={}, headers=auth)
    assert as_json.status_code == 400
    assert "the zip itself, not JSON" in as_json.json()["detail"]
    unasked = client.post(path, content=b"PK", headers=auth | ZIP)
    assert unasked.status_code == 400
    assert "a zip is an upload command" in unasked.json()["detail"]
    octets = client.post(
        f"{path}?op=upload&type=model&name=x", content=b"x", headers=auth | {"Content-Type": "text/csv"}
    )
    assert octets.status_code == 415
    assert client.post("/transactions/no-such/execute", headers=auth).status_code == 404
    assert client.get("/transactions/bad%20id", headers=auth).status_code == 400


def test_a_json_command_is_capped_like_any_json_body(
    make_registry: Callable[..., Registry], emulator: EmulatorServer
) -> None:
    registry = make_registry(max_body_bytes=1024)
    with TestClient(create_app(registry=registry)) as client:
        auth = {"X-Authorization": client.put("/authenticate", json=auth_request()).json()}
        tid = opened(client, auth)
        big = b'{"op": "ingest", "url": "' + b"x" * 2048 + b'"}'
        path = f"/transactions/{tid}/commands"
        chunked = client.post(path, content=iter([big[:1000], big[1000:]]), headers=auth)
        assert chunked.status_code == 413
        assert "request body exceeds 1024 bytes" in chunked.json()["detail"]
        announced = client.post(path, content=big, headers=auth | {"Content-Type": "application/json"})
        assert announced.status_code == 413


def test_an_empty_transaction_has_nothing_to_execute(client: TestClient, auth: dict[str, str]) -> None:
    tid = opened(client, auth)
    response = client.post(f"/transactions/{tid}/execute", headers=auth)
    assert response.status_code == 400
    assert "no commands" in response.json()["detail"]


def test_one_transaction_touches_an_artifact_once(
    client: TestClient, auth: dict[str, str], bert: str
) -> None:
    tid = opened(client, auth)
    append(client, auth, tid, {"op": "register", "type": "code", "url": REQUESTS})
    twice = append(client, auth, tid, {"op": "register", "type": "code", "url": REQUESTS, "name": "x"}, 409)
    assert "touches each artifact once" in twice["detail"]
    append(client, auth, tid, {"op": "update", "type": "model", "id": bert, "url": BERT})
    append(client, auth, tid, {"op": "delete", "type": "model", "id": bert}, expect=409)
    taken = append(client, auth, tid, {"op": "ingest", "url": BERT}, expect=409)
    assert "already registered" in taken["detail"]


def test_someone_elses_transaction_does_not_exist_for_them(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    alice = login(client, registry, "alice")
    bob = login(client, registry, "bob")
    admin2 = login(client, registry, "root2", admin=True)
    tid = opened(client, alice)
    for method, path in [
        ("GET", f"/transactions/{tid}"),
        ("DELETE", f"/transactions/{tid}"),
        ("POST", f"/transactions/{tid}/execute"),
    ]:
        response = client.request(method, path, headers=bob)
        assert response.status_code == 404, (method, path, response.text)
        assert f"no transaction with id {tid}" in response.json()["detail"]
    append(client, bob, tid, {"op": "ingest", "url": BERT}, expect=404)
    assert client.get("/transactions", headers=bob).json() == []
    # An admin sees everyone's and may read them, but not add to someone else's.
    assert tid in [t["id"] for t in client.get("/transactions", headers=admin2).json()]
    assert client.get(f"/transactions/{tid}", headers=admin2).status_code == 200
    refused = append(client, admin2, tid, {"op": "ingest", "url": BERT}, expect=401)
    assert refused["details"]["missing_permission"] == "owner"
    assert [t["id"] for t in client.get("/transactions", headers=alice).json()] == [tid]


def test_the_upload_permission_is_needed(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    registry.store.put_user(User("reader", False, hash_password("pw-reader"), permissions=frozenset()))
    response = client.put("/authenticate", json=auth_request("pw-reader", "reader"))
    reader = {"X-Authorization": response.json()}
    refused = client.post("/transactions", headers=reader)
    assert refused.status_code == 401
    assert refused.json()["details"]["missing_permission"] == "upload"


def test_changing_someone_elses_artifact_is_refused_when_appended(
    client: TestClient, registry: Registry, bert: str
) -> None:
    mallory = login(client, registry, "mallory")
    tid = opened(client, mallory)
    refused = append(client, mallory, tid, {"op": "delete", "type": "model", "id": bert}, expect=401)
    assert refused["details"]["missing_permission"] == "owner"


def test_a_failing_command_leaves_every_artifact_as_it_was(
    client: TestClient, auth: dict[str, str], emulator: EmulatorServer, bert: str
) -> None:
    tid = opened(client, auth)
    append(client, auth, tid, {"op": "register", "type": "code", "url": REQUESTS})
    append(client, auth, tid, {"op": "delete", "type": "model", "id": bert})
    append(client, auth, tid, {"op": "register", "type": "dataset", "url": IMDB})
    emulator.faults.add(r"/api/datasets/stanfordnlp/imdb", status=500)
    response = client.post(f"/transactions/{tid}/execute", headers=auth)
    assert response.status_code in (502, 503)  # as the single door answers an upstream that fails
    body = response.json()
    assert body["detail"].startswith("command 2 (register) failed: ")
    assert body["details"]["index"] == 2
    assert listed(client, auth) == [("model", "bert-base-uncased")]  # nothing deleted, nothing added
    shown = client.get(f"/transactions/{tid}", headers=auth).json()
    assert shown["state"] == "failed"
    assert shown["error"]["index"] == 2
    assert shown["error"]["status"] == response.status_code
    assert shown["reason"] == body["detail"]
    assert client.post(f"/transactions/{tid}/execute", headers=auth).status_code == 409


def test_a_model_below_the_gate_keeps_everything_out(client: TestClient, auth: dict[str, str]) -> None:
    tid = opened(client, auth)
    append(client, auth, tid, {"op": "register", "type": "code", "url": REQUESTS})
    append(client, auth, tid, {"op": "ingest", "url": f"{HF}/bare/no-card"})
    response = client.post(f"/transactions/{tid}/execute", headers=auth)
    assert response.status_code == 424, response.text
    assert response.json()["details"]["index"] == 1
    assert response.json()["details"]["failing_metrics"]
    assert listed(client, auth) == []
    assert client.get(f"/transactions/{tid}", headers=auth).json()["error"]["code"] == "disqualified"


def test_an_artifact_changed_since_its_command_is_a_conflict(
    client: TestClient, auth: dict[str, str], bert: str
) -> None:
    tid = opened(client, auth)
    append(client, auth, tid, {"op": "register", "type": "code", "url": REQUESTS})
    append(client, auth, tid, {"op": "update", "type": "model", "id": bert, "url": f"{HF}/acme/base-lm"})
    # The single door changes the model after the command recorded its revision.
    body = {"metadata": {"name": "bert-base-uncased", "id": bert, "type": "model"}, "data": {"url": BERT}}
    assert client.put(f"/artifacts/model/{bert}", json=body, headers=auth).status_code == 200
    response = client.post(f"/transactions/{tid}/execute", headers=auth)
    assert response.status_code == 409, response.text
    assert response.json()["details"]["index"] == 1
    assert "changed or was deleted since the command was appended" in response.json()["detail"]
    assert listed(client, auth) == [("model", "bert-base-uncased")]
    assert client.get(f"/artifacts/model/{bert}", headers=auth).json()["data"]["url"] == BERT


def test_a_source_registered_meanwhile_is_a_conflict(client: TestClient, auth: dict[str, str]) -> None:
    tid = opened(client, auth)
    append(client, auth, tid, {"op": "register", "type": "dataset", "url": IMDB})
    append(client, auth, tid, {"op": "register", "type": "code", "url": REQUESTS})
    register(client, auth, "code", REQUESTS)
    response = client.post(f"/transactions/{tid}/execute", headers=auth)
    assert response.status_code == 409
    assert response.json()["details"]["index"] == 1
    assert listed(client, auth) == [("code", "requests")]


def test_updates_and_deletes_commit_together(client: TestClient, auth: dict[str, str], bert: str) -> None:
    code = register(client, auth, "code", REQUESTS)["metadata"]["id"]
    tid = opened(client, auth)
    append(client, auth, tid, {"op": "update", "type": "model", "id": bert, "url": f"{HF}/acme/base-lm"})
    append(client, auth, tid, {"op": "delete", "type": "code", "id": code})
    response = client.post(f"/transactions/{tid}/execute", headers=auth)
    assert response.status_code == 200, response.text
    assert [r["op"] for r in response.json()["results"]] == ["update", "delete"]
    assert client.get(f"/artifacts/model/{bert}", headers=auth).json()["data"]["url"] == f"{HF}/acme/base-lm"
    assert client.get(f"/artifacts/code/{code}", headers=auth).status_code == 404
    actions = [e["action"] for e in client.get(f"/artifact/model/{bert}/audit", headers=auth).json()]
    assert "UPDATE" in actions


def test_a_staged_upload_is_kept_until_its_transaction_ends(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    tid = opened(client, auth)
    files = model_files(seed=31)
    path = f"/transactions/{tid}/commands?op=upload&type=model&name=acme/staged&version=1.2.3"
    response = client.post(path, content=zip_bytes(files), headers=auth | ZIP)
    assert response.status_code == 201, response.text
    staged = response.json()
    assert staged["op"] == "upload"
    assert staged["version"] == "1.2.3"
    assert staged["staged_files"] == len(files)
    assert listed(client, auth) == []
    stored = set(registry.blobs.iter_digests())
    assert stored
    assert registry.artifacts.collect_orphans() == 0  # staged: referenced while open

    assert client.delete(f"/transactions/{tid}", headers=auth).json()["state"] == "abandoned"
    assert registry.artifacts.collect_orphans() == len(stored)

    tid = opened(client, auth)
    path = f"/transactions/{tid}/commands?op=upload&type=model&name=acme/staged"
    assert client.post(path, content=zip_bytes(files), headers=auth | ZIP).status_code == 201
    response = client.post(f"/transactions/{tid}/execute", headers=auth)
    assert response.status_code == 200, response.text
    artifact_id = response.json()["results"][0]["metadata"]["id"]
    assert listed(client, auth) == [("model", "acme/staged")]
    assert client.get(f"/download/{artifact_id}", headers=auth).status_code == 200
    assert registry.artifacts.collect_orphans() == 0


def test_an_expired_transaction_reads_abandoned(
    make_registry: Callable[..., Registry], emulator: EmulatorServer
) -> None:
    registry = make_registry(transaction_ttl_s=60)
    now = [datetime.now(UTC)]
    store = SqlTransactionStore(registry.store.engine)  # type: ignore[attr-defined]
    registry.transactions = TransactionService(
        store, registry.artifacts, registry.registration, ttl_s=60, clock=lambda: now[0]
    )
    collector = ArtifactService(registry.store, registry.blobs, clock=lambda: now[0])
    with TestClient(create_app(registry=registry)) as client:
        auth = {"X-Authorization": client.put("/authenticate", json=auth_request()).json()}
        tid = opened(client, auth)
        path = f"/transactions/{tid}/commands?op=upload&type=model&name=acme/late"
        assert (
            client.post(path, content=zip_bytes(model_files(seed=32)), headers=auth | ZIP).status_code == 201
        )
        assert collector.collect_orphans() == 0
        now[0] += timedelta(seconds=61)
        shown = client.get(f"/transactions/{tid}", headers=auth).json()
        assert shown["state"] == "abandoned"
        assert "expired at" in shown["reason"]
        assert append(client, auth, tid, {"op": "ingest", "url": BERT}, expect=409)["detail"].startswith(
            f"transaction {tid} is abandoned (expired at"
        )
        assert client.post(f"/transactions/{tid}/execute", headers=auth).status_code == 409
        assert client.delete(f"/transactions/{tid}", headers=auth).status_code == 409
        assert client.get("/transactions", headers=auth).json()[0]["state"] == "abandoned"
        assert collector.collect_orphans() > 0  # the staged blobs are orphans now
