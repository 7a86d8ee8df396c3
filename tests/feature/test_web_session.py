"""The browser session in process: sign-in form, cookie attributes, CSRF keys, sign-out, expiry,
security headers, hashed static assets and the deployment's base path."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.feature.web_support import form_key, hidden_fields, ui_sign_in
from tests.support import ADMIN, PASSWORD
from tmr.accounts.models import User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.container import Registry
from tmr.web.templating import assets


def _nonce(client: TestClient) -> str:
    return hidden_fields(client.get("/ui/sign-in").text)["nonce"]


def test_sign_in_sets_an_http_only_strict_cookie_and_goes_to_the_asked_page(client: TestClient) -> None:
    nonce = _nonce(client)
    response = client.post(
        "/ui/sign-in",
        data={"username": ADMIN, "password": PASSWORD, "nonce": nonce, "next": "/ui/sign-in?x=1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/sign-in?x=1"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("tmr_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over HTTPS the cookie is Secure
    assert "Signed in as" in client.get("/ui/sign-in").text


def test_the_cookie_is_secure_behind_https(client: TestClient) -> None:
    nonce = _nonce(client)
    response = client.post(
        "/ui/sign-in",
        data={"username": ADMIN, "password": PASSWORD, "nonce": nonce},
        headers={"x-forwarded-proto": "https"},
        follow_redirects=False,
    )
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("tmr_session="))
    assert "Secure" in cookie


def test_sign_in_never_sends_the_user_to_another_site(client: TestClient) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", ""):
        client.cookies.clear()
        nonce = _nonce(client)
        response = client.post(
            "/ui/sign-in",
            data={"username": ADMIN, "password": PASSWORD, "nonce": nonce, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/", target


def test_sign_in_refusals_are_said_on_the_page(client: TestClient) -> None:
    nonce = _nonce(client)
    wrong = client.post("/ui/sign-in", data={"username": ADMIN, "password": "nope", "nonce": nonce})
    assert wrong.status_code == 401
    assert "The username or password is not right." in wrong.text
    assert 'role="alert"' in wrong.text
    empty = client.post("/ui/sign-in", data={"username": "", "password": "", "nonce": _nonce(client)})
    assert empty.status_code == 400
    assert "Enter both your username and your password." in empty.text
    # No nonce (a cross-site form, or a stale page): refused, no session started.
    client.cookies.clear()
    forged = client.post("/ui/sign-in", data={"username": ADMIN, "password": PASSWORD, "nonce": "guess"})
    assert forged.status_code == 403
    assert "tmr_session" not in client.cookies


def test_names_with_html_are_escaped_on_the_sign_in_page(client: TestClient) -> None:
    response = client.post(
        "/ui/sign-in",
        data={"username": "<script>alert(1)</script>", "password": "x", "nonce": _nonce(client)},
    )
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_sign_out_needs_this_sessions_form_key(client: TestClient, registry: Registry) -> None:
    key = ui_sign_in(client)
    missing = client.post("/ui/sign-out", data={}, follow_redirects=False)
    assert missing.status_code == 403
    assert "This form has expired or was not sent from this session" in missing.text
    forged = client.post("/ui/sign-out", data={"form_key": "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403
    # Another user's key, sent with this user's cookie: refused.
    registry.store.put_user(User("alice", False, hash_password("alice-password-1")))
    with TestClient(create_app(registry=registry)) as other:
        other_key = ui_sign_in(other, "alice", "alice-password-1")
    assert other_key != key
    crossed = client.post("/ui/sign-out", data={"form_key": other_key}, follow_redirects=False)
    assert crossed.status_code == 403
    assert "Signed in as" in client.get("/ui/sign-in").text  # still signed in
    token = client.cookies["tmr_session"]
    done = client.post("/ui/sign-out", data={"form_key": key}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/ui/sign-in?notice=signed-out"
    # The token is spent everywhere, the API included.
    assert (
        client.post("/artifacts", json=[{"name": "*"}], headers={"X-Authorization": token}).status_code == 403
    )


def test_a_form_key_can_also_come_in_a_header(client: TestClient) -> None:
    key = ui_sign_in(client)
    response = client.post("/ui/sign-out", headers={"X-Form-Key": key}, follow_redirects=False)
    assert response.status_code == 303


def test_a_dead_session_goes_back_to_sign_in_with_a_message(client: TestClient) -> None:
    ui_sign_in(client)
    key = form_key(client)
    client.cookies.set("tmr_session", "a.b.c")
    response = client.post("/ui/sign-out", data={"form_key": key}, follow_redirects=False)
    assert response.status_code in (303, 403)
    client.cookies.set("tmr_session", "a.b.c")
    page = client.get("/ui/sign-in?notice=expired")
    assert "Your session has ended" in page.text


def test_pages_carry_a_strict_content_security_policy(client: TestClient) -> None:
    response = client.get("/ui/sign-in")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "<script>" not in response.text  # no inline script anywhere


def test_static_assets_are_served_by_hashed_name_and_cached_for_a_year(client: TestClient) -> None:
    page = client.get("/ui/sign-in").text
    css = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
    assert css is not None
    response = client.get(css.group(1))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"].startswith("text/css")
    assert client.get("/static/css/app.css").status_code == 404  # only hashed names
    assert client.get("/static/../settings.py").status_code == 404
    assert all(name.count(".") >= 2 for name in assets())


def test_links_keep_the_deployments_base_path(registry: Registry) -> None:
    with TestClient(create_app(registry=registry), root_path="/registry") as client:
        page = client.get("/ui/sign-in").text
    assert 'action="/registry/ui/sign-in"' in page
    assert re.search(r'href="/registry/static/css/app\.[0-9a-f]{12}\.css"', page)
