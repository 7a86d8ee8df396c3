"""The home page of a registry with nothing in it (this module's server is never seeded): the empty
state says what to do, and the keyboard reaches the search box from the top of the page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.browser.ui import check_page, sign_in
from tests.processes import ServerProcess


def is_focused(page: Page, selector: str) -> bool:
    return bool(page.locator(selector).evaluate("element => element === document.activeElement"))


def test_an_empty_registry_says_what_to_do(page: Page, ui_server: ServerProcess) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/")
    expect(page).to_have_title("Browse · tmr")
    empty = page.get_by_role("status").filter(has_text="No artifacts yet")
    expect(empty).to_contain_text("No artifacts yet — register one by URL or upload a zip.")
    expect(page.get_by_role("link", name="Register by URL")).to_have_attribute("href", "/ui/register")
    expect(page.get_by_role("link", name="Upload a zip")).to_have_attribute("href", "/ui/upload")
    check_page(page, "browse-empty")


def test_tab_from_the_top_reaches_the_search_box_and_the_skip_link_moves_focus(
    page: Page, ui_server: ServerProcess
) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    assert is_focused(page, "main")
    # From the top of the page again, Tab walks the header and then reaches the search box.
    page.goto(f"{ui_server.url}/")
    search = page.get_by_label("Search", exact=True)
    for _ in range(30):
        page.keyboard.press("Tab")
        if search.evaluate("element => element === document.activeElement"):
            break
    expect(search).to_be_focused()
    page.keyboard.type("no-such-model")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Nothing matches “no-such-model”")
