"""Every route checks a permission, at every door: the contract, tmr's own routes, the Hugging Face
door and the UI. For each route the matrix names the permission it needs; a user holding every
permission but that one is refused (and told which is missing), and a user holding only that one
is not refused for want of a permission. A route missing from the matrix fails the test, so a new
route cannot be added without deciding what it needs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.feature.conftest import BERT, GH, register
from tests.feature.web_support import form_key, hidden_fields
from tests.support import auth_request
from tests.zips import model_files, zip_bytes
from tmr.app import create_app
from tmr.artifacts.models import ArtifactType
from tmr.container import Registry

PERMISSIONS = ("upload", "search", "download")
ZIP = {"Content-Type": "application/zip"}


def password_of(name: str) -> str:
    return f"{name}-quokka-lantern-93"


@dataclass(frozen=True)
class Call:
    method: str
    route: str  # as the OpenAPI page names it
    needs: str  # a permission, "admin", "self" (the user or an admin), or "owner"
    path: str | None = None  # the concrete path, when the route has parameters
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] | None = None

    @property
    def url(self) -> str:
        return self.path or self.route


@dataclass
class World:
    client: TestClient
    registry: Registry
    admin: dict[str, str]
    bert: str
    own: str  # a private upload of the user "owner"

    def login(self, name: str) -> dict[str, str]:
        response = self.client.put("/authenticate", json=auth_request(password_of(name), name))
        assert response.status_code == 200, response.text
        return {"X-Authorization": response.json()}

    def add(self, name: str, permissions: list[str], is_admin: bool = False) -> dict[str, str]:
        body = {
            "user": {"name": name, "is_admin": is_admin},
            "secret": {"password": password_of(name)},
            "permissions": permissions,
        }
        response = self.client.post("/users", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        return self.login(name)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from tests.emulator.server import running_emulator
    from tests.support import make_settings
    from tmr.container import build_registry

    with running_emulator() as emulator:
        registry = build_registry(make_settings(tmp_path_factory.mktemp("matrix"), emulator.url))
        try:
            with TestClient(create_app(registry=registry)) as client:
                admin = {"X-Authorization": client.put("/authenticate", json=auth_request()).json()}
                bert = register(client, admin, "model", BERT)["metadata"]["id"]
                w = World(client, registry, admin, bert, "")
                owner = w.add("owner", list(PERMISSIONS))
                response = client.post(
                    "/artifact/model/upload",
                    params={"name": "owned-model"},
                    content=zip_bytes(model_files(seed=7)),
                    headers=owner | ZIP,
                )
                assert response.status_code == 201, response.text
                w.own = response.json()["metadata"]["id"]
                for p in PERMISSIONS:
                    w.add(f"lacks-{p}", [q for q in PERMISSIONS if q != p])
                    w.add(f"only-{p}", [p])
                yield w
        finally:
            registry.close()


def api_calls(w: World) -> list[Call]:
    bert, own = w.bert, w.own
    model = "/artifact/model/{id}"
    return [
        Call("POST", "/artifacts", "search", json=[{"name": "*"}]),
        Call("GET", "/artifact/byName/{name}", "search", path="/artifact/byName/bert-base-uncased"),
        Call("POST", "/artifact/byRegEx", "search", json={"regex": "bert"}),
        Call("GET", "/artifacts/{artifact_type}/{id}", "search", path=f"/artifacts/model/{bert}"),
        Call("GET", f"{model}/rate", "search", path=f"/artifact/model/{bert}/rate"),
        Call("GET", f"{model}/safety", "search", path=f"/artifact/model/{bert}/safety"),
        Call("GET", "/artifact/{id}/details", "search", path=f"/artifact/{bert}/details"),
        Call("GET", "/artifact/{artifact_type}/{id}/audit", "search", path=f"/artifact/model/{bert}/audit"),
        Call("GET", f"{model}/lineage", "search", path=f"/artifact/model/{bert}/lineage"),
        Call("GET", "/artifact/{artifact_type}/{id}/cost", "search", path=f"/artifact/model/{bert}/cost"),
        Call(
            "POST",
            f"{model}/license-check",
            "search",
            path=f"/artifact/model/{bert}/license-check",
            json={"github_url": f"{GH}/psf/requests"},
        ),
        Call("GET", "/download/{id}", "download", path=f"/download/{bert}?parts=config"),
        Call(
            "POST",
            "/artifact/{artifact_type}",
            "upload",
            path="/artifact/code",
            json={"url": f"{GH}/psf/requests"},
        ),
        Call("POST", "/artifact/ingest", "upload", json={"url": BERT}),
        Call(
            "POST",
            "/artifact/{artifact_type}/upload",
            "upload",
            path="/artifact/model/upload?name=another",
            content=zip_bytes(model_files(seed=8)),
            headers=ZIP,
        ),
        Call(
            "POST",
            "/uploads",
            "upload",
            path="/uploads?type=model&name=matrix-session",
            headers={"Upload-Length": "10"},
        ),
        Call("GET", "/uploads/{id}", "upload", path="/uploads/nope"),
        Call(
            "PATCH",
            "/uploads/{id}",
            "upload",
            path="/uploads/nope",
            content=b"0123456789",
            headers={"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        ),
        Call("DELETE", "/uploads/{id}", "upload", path="/uploads/nope"),
        Call(
            "POST", "/uploads/{id}/finish", "upload", path="/uploads/nope/finish", json={"sha256": "0" * 64}
        ),
        Call(
            "PUT",
            "/artifacts/{artifact_type}/{id}",
            "owner",
            path=f"/artifacts/model/{own}",
            json={"metadata": {"name": "owned-model", "id": own, "type": "model"}, "data": {"url": BERT}},
        ),
        Call("DELETE", "/artifacts/{artifact_type}/{id}", "owner", path=f"/artifacts/model/{own}"),
        Call("DELETE", "/reset", "admin"),
        Call("GET", "/users", "admin"),
        Call(
            "POST",
            "/users",
            "admin",
            json={
                "user": {"name": "newcomer", "is_admin": False},
                "secret": {"password": password_of("newcomer")},
                "permissions": [],
            },
        ),
        Call(
            "PUT",
            "/users/{name}/permissions",
            "admin",
            path="/users/owner/permissions",
            json={"permissions": list(PERMISSIONS)},
        ),
        Call("GET", "/users/{name}", "self", path="/users/owner"),
        Call(
            "PUT",
            "/users/{name}/password",
            "self",
            path="/users/owner/password",
            json={"new_password": password_of("owner")},
        ),
        Call("DELETE", "/users/{name}", "self", path="/users/owner"),
        Call("GET", "/operations/logs", "admin"),
        Call("GET", "/operations/logs.jsonl", "admin"),
        Call("GET", "/workloads", "admin"),
        Call("POST", "/workloads", "admin", json={"artifact_id": bert}),
        Call("GET", "/workloads/{run_id}", "admin", path="/workloads/nope"),
    ]


# Routes that need no permission: public ones, sign-in, and what any signed-in user may see (the
# operations feed names routes, never artifacts or users).
OPEN = {
    ("GET", "/health"),
    ("GET", "/health/components"),
    ("GET", "/tracks"),
    ("PUT", "/authenticate"),
    ("GET", "/operations/activity"),
    ("GET", "/ui/sign-in"),
    ("POST", "/ui/sign-in"),
    ("POST", "/ui/sign-out"),
    ("GET", "/static/{name}"),
    ("GET", "/ui/health"),
    ("GET", "/ui/health/live"),
}


# Routes whose permission tests live beside their feature: the monitors and the download history
# (tests/feature/test_monitors.py, test_download_history.py), the package-confusion audit
# (tests/feature/test_confusion_audit.py) and transactions (tests/feature/test_transactions.py).
ELSEWHERE = {
    ("PUT", "/artifact/model/{id}/monitor"),
    ("GET", "/artifact/model/{id}/monitor"),
    ("DELETE", "/artifact/model/{id}/monitor"),
    ("GET", "/artifact/model/{id}/downloads"),
    ("GET", "/audit/package-confusion"),
    # transactions: tests/feature/test_transactions.py
    ("POST", "/transactions"),
    ("GET", "/transactions"),
    ("GET", "/transactions/{id}"),
    ("DELETE", "/transactions/{id}"),
    ("POST", "/transactions/{id}/commands"),
    ("POST", "/transactions/{id}/execute"),
    # HEAD answers without a body: tests/feature/test_upload_sessions.py
    ("HEAD", "/uploads/{id}"),
}


def _send(client: TestClient, call: Call, auth: dict[str, str]) -> Any:
    return client.request(
        call.method, call.url, json=call.json, content=call.content, headers=auth | (call.headers or {})
    )


def _refused_for(response: Any, permission: str) -> bool:
    if response.status_code != 401:
        return False
    return response.json().get("details", {}).get("missing_permission") == permission


@pytest.mark.parametrize("needed", PERMISSIONS)
def test_a_user_without_the_permission_is_refused_and_told_which(world: World, needed: str) -> None:
    auth = world.login(f"lacks-{needed}")
    for call in api_calls(world):
        if call.needs != needed:
            continue
        response = _send(world.client, call, auth)
        assert _refused_for(response, needed), (call, response.status_code, response.text)
        assert f"'{needed}' permission" in response.json()["detail"]


@pytest.mark.parametrize("held", ["search", "download"])
def test_a_user_with_only_the_permission_gets_through(world: World, held: str) -> None:
    auth = world.login(f"only-{held}")
    for call in api_calls(world):
        if call.needs != held:
            continue
        response = _send(world.client, call, auth)
        assert response.status_code not in (401, 403), (call, response.status_code, response.text)


def test_upload_alone_registers_but_changes_only_ones_own(world: World) -> None:
    only = world.login("only-upload")
    for call in api_calls(world):
        if call.needs == "upload":
            response = _send(world.client, call, only)
            assert response.status_code not in (401, 403), (call, response.text)
        elif call.needs == "owner":
            response = _send(world.client, call, only)
            # Not the owner of a private upload: it does not exist for this user.
            assert response.status_code == 404, (call, response.text)
    # Someone else's public artifact: visible, but only its owner or an admin may change it.
    response = world.client.delete(f"/artifacts/model/{world.bert}", headers=only)
    assert response.status_code == 401
    assert response.json()["details"]["missing_permission"] == "owner"


def test_admin_routes_refuse_everyone_else(world: World) -> None:
    auth = world.login("lacks-download")  # upload and search, not an admin
    for call in api_calls(world):
        if call.needs != "admin":
            continue
        response = _send(world.client, call, auth)
        assert response.status_code == 401, (call, response.text)
        assert response.json()["details"]["missing_permission"] == "admin"


def test_self_routes_refuse_other_users(world: World) -> None:
    auth = world.login("only-search")
    for call in api_calls(world):
        if call.needs == "self":
            response = _send(world.client, call, auth)
            assert response.status_code == 401, (call, response.text)
    assert world.client.get("/users/owner", headers=world.login("owner")).status_code == 200


def test_every_route_of_the_api_and_the_ui_is_in_the_matrix(world: World) -> None:
    """A route that is neither open nor in the matrix (nor a UI page checked below) fails here."""
    classified = {(c.method, c.route) for c in api_calls(world)} | OPEN | set(UI_ROUTES) | ELSEWHERE
    schema = world.client.get("/openapi.json").json()
    missing = [
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if (method.upper(), path) not in classified
    ]
    assert missing == []


# -- the UI ---------------------------------------------------------------------------------
UI_ROUTES = {
    ("GET", "/"): "search",
    ("GET", "/ui/artifacts/{artifact_id}"): "search",
    ("GET", "/ui/artifacts/{artifact_id}/license-check"): "search",
    ("GET", "/ui/artifacts/{artifact_id}/download"): "download",
    ("GET", "/ui/artifacts/{artifact_id}/files/{path}"): "download",
    ("GET", "/ui/register"): "upload",
    ("POST", "/ui/register"): "upload",
    ("GET", "/ui/register/{artifact_id}/verdict"): "search",
    ("GET", "/ui/upload"): "upload",
    ("POST", "/ui/upload"): "upload",
    ("GET", "/ui/admin"): "admin",
    ("POST", "/ui/admin/reset"): "admin",
    ("GET", "/ui/workload"): "admin",
    ("POST", "/ui/workload"): "admin",
    ("GET", "/ui/workload/compare"): "admin",
    ("GET", "/ui/workload/{run_id}"): "admin",
    ("GET", "/ui/users"): "admin",
    ("POST", "/ui/users"): "admin",
    ("POST", "/ui/users/{name}/permissions"): "admin",
    ("POST", "/ui/users/{name}/delete"): "self",
    ("GET", "/ui/account"): "signed-in",
    ("GET", "/ui/transactions"): "signed-in",  # one's own (an admin's: everyone's)
    ("GET", "/ui/transactions/{transaction_id}"): "signed-in",  # the owner's or an admin's, else 404
    ("POST", "/ui/account/password"): "signed-in",
}


def _ui_client(world: World, name: str) -> TestClient:
    client = TestClient(world.client.app)
    form = client.get("/ui/sign-in")
    response = client.post(
        "/ui/sign-in",
        data={"username": name, "password": password_of(name), "nonce": hidden_fields(form.text)["nonce"]},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


@pytest.mark.parametrize("needed", PERMISSIONS)
def test_the_ui_refuses_a_user_without_the_permission(world: World, needed: str) -> None:
    client = _ui_client(world, f"lacks-{needed}")
    key = form_key(client, "/ui/sign-in")
    bert = world.bert
    pages = {
        "search": [
            "/?q=bert",
            f"/ui/artifacts/{bert}",
            f"/ui/artifacts/{bert}/license-check?github_url={GH}/psf/requests",
        ],
        "download": [
            f"/ui/artifacts/{bert}/download?parts=config",
            f"/ui/artifacts/{bert}/files/config.json",
        ],
        "upload": [],
    }[needed]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 401, (page, response.status_code)
        assert f"{needed}" in response.text
    if needed == "upload":
        response = client.post(
            "/ui/register", data={"form_key": key, "url": f"{GH}/psf/requests", "type": "code"}
        )
        assert response.status_code == 401, response.text
        response = client.post(
            "/ui/upload",
            data={"form_key": key, "name": "from-the-ui", "type": "model"},
            files={"file": ("m.zip", zip_bytes(model_files(seed=9)), "application/zip")},
        )
        assert response.status_code == 401, response.text


# -- the Hugging Face door -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("needed", "path"),
    [
        ("search", "/api/models/google-bert/bert-base-uncased"),
        ("download", "/google-bert/bert-base-uncased/resolve/main/config.json"),
    ],
)
def test_the_hub_door_refuses_a_token_without_the_permission(world: World, needed: str, path: str) -> None:
    token = world.login(f"lacks-{needed}")["X-Authorization"]
    response = world.client.get(path, headers={"Authorization": f"Bearer {token}"})
    # The Hub's client reads 403 as "forbidden" (401 would say the token is bad).
    assert response.status_code == 403, response.text
    assert f"'{needed}' permission" in response.json()["error"]
    allowed = world.login(f"only-{needed}")["X-Authorization"]
    if needed == "search":
        assert world.client.get(path, headers={"Authorization": f"Bearer {allowed}"}).status_code == 200


OID = "ab" * 32
HUB_WRITES = [
    ("POST", "/api/repos/create", {"name": "pushed", "type": "model"}),
    ("POST", "/api/models/{user}/pushed/preupload/main", {"files": [{"path": "a.txt", "size": 1}]}),
    ("POST", "/api/datasets/{user}/pushed/preupload/main", {"files": [{"path": "a.txt", "size": 1}]}),
    ("POST", "/api/models/{user}/pushed/commit/main", None),
    ("POST", "/api/datasets/{user}/pushed/commit/main", None),
    ("POST", "/api/models/{user}/pushed/tag/main", {"tag": "v1"}),
    ("POST", "/api/datasets/{user}/pushed/tag/main", {"tag": "v1"}),
    ("POST", "/{user}/pushed.git/info/lfs/objects/batch", {"operation": "upload", "objects": []}),
    ("POST", "/datasets/{user}/pushed.git/info/lfs/objects/batch", {"operation": "upload", "objects": []}),
    ("POST", f"/hub-lfs/{OID}/verify", {"oid": OID, "size": 1}),
    ("GET", "/api/models/{user}/pushed/xet-write-token/main", None),
    ("GET", "/api/datasets/{user}/pushed/xet-write-token/main", None),
]
COMMIT = b"\n".join(
    [
        b'{"key": "header", "value": {"summary": "s"}}',
        b'{"key": "file", "value": {"path": "a.txt", "content": "eA==", "encoding": "base64"}}',
    ]
)


@pytest.mark.parametrize(("method", "route", "body"), HUB_WRITES, ids=[f"{m} {r}" for m, r, _ in HUB_WRITES])
def test_every_write_of_the_hub_door_needs_upload(world: World, method: str, route: str, body: Any) -> None:
    """Each push route refuses a token without `upload` (403, which the Hub's client shows as
    forbidden) and changes nothing; with `upload` alone it is not refused for a permission."""
    for name, refused in (("lacks-upload", True), ("only-upload", False)):
        token = world.login(name)["X-Authorization"]
        path = route.format(user=name)
        content = COMMIT if body is None and method == "POST" else None
        response = world.client.request(
            method, path, json=body, content=content, headers={"Authorization": f"Bearer {token}"}
        )
        if refused:
            assert response.status_code == 403, (path, response.text)
            assert "'upload' permission" in response.json()["error"], response.text
        else:
            assert response.status_code != 403, (path, response.text)
            assert "permission" not in response.text, (path, response.text)
    for type_ in ArtifactType:
        assert world.registry.artifacts.url_taken(type_, "upload:hub:lacks-upload/pushed") is None


def test_the_uis_admin_pages_refuse_everyone_else(world: World) -> None:
    client = _ui_client(world, "lacks-download")  # upload and search, not an admin
    key = form_key(client, "/ui/sign-in")
    for (method, route), needs in UI_ROUTES.items():
        if needs != "admin":
            continue
        path = route.replace("{name}", "owner").replace("{run_id}", "nope")
        response = client.request(method, path, data={"form_key": key} if method == "POST" else None)
        assert response.status_code == 401, (method, path, response.status_code)
        assert "administrator" in response.text
