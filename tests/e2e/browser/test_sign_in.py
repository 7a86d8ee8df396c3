"""Sign in and out in a real browser: the form, its errors, the session cookie, and its end."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.browser.ui import check_page, sign_in
from tests.processes import ServerProcess
from tests.support import ADMIN, PASSWORD


def test_sign_in_page_signed_out_is_accessible(page: Page, ui_server: ServerProcess) -> None:
    page.goto(f"{ui_server.url}/ui/sign-in")
    expect(page).to_have_title("Sign in · tmr")
    check_page(page, "sign-in")


def test_a_wrong_password_is_said_on_the_page(page: Page, ui_server: ServerProcess) -> None:
    page.goto(f"{ui_server.url}/ui/sign-in")
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The username or password is not right.")
    expect(page.get_by_label("Username")).to_have_value(ADMIN)
    check_page(page, "sign-in-error")


def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_the_token(
    page: Page, ui_server: ServerProcess
) -> None:
    sign_in(page, ui_server.url)
    cookie = next(c for c in page.context.cookies() if c["name"] == "tmr_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    token = cookie["value"]
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You have signed out.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    # The token behind the old cookie is spent: the API refuses it too.
    response = httpx.post(
        f"{ui_server.url}/artifacts", json=[{"name": "*"}], headers={"X-Authorization": f"bearer {token}"}
    )
    assert response.status_code == 403


def test_a_spent_session_goes_back_to_sign_in_with_a_message(page: Page, ui_server: ServerProcess) -> None:
    page.context.add_cookies([{"name": "tmr_session", "value": "not-a-token", "url": ui_server.url}])
    page.goto(f"{ui_server.url}/ui/health")
    expect(page).to_have_url(f"{ui_server.url}/ui/sign-in?notice=expired&next=%2Fui%2Fhealth")
    expect(page.get_by_role("status")).to_contain_text("Your session has ended")
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Signing in again returns to the page that was asked for.
    expect(page).to_have_url(f"{ui_server.url}/ui/health")
