"""The browser pages over a registry in memory: what each page shows, the forms' refusals (with the
form sent back as typed and the right status), redirects after success, and who may open what."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.support import ADMIN, PASSWORD
from tests.unit.memory_app import TOKEN, seed
from tmr.accounts.models import Permission
from tmr.artifacts.models import ArtifactType
from tmr.container import Registry
from tmr.web.session import SESSION_COOKIE, SIGN_IN_COOKIE

_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[a-z_]+)" value="(?P<value>[^"]*)"')


def hidden(html: str) -> dict[str, str]:
    return {m["name"]: m["value"] for m in _HIDDEN.finditer(html)}


def ui_sign_in(client: TestClient, name: str, password: str) -> str:
    """Sign in through the form (the cookie jar keeps the session); the session's form key."""
    client.cookies.clear()
    form = client.get("/ui/sign-in")
    response = client.post(
        "/ui/sign-in",
        data={"username": name, "password": password, "nonce": hidden(form.text)["nonce"]},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    key = hidden(client.get("/ui/account").text).get("form_key")
    assert key
    return key


@pytest.fixture
def admin(client: TestClient) -> str:
    return ui_sign_in(client, ADMIN, PASSWORD)


def as_user(client: TestClient, registry: Registry, name: str, *permissions: Permission) -> str:
    """Create `name` with `permissions` and sign in as them; the session's form key."""
    admin_principal = registry.accounts.check(TOKEN)
    password = f"pw-{name}-long-enough"
    registry.accounts.create_user(
        admin_principal, name, password, is_admin=False, permissions=frozenset(permissions)
    )
    return ui_sign_in(client, name, password)


def test_the_static_admin_token_opens_pages_but_not_forms(client: TestClient) -> None:
    client.cookies.set(SESSION_COOKIE, TOKEN)
    assert client.get("/ui/account").status_code == 200
    refused = client.post("/ui/admin/reset", data={"form_key": "", "confirmation": "reset the registry"})
    assert refused.status_code == 403


# -- signing in and out ---------------------------------------------------------------------------


def test_pages_without_a_session_send_the_browser_to_sign_in(client: TestClient) -> None:
    response = client.get("/ui/users", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/ui/sign-in")
    client.cookies.set(SESSION_COOKIE, "not-a-token")
    expired = client.get("/ui/account", follow_redirects=False)
    assert expired.status_code == 303
    assert "/ui/sign-in" in expired.headers["location"]


def test_sign_in_checks_the_nonce_the_fields_and_the_password(client: TestClient) -> None:
    form = client.get("/ui/sign-in")
    assert form.status_code == 200
    nonce = hidden(form.text)["nonce"]
    assert client.cookies.get(SIGN_IN_COOKIE) == nonce
    stale = client.post("/ui/sign-in", data={"username": ADMIN, "password": PASSWORD, "nonce": "forged"})
    assert stale.status_code == 403
    assert "The sign-in form expired" in stale.text
    nonce = hidden(stale.text)["nonce"]
    empty = client.post("/ui/sign-in", data={"username": " ", "password": "", "nonce": nonce})
    assert empty.status_code == 400
    assert "Enter both your username and your password." in empty.text
    nonce = hidden(empty.text)["nonce"]
    wrong = client.post("/ui/sign-in", data={"username": ADMIN, "password": "wrong", "nonce": nonce})
    assert wrong.status_code == 401
    assert "The username or password is not right." in wrong.text
    nonce = hidden(wrong.text)["nonce"]
    good = client.post(
        "/ui/sign-in",
        data={"username": ADMIN, "password": PASSWORD, "nonce": nonce, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert good.headers["location"] == "/"  # never another site
    assert client.cookies.get(SESSION_COOKIE)


def test_sign_in_follows_a_local_next_and_sign_out_ends_the_session(client: TestClient) -> None:
    nonce = hidden(client.get("/ui/sign-in?next=/ui/account").text)["nonce"]
    response = client.post(
        "/ui/sign-in",
        data={"username": ADMIN, "password": PASSWORD, "nonce": nonce, "next": "/ui/account"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/ui/account"
    signed_in = client.get("/ui/sign-in")  # already signed in: the form still shows
    assert signed_in.status_code == 200
    key = hidden(client.get("/ui/account").text)["form_key"]
    refused = client.post("/ui/sign-out", data={"form_key": "0" * 64}, follow_redirects=False)
    assert refused.status_code == 403
    out = client.post("/ui/sign-out", data={"form_key": key}, follow_redirects=False)
    assert out.status_code == 303
    assert "notice=signed-out" in out.headers["location"]
    assert client.get("/ui/account", follow_redirects=False).status_code == 303


# -- browsing ---------------------------------------------------------------------------------------


def test_browse_lists_finds_and_pages(client: TestClient, registry: Registry, admin: str) -> None:
    empty = client.get("/")
    assert empty.status_code == 200
    for index in range(3):
        seed(registry, f"alpha-{index}", {"config.json": b"{}"})
    seed(
        registry,
        "beta-set",
        {"data.csv": b"a,b\n"},
        type_=ArtifactType.DATASET,
        readme="# beta\nsentiment data",
    )
    listing = client.get("/")
    assert all(f"alpha-{i}" in listing.text for i in range(3))
    assert "beta-set" in listing.text
    datasets = client.get("/", params={"type": "dataset"})
    assert "beta-set" in datasets.text
    assert "alpha-0" not in datasets.text
    by_name = client.get("/", params={"q": "alpha-1"})
    assert "alpha-1" in by_name.text
    assert "alpha-2" not in by_name.text
    by_regex = client.get("/", params={"q": "sentiment", "mode": "regex"})
    assert by_regex.status_code == 200
    assert "beta-set" in by_regex.text
    assert "alpha-0" not in by_regex.text
    no_match = client.get("/", params={"q": "zzz-nothing", "mode": "regex", "type": "model"})
    assert no_match.status_code == 200
    assert "alpha-0" not in no_match.text


def test_browse_refuses_what_it_cannot_search(client: TestClient, admin: str) -> None:
    bad_mode = client.get("/", params={"mode": "telepathy"})
    assert bad_mode.status_code == 400
    assert "Choose how to match" in bad_mode.text
    bad_type = client.get("/", params={"type": "spaceship"})
    assert bad_type.status_code == 400
    assert "Choose a type" in bad_type.text
    no_regex = client.get("/", params={"mode": "regex"})
    assert no_regex.status_code == 400
    assert "Enter a regular expression" in no_regex.text
    no_range = client.get("/", params={"mode": "version"})
    assert "Enter a version range" in no_range.text
    bad_range = client.get("/", params={"mode": "version", "q": "not a range!"})
    assert bad_range.status_code == 400
    bad_offset = client.get("/", params={"offset": "%%%not-a-cursor"})
    assert bad_offset.status_code == 400
    assert "This page link is not valid any more" in bad_offset.text


# -- artifact page and downloads ------------------------------------------------------------------


def test_the_artifact_page_shows_files_versions_and_audit(
    client: TestClient, registry: Registry, admin: str
) -> None:
    model = seed(
        registry,
        "tiny",
        {"config.json": b'{"model_type": "bert"}', "README.md": b"# tiny\n", "model.safetensors": b"x" * 64},
        readme="# Tiny\n\nA <b>small</b> model.\n",
    )
    page = client.get(f"/ui/artifacts/{model.id}")
    assert page.status_code == 200
    assert "<title>tiny · tmr</title>" in page.text
    assert model.url in page.text
    for path in ("config.json", "README.md", "model.safetensors"):
        assert f"/ui/artifacts/{model.id}/files/{path}" in page.text
    assert f"/ui/artifacts/{model.id}/download?parts=weights" in page.text
    assert "CREATE" in page.text  # the audit trail
    assert client.get("/ui/artifacts/no-such-id").status_code == 404
    assert client.get("/ui/artifacts/bad%20id").status_code == 404


def test_the_page_serves_files_and_packages_with_ranges(
    client: TestClient, registry: Registry, admin: str
) -> None:
    model = seed(registry, "tiny", {"config.json": b'{"a": 1}', "README.md": b"# tiny\n"})
    file = client.get(f"/ui/artifacts/{model.id}/files/config.json")
    assert file.status_code == 200
    assert file.content == b'{"a": 1}'
    etag = file.headers["etag"]
    assert (
        client.get(f"/ui/artifacts/{model.id}/files/config.json", headers={"If-None-Match": etag}).status_code
        == 304
    )
    part = client.get(f"/ui/artifacts/{model.id}/files/config.json", headers={"Range": "bytes=2-4"})
    assert part.status_code == 206
    assert part.content == b'{"a": 1}'[2:5]
    missing = client.get(f"/ui/artifacts/{model.id}/files/nope.bin")
    assert missing.status_code == 404
    package = client.get(f"/ui/artifacts/{model.id}/download", params={"parts": "config"})
    assert package.status_code == 200
    assert package.content[:2] == b"PK"


# -- registering ------------------------------------------------------------------------------------


def test_register_checks_the_form_then_registers(client: TestClient, admin: str) -> None:
    form = client.get("/ui/register")
    assert form.status_code == 200
    bad = client.post(
        "/ui/register",
        data={"form_key": admin, "url": "https://example.org/m", "type": "boat", "mode": "fly"},
    )
    assert bad.status_code == 400
    assert "Choose whether this is a model, a dataset or code." in bad.text
    assert "Choose Register or Ingest." in bad.text
    ingest_dataset = client.post(
        "/ui/register",
        data={"form_key": admin, "url": "https://example.org/d", "type": "dataset", "mode": "ingest"},
    )
    assert ingest_dataset.status_code == 400
    assert "only models can be ingested" in ingest_dataset.text
    done = client.post(
        "/ui/register",
        data={"form_key": admin, "url": "https://example.org/m", "type": "code", "name": "my-code"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "notice=registered" in done.headers["location"]
    again = client.post(
        "/ui/register",
        data={"form_key": admin, "url": "https://example.org/m", "type": "code", "name": "other"},
    )
    assert again.status_code == 409
    assert "already registered" in again.text
    bad_name = client.post(
        "/ui/register", data={"form_key": admin, "url": "https://example.org/n", "type": "code", "name": "*"}
    )
    assert bad_name.status_code == 400
    forged = client.post("/ui/register", data={"form_key": "x", "url": "https://example.org/z"})
    assert forged.status_code == 403


def test_an_ingested_model_gets_a_verdict_page(client: TestClient, admin: str) -> None:
    response = client.post(
        "/ui/register",
        data={"form_key": admin, "url": "https://example.org/model-x", "type": "model", "mode": "ingest"},
        follow_redirects=False,
    )
    # A model known only by its URL scores too low for the gate: refused, with the failing metrics.
    assert response.status_code == 424
    assert "does not pass the trust gate" in response.text
    assert "Nothing was stored." in response.text
    registered = client.post(
        "/ui/register",
        data={"form_key": admin, "url": "https://example.org/model-x", "type": "model"},
        follow_redirects=False,
    )
    model_id = registered.headers["location"].split("/")[-1].split("?")[0]
    verdict = client.get(f"/ui/register/{model_id}/verdict")
    assert verdict.status_code == 200
    assert "model-x" in verdict.text


# -- users and accounts ----------------------------------------------------------------------------


def test_admins_create_change_and_delete_users(client: TestClient, registry: Registry, admin: str) -> None:
    page = client.get("/ui/users")
    assert page.status_code == 200
    assert ADMIN in page.text
    short = client.post("/ui/users", data={"form_key": admin, "name": "carol", "password": "x"})
    assert short.status_code == 400
    assert "carol" in short.text  # the form comes back as typed
    made = client.post(
        "/ui/users",
        data={
            "form_key": admin,
            "name": "carol",
            "password": "a-long-enough-password",
            "permissions": ["search", "download"],
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert "notice=user-created" in made.headers["location"]
    twice = client.post(
        "/ui/users", data={"form_key": admin, "name": "carol", "password": "a-long-enough-password"}
    )
    assert twice.status_code == 409
    saved = client.post(
        "/ui/users/carol/permissions",
        data={"form_key": admin, "permissions": ["upload"]},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    carol = registry.accounts.user(registry.accounts.check(TOKEN), "carol")
    assert carol.permissions == frozenset({Permission.UPLOAD})
    gone = client.post("/ui/users/carol/delete", data={"form_key": admin}, follow_redirects=False)
    assert gone.status_code == 303
    assert "notice=user-deleted" in gone.headers["location"]
    assert "carol" not in client.get("/ui/users").text


def test_a_user_changes_their_password_and_may_not_open_admin_pages(
    client: TestClient, registry: Registry
) -> None:
    key = as_user(client, registry, "dave", Permission.SEARCH)
    assert client.get("/ui/users").status_code == 401  # the permission refusal, not a sign-in
    assert client.get("/ui/admin").status_code == 401
    account = client.get("/ui/account")
    assert account.status_code == 200
    assert "dave" in account.text
    differ = client.post(
        "/ui/account/password",
        data={
            "form_key": key,
            "old_password": "x",
            "new_password": "a-new-password-1",
            "confirm_password": "other",
        },
    )
    assert differ.status_code == 400
    assert "The two new passwords differ." in differ.text
    wrong_old = client.post(
        "/ui/account/password",
        data={
            "form_key": key,
            "old_password": "wrong",
            "new_password": "a-new-password-1",
            "confirm_password": "a-new-password-1",
        },
    )
    assert wrong_old.status_code == 401  # the wrong old password, said at its field
    too_short = client.post(
        "/ui/account/password",
        data={
            "form_key": key,
            "old_password": "pw-dave-long-enough",
            "new_password": "s",
            "confirm_password": "s",
        },
    )
    assert too_short.status_code == 400
    changed = client.post(
        "/ui/account/password",
        data={
            "form_key": key,
            "old_password": "pw-dave-long-enough",
            "new_password": "a-new-password-1",
            "confirm_password": "a-new-password-1",
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert "notice=password-changed" in changed.headers["location"]
    deleted = client.post("/ui/users/dave/delete", data={"form_key": key}, follow_redirects=False)
    assert deleted.status_code == 303
    assert "notice=account-deleted" in deleted.headers["location"]


# -- administration --------------------------------------------------------------------------------


def test_reset_needs_the_exact_confirmation(client: TestClient, registry: Registry, admin: str) -> None:
    seed(registry, "doomed", {"config.json": b"{}"})
    page = client.get("/ui/admin")
    assert page.status_code == 200
    assert "reset the registry" in page.text
    refused = client.post("/ui/admin/reset", data={"form_key": admin, "confirmation": "reset"})
    assert refused.status_code == 400
    assert "Nothing was reset." in refused.text
    assert registry.store.count()[ArtifactType.MODEL] == 1
    done = client.post(
        "/ui/admin/reset",
        data={"form_key": admin, "confirmation": "reset the registry"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "notice=reset" in done.headers["location"]
    assert sum(registry.store.count().values()) == 0


def test_the_health_page_is_public_and_shows_more_to_the_signed_in(client: TestClient) -> None:
    public = client.get("/ui/health")
    assert public.status_code == 200
    assert "Registry API" in public.text
    assert "to see the registry's activity" in public.text
    not_a_number = client.get("/ui/health", params={"window": "soon"})
    assert not_a_number.status_code == 400
    assert "The window must be a number of minutes" in not_a_number.text
    assert client.get("/ui/health", params={"window": "7"}).status_code == 400
    ui_sign_in(client, ADMIN, PASSWORD)
    client.get("/ui/account")  # one more request in this minute's activity
    signed_in = client.get("/ui/health", params={"window": "5"})
    assert signed_in.status_code == 200
    assert "requests in the last 5 minutes" in signed_in.text
    assert "to see the registry's activity" not in signed_in.text
    bad_level = client.get("/ui/health", params={"level": "loud"})
    assert bad_level.status_code == 400
    live = client.get("/ui/health/live", params={"window": "15", "level": "info", "q": "request"})
    assert live.status_code == 200
    assert "<html" not in live.text  # only the changing parts


def test_static_assets_are_served_and_unknown_ones_are_not(client: TestClient) -> None:
    page = client.get("/ui/sign-in")
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert assets
    first = client.get(assets[0])
    assert first.status_code == 200
    assert "immutable" in first.headers.get("cache-control", "")
    assert client.get("/static/no-such-file.css").status_code == 404
    assert client.get("/static/../pyproject.toml").status_code == 404
