"""tmr's HTTP API over a registry in memory: the contract's artifact, search, download, audit and
system routes, tmr's users, operations and Hugging Face-compatible reads. Status codes, bodies
and headers as a client sees them; artifacts come from plain URLs (never fetched) or are seeded."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from fastapi.testclient import TestClient

from tests.support import ADMIN, auth_request
from tests.unit.memory_app import ADMIN_HEADERS, memory_client, seed
from tmr.artifacts.models import ArtifactType
from tmr.container import Registry


def register(client: TestClient, type_: str, url: str, name: str | None = None) -> dict[str, Any]:
    body = {"url": url} | ({"name": name} if name else {})
    response = client.post(f"/artifact/{type_}", json=body, headers=ADMIN_HEADERS)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def make_user(client: TestClient, name: str, *permissions: str) -> dict[str, str]:
    body = {"user": {"name": name, "is_admin": False}, "secret": {"password": f"pw-{name}-long-enough"}}
    created = client.post("/users", json=body | {"permissions": list(permissions)}, headers=ADMIN_HEADERS)
    assert created.status_code == 201, created.text
    token = client.put("/authenticate", json=auth_request(f"pw-{name}-long-enough", name))
    assert token.status_code == 200, token.text
    return {"X-Authorization": token.json()}


# -- artifacts ------------------------------------------------------------------------------------------


def test_an_artifact_registers_reads_updates_and_deletes(client: TestClient) -> None:
    created = register(client, "code", "https://example.org/tools.git", name="tools")
    artifact_id = created["metadata"]["id"]
    assert created["metadata"] == {"name": "tools", "id": artifact_id, "type": "code"}
    assert created["data"]["url"] == "https://example.org/tools.git"  # verbatim
    read = client.get(f"/artifacts/code/{artifact_id}", headers=ADMIN_HEADERS)
    assert read.status_code == 200
    assert read.json()["metadata"]["name"] == "tools"
    assert client.get(f"/artifacts/model/{artifact_id}", headers=ADMIN_HEADERS).status_code == 404
    assert client.get("/artifacts/code/999", headers=ADMIN_HEADERS).status_code == 404
    update = {
        "metadata": {"name": "tools", "id": artifact_id, "type": "code"},
        "data": {"url": "https://example.org/tools2"},
    }
    assert client.put(f"/artifacts/code/{artifact_id}", json=update, headers=ADMIN_HEADERS).status_code == 200
    assert (
        client.get(f"/artifacts/code/{artifact_id}", headers=ADMIN_HEADERS).json()["data"]["url"]
        == "https://example.org/tools2"
    )
    mismatched = update | {"metadata": {"name": "tools", "id": "other", "type": "code"}}
    assert (
        client.put(f"/artifacts/code/{artifact_id}", json=mismatched, headers=ADMIN_HEADERS).status_code
        == 400
    )
    audit = client.get(f"/artifact/code/{artifact_id}/audit", headers=ADMIN_HEADERS)
    assert audit.status_code == 200
    assert [entry["action"] for entry in audit.json()][:2] == ["CREATE", "UPDATE"]
    assert client.delete(f"/artifacts/code/{artifact_id}", headers=ADMIN_HEADERS).status_code == 200
    assert client.get(f"/artifacts/code/{artifact_id}", headers=ADMIN_HEADERS).status_code == 404


def test_registration_refuses_bad_requests(client: TestClient) -> None:
    assert (
        client.post(
            "/artifact/boat", json={"url": "https://example.org/x"}, headers=ADMIN_HEADERS
        ).status_code
        == 400
    )
    assert client.post("/artifact/model", json={"nope": 1}, headers=ADMIN_HEADERS).status_code == 400
    assert client.post("/artifact/model", json={"url": "https://example.org/x"}).status_code == 403
    register(client, "dataset", "https://example.org/d")
    again = client.post("/artifact/dataset", json={"url": "https://example.org/d"}, headers=ADMIN_HEADERS)
    assert again.status_code == 409


def test_search_lists_pages_by_name_and_by_regex() -> None:
    with memory_client(page_size=2) as (client, registry):
        search_lists_pages_by_name_and_by_regex(client, registry)


def search_lists_pages_by_name_and_by_regex(client: TestClient, registry: Registry) -> None:
    for index in range(3):
        register(client, "code", f"https://example.org/c{index}", name=f"lib-{index}")
    seed(
        registry,
        "sentiment-set",
        {"data.csv": b"a\n"},
        type_=ArtifactType.DATASET,
        readme="# sentiment\nreviews",
    )
    first = client.post("/artifacts", json=[{"name": "*"}], headers=ADMIN_HEADERS)
    assert len(first.json()) == 2
    rest = client.post(
        "/artifacts", json=[{"name": "*"}], headers=ADMIN_HEADERS, params={"offset": first.headers["offset"]}
    )
    assert {a["name"] for a in first.json() + rest.json()} == {"lib-0", "lib-1", "lib-2", "sentiment-set"}
    datasets = client.post("/artifacts", json=[{"name": "*", "types": ["dataset"]}], headers=ADMIN_HEADERS)
    assert [a["name"] for a in datasets.json()] == ["sentiment-set"]
    by_name = client.get("/artifact/byName/lib-1", headers=ADMIN_HEADERS)
    assert by_name.status_code == 200
    assert [a["name"] for a in by_name.json()] == ["lib-1"]
    assert client.get("/artifact/byName/nothing-here", headers=ADMIN_HEADERS).status_code == 404
    regex = client.post("/artifact/byRegEx", json={"regex": "reviews"}, headers=ADMIN_HEADERS)
    assert regex.status_code == 200
    assert [a["name"] for a in regex.json()] == ["sentiment-set"]
    assert client.post("/artifact/byRegEx", json={"regex": "^zzz$"}, headers=ADMIN_HEADERS).status_code == 404
    assert client.post("/artifact/byRegEx", json={"regex": "("}, headers=ADMIN_HEADERS).status_code == 400
    assert client.post("/artifacts", json={"name": "*"}, headers=ADMIN_HEADERS).status_code == 400


def test_reset_empties_the_registry(client: TestClient) -> None:
    register(client, "code", "https://example.org/c")
    assert client.delete("/reset").status_code == 403
    assert client.delete("/reset", headers=ADMIN_HEADERS).status_code == 200
    assert client.post("/artifacts", json=[{"name": "*"}], headers=ADMIN_HEADERS).json() == []


# -- downloads ------------------------------------------------------------------------------------------


def test_a_package_downloads_whole_in_parts_and_in_ranges(client: TestClient, registry: Registry) -> None:
    model = seed(
        registry,
        "tiny",
        {"config.json": b'{"a": 1}', "README.md": b"# tiny\n", "model.safetensors": b"w" * 100},
    )
    whole = client.get(f"/download/{model.id}", headers=ADMIN_HEADERS)
    assert whole.status_code == 200
    with zipfile.ZipFile(io.BytesIO(whole.content)) as archive:
        names = archive.namelist()
        assert any(n.endswith("config.json") for n in names)
        assert any(n.endswith("model.safetensors") for n in names)
    config = client.get(f"/download/{model.id}", params={"parts": "config"}, headers=ADMIN_HEADERS)
    with zipfile.ZipFile(io.BytesIO(config.content)) as archive:
        assert not any(n.endswith("model.safetensors") for n in archive.namelist())
    etag = whole.headers["etag"]
    assert (
        client.get(f"/download/{model.id}", headers=ADMIN_HEADERS | {"If-None-Match": etag}).status_code
        == 304
    )
    ranged = client.get(f"/download/{model.id}", headers=ADMIN_HEADERS | {"Range": "bytes=0-9"})
    assert ranged.status_code == 206
    assert ranged.content == whole.content[:10]
    past = client.get(
        f"/download/{model.id}", headers=ADMIN_HEADERS | {"Range": f"bytes={len(whole.content) + 10}-"}
    )
    assert past.status_code == 416
    assert (
        client.get(f"/download/{model.id}", params={"parts": "spaceship"}, headers=ADMIN_HEADERS).status_code
        == 400
    )
    assert client.get("/download/12345", headers=ADMIN_HEADERS).status_code == 404
    assert client.get(f"/download/{model.id}").status_code == 403


def test_downloads_need_the_download_permission(client: TestClient, registry: Registry) -> None:
    model = seed(registry, "tiny", {"config.json": b"{}"})
    reader = make_user(client, "reader", "search")
    refused = client.get(f"/download/{model.id}", headers=reader)
    assert refused.status_code == 401
    assert "download" in refused.json()["detail"]


# -- users --------------------------------------------------------------------------------------------------


def test_users_are_created_listed_changed_and_deleted(client: TestClient) -> None:
    erin = make_user(client, "erin", "search")
    listed = client.get("/users", headers=ADMIN_HEADERS)
    assert {u["user"]["name"] for u in listed.json()} == {ADMIN, "erin"}
    assert client.get("/users", headers=erin).status_code == 401
    own = client.get("/users/erin", headers=erin)
    assert own.json()["permissions"] == ["search"]
    changed = client.put(
        "/users/erin/permissions", json={"permissions": ["search", "download"]}, headers=ADMIN_HEADERS
    )
    assert changed.status_code == 200
    assert changed.json()["permissions"] == ["search", "download"]
    assert changed.json()["effective_permissions"] == ["search", "download"]
    bad = client.put("/users/erin/permissions", json={"permissions": ["fly"]}, headers=ADMIN_HEADERS)
    assert bad.status_code == 400
    wrong_old = client.put(
        "/users/erin/password",
        json={"old_password": "nope", "new_password": "another-long-password"},
        headers=erin,
    )
    assert wrong_old.status_code == 401
    new = client.put(
        "/users/erin/password",
        json={"old_password": "pw-erin-long-enough", "new_password": "another-long-password"},
        headers=erin,
    )
    assert new.status_code == 204
    assert client.delete(f"/users/{ADMIN}", headers=ADMIN_HEADERS).status_code == 409
    assert client.delete("/users/erin", headers=ADMIN_HEADERS).status_code == 204
    assert client.get("/users/erin", headers=ADMIN_HEADERS).status_code == 404
    duplicate = {"user": {"name": ADMIN, "is_admin": False}, "secret": {"password": "a-long-password-1"}}
    assert client.post("/users", json=duplicate, headers=ADMIN_HEADERS).status_code == 409


def test_authenticate_refuses_wrong_passwords(client: TestClient) -> None:
    assert client.put("/authenticate", json=auth_request("wrong")).status_code == 401
    assert client.put("/authenticate", json={"user": {}}).status_code == 400
    good = client.put("/authenticate", json=auth_request())
    assert good.status_code == 200
    assert good.json().startswith("bearer ")


# -- system, operations, audit ---------------------------------------------------------------------------


def test_health_and_tracks_answer(client: TestClient, registry: Registry) -> None:
    seed(registry, "one", {"config.json": b"{}"})
    health = client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    assert body["models"] == 1
    components = client.get("/health/components")
    assert components.status_code == 200
    assert "sqlite" in components.text
    tracks = client.get("/tracks")
    assert tracks.status_code == 200
    assert tracks.json()["plannedTracks"]


def test_activity_and_logs_are_for_the_right_people(client: TestClient, registry: Registry) -> None:
    register(client, "code", "https://example.org/c")
    registry.activity.flush()
    activity = client.get("/operations/activity", params={"window": 5}, headers=ADMIN_HEADERS)
    assert activity.status_code == 200
    assert activity.json()["totals"]["registrations"] == {"code": 1}
    assert client.get("/operations/activity").status_code == 403
    logs = client.get("/operations/logs", headers=ADMIN_HEADERS)
    assert logs.status_code == 200
    lines = client.get("/operations/logs.jsonl", params={"level": "info"}, headers=ADMIN_HEADERS)
    assert lines.status_code == 200
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    reader = make_user(client, "reader", "search")
    assert client.get("/operations/logs", headers=reader).status_code == 401
    assert client.get("/operations/activity", params={"window": 7}, headers=ADMIN_HEADERS).status_code == 400


def test_the_package_confusion_audit_is_for_admins(client: TestClient) -> None:
    audit = client.get("/audit/package-confusion", headers=ADMIN_HEADERS)
    assert audit.status_code == 200
    reader = make_user(client, "reader", "search")
    assert client.get("/audit/package-confusion", headers=reader).status_code == 401


def test_a_model_known_by_its_url_alone_is_rated_and_analysed(client: TestClient) -> None:
    model = register(client, "model", "https://example.org/some-model")
    model_id = model["metadata"]["id"]
    rating = client.get(f"/artifact/model/{model_id}/rate", headers=ADMIN_HEADERS)
    assert rating.status_code == 200
    scores = rating.json()
    assert scores["name"] == "some-model"
    assert scores["reviewedness"] == -1  # no linked repository
    assert all(value is not None for value in scores.values())
    lineage = client.get(f"/artifact/model/{model_id}/lineage", headers=ADMIN_HEADERS)
    assert lineage.status_code == 200
    assert [node["artifact_id"] for node in lineage.json()["nodes"]] == [model_id]
    cost = client.get(f"/artifact/model/{model_id}/cost", headers=ADMIN_HEADERS)
    assert cost.status_code == 200
    assert model_id in cost.json()
    assert (
        client.get(
            f"/artifact/model/{model_id}/cost", params={"dependency": "maybe"}, headers=ADMIN_HEADERS
        ).status_code
        == 400
    )
    safety = client.get(f"/artifact/model/{model_id}/safety", headers=ADMIN_HEADERS)
    assert safety.status_code == 200
    history = client.get(f"/artifact/model/{model_id}/downloads", headers=ADMIN_HEADERS)
    assert history.status_code == 200
    assert history.json()["downloads"] == []
    assert client.get(f"/artifact/model/{model_id}/monitor", headers=ADMIN_HEADERS).status_code == 404
    assert (
        client.get(
            f"/artifact/model/{model_id}/downloads", params={"limit": 0}, headers=ADMIN_HEADERS
        ).status_code
        == 400
    )


# -- the Hugging Face door ------------------------------------------------------------------------------


def test_the_hub_door_describes_lists_and_serves_files(client: TestClient, registry: Registry) -> None:
    seed(registry, "acme/tiny", {"config.json": b'{"a": 1}', "README.md": b"# tiny\n"})
    info = client.get("/api/models/acme/tiny", headers=ADMIN_HEADERS)
    assert info.status_code == 200, info.text
    siblings = {s["rfilename"] for s in info.json()["siblings"]}
    assert siblings == {"config.json", "README.md"}
    tree = client.get("/api/models/acme/tiny/tree/main", headers=ADMIN_HEADERS)
    assert tree.status_code == 200
    assert {e["path"] for e in tree.json()} == {"config.json", "README.md"}
    refs = client.get("/api/models/acme/tiny/refs", headers=ADMIN_HEADERS)
    assert refs.status_code == 200
    paths = client.post(
        "/api/models/acme/tiny/paths-info/main",
        content=b"paths=config.json",
        headers=ADMIN_HEADERS | {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert paths.status_code == 200
    assert [p["path"] for p in paths.json()] == ["config.json"]
    file = client.get("/acme/tiny/resolve/main/config.json", headers=ADMIN_HEADERS)
    assert file.status_code == 200
    assert file.content == b'{"a": 1}'
    missing = client.get("/api/models/acme/nothing", headers=ADMIN_HEADERS)
    assert missing.status_code == 404
    assert "error" in missing.json()
    assert client.get("/api/models/acme/tiny/tree/main/nope", headers=ADMIN_HEADERS).status_code == 404
