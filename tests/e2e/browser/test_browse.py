"""Browse and search in a real browser over a seeded registry: results with their net scores, each
search mode, the no-match state, an invalid regex said at the field, and every state axe-clean."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser.ui import check_page, sign_in
from tests.processes import ServerProcess

Seeded = dict[str, dict[str, object]]


def result_names(page: Page) -> list[str]:
    return page.locator("table.results-table tbody th[scope=row]").all_inner_texts()


def test_everything_is_listed_with_types_versions_and_scores(
    page: Page, ui_server: ServerProcess, seeded: Seeded
) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Find models, datasets and code")
    expect(page.locator("table.results-table tbody tr")).to_have_count(len(seeded))
    bert = page.get_by_role("row").filter(has=page.get_by_role("link", name="bert-base-uncased", exact=True))
    expect(bert).to_contain_text("model")
    expect(bert).to_contain_text("1.1.0")
    expect(bert.locator(".badge")).to_have_text(re.compile(r"^. [01]\.[0-9]{2} (good|fair|poor)$"))
    dataset = page.get_by_role("row").filter(has=page.get_by_role("link", name="instruct-data"))
    expect(dataset).to_contain_text("models only")
    check_page(page, "browse-results")


def test_each_search_mode_and_the_type_filter(page: Page, ui_server: ServerProcess, seeded: Seeded) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/")
    page.get_by_label("Search", exact=True).fill("base-lm")
    page.get_by_label("Regex (names and READMEs)").check()
    page.get_by_label("Type").select_option("model")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]mode=regex"))
    names = result_names(page)
    assert names
    assert all("base-lm" in name for name in names), names
    check_page(page, "browse-regex")

    page.get_by_label("Search", exact=True).fill("^1.2")
    page.get_by_label("Version range").check()
    page.get_by_label("Type").select_option("")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("table.results-table tbody tr")).not_to_have_count(0)
    for version in page.locator("table.results-table tbody td:nth-child(3)").all_inner_texts():
        assert version.startswith("1."), version


def test_no_match_says_what_to_try(page: Page, ui_server: ServerProcess, seeded: Seeded) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/?q=bert&type=dataset")
    status = page.get_by_role("status")
    expect(status).to_contain_text("Nothing matches “bert” among dataset artifacts")
    expect(page.get_by_role("link", name="Clear the type filter")).to_be_visible()
    check_page(page, "browse-no-match")
    page.get_by_role("link", name="Clear the type filter").click()
    expect(page.get_by_role("status")).to_contain_text("Nothing matches “bert”.")
    page.get_by_role("link", name=re.compile("as a regex")).click()
    expect(page.get_by_role("link", name="bert-base-uncased", exact=True)).to_be_visible()


def test_a_bad_regex_is_said_at_the_field(page: Page, ui_server: ServerProcess, seeded: Seeded) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/")
    page.get_by_label("Search", exact=True).fill("(a+)+$")
    page.get_by_label("Regex (names and READMEs)").check()
    page.get_by_role("button", name="Search", exact=True).click()
    box = page.get_by_label("Search", exact=True)
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description(re.compile("regex refused"))
    expect(page.locator("#error-summary")).to_be_focused()  # app.js takes the keyboard there
    check_page(page, "browse-bad-regex")
