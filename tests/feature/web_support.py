"""Signing in through the sign-in form in process, as a browser does: the nonce, the cookie and
the form key that state-changing forms must carry."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.support import ADMIN, PASSWORD, auth_request
from tests.zips import zip_bytes
from tmr.accounts.models import User
from tmr.accounts.passwords import hash_password
from tmr.container import Registry

_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[a-z_]+)" value="(?P<value>[^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    return {m["name"]: m["value"] for m in _HIDDEN.finditer(html)}


def ui_sign_in(client: TestClient, name: str = ADMIN, password: str = PASSWORD) -> str:
    """Sign `client` in (its cookie jar keeps the session) and return the session's form key."""
    form = client.get("/ui/sign-in")
    assert form.status_code == 200, form.text
    response = client.post(
        "/ui/sign-in",
        data={"username": name, "password": password, "nonce": hidden_fields(form.text)["nonce"]},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return form_key(client)


def form_key(client: TestClient, page: str = "/ui/sign-in") -> str:
    """The session's form key, read from the sign-out form every signed-in page carries."""
    response = client.get(page)
    key = hidden_fields(response.text).get("form_key")
    assert key, f"no form key on {page}: {response.status_code}"
    return key


ZIP = {"Content-Type": "application/zip"}


def upload(
    client: TestClient,
    auth: dict[str, str],
    files: dict[str, bytes],
    name: str,
    type_: str = "model",
    version: str | None = None,
) -> str:
    params = {"name": name} | ({"version": version} if version else {})
    response = client.post(
        f"/artifact/{type_}/upload", params=params, content=zip_bytes(files), headers=auth | ZIP
    )
    assert response.status_code == 201, response.text
    artifact_id: str = response.json()["metadata"]["id"]
    return artifact_id


def dataset(name: str, readme: str = "") -> dict[str, bytes]:
    return {"README.md": (readme or f"# {name}\n").encode(), "data.csv": f"id,text\n1,{name}\n".encode()}


def add_user(registry: Registry, name: str) -> None:
    registry.store.put_user(User(name, False, hash_password("pw-" + name)))


def api_login(client: TestClient, name: str) -> dict[str, str]:
    response = client.put("/authenticate", json=auth_request("pw-" + name, name))
    assert response.status_code == 200, response.text
    return {"X-Authorization": response.json()}


def listed(client: TestClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = client.post("/artifacts", json=[{"name": "*"}], headers=auth)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()
    return items
