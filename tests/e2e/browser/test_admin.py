"""The admin page in a real browser: what a reset removes, the reset behind the typed words, and
a wrong confirmation said at its field (nothing reset)."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import register
from tests.e2e.browser.ui import check_page, sign_in
from tests.processes import ServerProcess

CONFIRM_LABEL = 'Type "reset the registry" to confirm'


def listed(server: ServerProcess) -> list[dict[str, object]]:
    response = httpx.post(f"{server.url}/artifacts", json=[{"name": "*"}], headers=server.headers, timeout=30)
    assert response.status_code == 200
    items: list[dict[str, object]] = response.json()
    return items


def test_the_admin_page_is_accessible(page: Page, ui_server: ServerProcess) -> None:
    sign_in(page, ui_server.url)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(page).to_have_url(f"{ui_server.url}/ui/admin")
    expect(page).to_have_title("Administration · tmr")
    expect(page.get_by_role("table", name="Artifacts by type, private uploads included")).to_be_visible()
    check_page(page, "admin")


def test_reset_after_typing_the_confirmation(page: Page, ui_server: ServerProcess) -> None:
    register(ui_server, "code", "https://github.com/psf/requests")
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/admin")
    table = page.get_by_role("table", name="Artifacts by type, private uploads included")
    all_row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="All"))
    expect(all_row).not_to_contain_text(re.compile(r"\b0\b"))
    button = page.get_by_role("button", name="Reset the registry")
    expect(button).to_be_disabled()  # until the words are typed
    field = page.get_by_label(CONFIRM_LABEL)
    field.press_sequentially("reset the")
    expect(button).to_be_disabled()
    field.press_sequentially(" registry")
    expect(button).to_be_enabled()
    field.press("Enter")
    expect(page).to_have_url(f"{ui_server.url}/?notice=reset")
    expect(page.get_by_role("status").first).to_contain_text("The registry was reset")
    assert listed(ui_server) == []


def test_a_wrong_confirmation_resets_nothing(page: Page, ui_server: ServerProcess) -> None:
    register(ui_server, "model", "https://huggingface.co/acme/base-lm")
    before = listed(ui_server)
    # Without the page's script (which keeps the button disabled until the words match), the
    # server is the one that refuses.
    page.route(re.compile(r"/static/js/app\.[0-9a-f]+\.js$"), lambda route: route.abort())
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/admin")
    page.get_by_label(CONFIRM_LABEL).fill("reset everything")
    page.get_by_role("button", name="Reset the registry").click()
    expect(page).to_have_title("Error: Administration · tmr")
    field = page.get_by_label(CONFIRM_LABEL)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile("exactly to confirm. Nothing was reset."))
    expect(field).to_have_value("reset everything")
    check_page(page, "admin-error")
    assert listed(ui_server) == before
    assert "base-lm" in [a["name"] for a in before]
