"""Signing in through the sign-in form in process, as a browser does: the nonce, the cookie and
the form key that state-changing forms must carry."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.support import ADMIN, PASSWORD

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
