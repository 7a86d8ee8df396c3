"""The users pages: an admin adds users and changes their permissions; everyone sees their own
permissions and changes their password; the same rules as `/users`."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.feature.web_support import hidden_fields, ui_sign_in
from tests.support import auth_request
from tmr.app import create_app
from tmr.container import Registry

GOOD = "violet-kayak-meadow-17"


def test_an_admin_adds_a_user_from_the_users_page(client: TestClient, registry: Registry) -> None:
    key = ui_sign_in(client)
    page = client.get("/ui/users")
    assert page.status_code == 200
    assert "Add a user" in page.text
    response = client.post(
        "/ui/users",
        data={"form_key": key, "name": "alice", "password": GOOD, "permissions": ["search", "download"]},
        follow_redirects=False,
    )
    assert response.status_code == 303
    user = registry.store.get_user("alice")
    assert user is not None
    assert {p.value for p in user.permissions} == {"search", "download"}
    assert not user.is_admin
    listed = client.get(response.headers["location"])
    assert "The user was added" in listed.text
    assert "alice" in listed.text


def test_a_refused_user_comes_back_with_the_reason_by_its_field(
    client: TestClient, registry: Registry
) -> None:
    key = ui_sign_in(client)
    weak = client.post("/ui/users", data={"form_key": key, "name": "bob", "password": "password123456"})
    assert weak.status_code == 400
    assert 'href="#f-password"' in weak.text
    assert "too easy to guess" in weak.text
    assert registry.store.get_user("bob") is None
    client.post("/ui/users", data={"form_key": key, "name": "bob", "password": GOOD})
    taken = client.post("/ui/users", data={"form_key": key, "name": "bob", "password": GOOD})
    assert taken.status_code == 409
    assert 'href="#f-name"' in taken.text


def test_permissions_and_deletion_from_the_users_page(client: TestClient, registry: Registry) -> None:
    key = ui_sign_in(client)
    client.post(
        "/ui/users", data={"form_key": key, "name": "carol", "password": GOOD, "permissions": ["search"]}
    )
    saved = client.post("/ui/users/carol/permissions", data={"form_key": key, "permissions": ["upload"]})
    assert saved.status_code == 200
    carol = registry.store.get_user("carol")
    assert carol is not None
    assert {p.value for p in carol.permissions} == {"upload"}
    forged = client.post("/ui/users/carol/delete", data={"form_key": "forged"})
    assert forged.status_code == 403
    assert registry.store.get_user("carol") is not None
    assert client.post("/ui/users/carol/delete", data={"form_key": key}).status_code == 200
    assert registry.store.get_user("carol") is None


def test_the_users_page_is_for_admins_only(client: TestClient, registry: Registry) -> None:
    admin = ui_sign_in(client)
    client.post(
        "/ui/users", data={"form_key": admin, "name": "dave", "password": GOOD, "permissions": ["search"]}
    )
    client.post("/ui/sign-out", data={"form_key": admin})
    key = ui_sign_in(client, "dave", GOOD)
    assert client.get("/ui/users").status_code == 401
    response = client.post("/ui/users", data={"form_key": key, "name": "eve", "password": GOOD})
    assert response.status_code == 401
    assert registry.store.get_user("eve") is None
    home = client.get("/")
    assert 'href="/ui/upload"' not in home.text  # no upload permission: no Upload link
    assert 'href="/ui/account"' in home.text


def test_a_user_changes_its_password_on_the_account_page(client: TestClient, registry: Registry) -> None:
    admin = ui_sign_in(client)
    client.post(
        "/ui/users", data={"form_key": admin, "name": "fay", "password": GOOD, "permissions": ["download"]}
    )
    client.post("/ui/sign-out", data={"form_key": admin})
    key = ui_sign_in(client, "fay", GOOD)
    page = client.get("/ui/account")
    assert page.status_code == 200
    assert "✗ No" in page.text  # search and upload
    assert "✓ Yes" in page.text  # download
    new = "amber-walrus-orbit-42"
    differ = {"form_key": key, "old_password": GOOD, "new_password": new, "confirm_password": new + "x"}
    assert client.post("/ui/account/password", data=differ).status_code == 400
    wrong = {"form_key": key, "old_password": "not-it-at-all", "new_password": new, "confirm_password": new}
    response = client.post("/ui/account/password", data=wrong)
    assert response.status_code == 401
    assert 'href="#f-old_password"' in response.text
    right = {"form_key": key, "old_password": GOOD, "new_password": new, "confirm_password": new}
    done = client.post("/ui/account/password", data=right, follow_redirects=False)
    assert done.status_code == 303
    assert "Your password was changed" in client.get(done.headers["location"]).text  # still signed in
    assert client.put("/authenticate", json=auth_request(new, "fay")).status_code == 200
    assert client.put("/authenticate", json=auth_request(GOOD, "fay")).status_code == 401


def test_the_sign_in_form_says_when_to_try_again(make_registry: Callable[..., Registry]) -> None:
    # A first wait of an hour outlasts the test: no answer depends on timing.
    registry = make_registry(sign_in_free_per_user=3, sign_in_first_wait_s=3600, sign_in_max_wait_s=3600)
    with TestClient(create_app(registry=registry)) as client:
        wrong = {"username": "ghost", "password": "nope"}
        statuses = [
            client.post("/ui/sign-in", data=wrong | {"nonce": _nonce(client)}).status_code for _ in range(4)
        ]
        assert statuses == [401] * 4
        response = client.post("/ui/sign-in", data=wrong | {"nonce": _nonce(client)})
        assert response.status_code == 429
        assert 3500 < int(response.headers["Retry-After"]) <= 3600
        assert "try again in" in response.text


def _nonce(client: TestClient) -> str:
    return hidden_fields(client.get("/ui/sign-in").text)["nonce"]
