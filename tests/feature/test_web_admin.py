"""The admin page in process: the counts a reset removes, the reset behind a typed confirmation,
and everyone but an administrator (or a form without this session's key) refused."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.feature.conftest import BERT, GH, register
from tests.feature.web_support import ui_sign_in
from tmr.accounts.models import User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.container import Registry

CONFIRM = "reset the registry"


def names(client: TestClient, auth: dict[str, str]) -> list[str]:
    response = client.post("/artifacts", json=[{"name": "*"}], headers=auth)
    assert response.status_code == 200
    return sorted(a["name"] for a in response.json())


def seed(client: TestClient, auth: dict[str, str]) -> None:
    register(client, auth, "model", BERT)
    register(client, auth, "code", f"{GH}/psf/requests")


def test_the_page_shows_what_a_reset_removes(client: TestClient, auth: dict[str, str]) -> None:
    seed(client, auth)
    ui_sign_in(client)
    page = client.get("/ui/admin")
    assert page.status_code == 200
    text = page.text
    assert re.search(r'<th scope="row">Model</th><td class="num">1</td>', text)
    assert re.search(r'<th scope="row">Dataset</th><td class="num">0</td>', text)
    assert re.search(r'<th scope="row">All</th><td class="num">2</td>', text)
    assert '<label for="f-confirmation">Type &#34;reset the registry&#34; to confirm</label>' in text
    assert 'data-confirm="reset the registry"' in text
    assert 'aria-current="page"' in text  # the Admin link in the navigation


def test_a_typed_confirmation_resets_the_registry(client: TestClient, auth: dict[str, str]) -> None:
    seed(client, auth)
    key = ui_sign_in(client)
    response = client.post(
        "/ui/admin/reset", data={"form_key": key, "confirmation": f"  {CONFIRM} "}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/?notice=reset"
    assert names(client, auth) == []
    # The default admin's session goes on after the reset.
    after = client.get("/ui/admin")
    assert after.status_code == 200
    assert re.search(r'<th scope="row">All</th><td class="num">0</td>', after.text)


def test_a_wrong_confirmation_resets_nothing(client: TestClient, auth: dict[str, str]) -> None:
    seed(client, auth)
    key = ui_sign_in(client)
    for typed in ("", "Reset the registry", "reset"):
        response = client.post("/ui/admin/reset", data={"form_key": key, "confirmation": typed})
        assert response.status_code == 400
        control = re.search(r'<input id="f-confirmation"[^>]*>', response.text)
        assert control is not None
        assert 'aria-describedby="f-confirmation-error"' in control.group(0)
        assert 'aria-invalid="true"' in control.group(0)
        assert "exactly to confirm. Nothing was reset." in response.text
        assert "<title>Error: Administration · tmr</title>" in response.text
    assert names(client, auth) == ["bert-base-uncased", "requests"]


def test_a_form_without_this_session_s_key_resets_nothing(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    seed(client, auth)
    ui_sign_in(client)
    registry.store.put_user(User("root2", True, hash_password("root2-password")))
    with TestClient(create_app(registry=registry)) as other:
        other_key = ui_sign_in(other, "root2", "root2-password")
    for key in (None, "0" * 64, other_key):
        data = {"confirmation": CONFIRM} | ({"form_key": key} if key else {})
        response = client.post("/ui/admin/reset", data=data, follow_redirects=False)
        assert response.status_code == 403
    assert names(client, auth) == ["bert-base-uncased", "requests"]


def test_only_administrators_may_see_or_reset(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    seed(client, auth)
    assert client.get("/ui/admin", follow_redirects=False).status_code == 303  # signed out: sign in
    registry.store.put_user(User("alice", False, hash_password("alice-password-1")))
    key = ui_sign_in(client, "alice", "alice-password-1")
    page = client.get("/ui/admin")
    assert page.status_code == 401
    assert "only an administrator may open this page" in page.text
    assert ">Admin</a>" not in page.text  # no link to it either
    refused = client.post("/ui/admin/reset", data={"form_key": key, "confirmation": CONFIRM})
    assert refused.status_code == 401
    assert names(client, auth) == ["bert-base-uncased", "requests"]
