"""The operations dashboard in a real browser: the last hour's numbers from every worker, the
components, live refresh without a reload, the window and log filters, the log download, and
the public view for visitors who are not signed in."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser.ui import assert_accessible, check_page, sign_in
from tests.processes import ServerProcess


def test_the_dashboard_shows_the_last_hour_and_refreshes_live(
    page: Page, ui_server: ServerProcess, seeded: dict[str, dict[str, object]]
) -> None:
    bert = seeded["bert-base-uncased"]["metadata"]
    assert isinstance(bert, dict)
    download = httpx.get(f"{ui_server.url}/download/{bert['id']}", headers=ui_server.headers, timeout=60)
    assert download.status_code == 200
    sign_in(page, ui_server.url)
    page.get_by_role("link", name="Health").first.click()
    expect(page).to_have_url(f"{ui_server.url}/ui/health")
    expect(page.get_by_role("heading", level=1)).to_have_text("Registry health")
    totals = page.locator(".health-totals")
    expect(totals).to_contain_text("Registrations")
    registrations = totals.locator("div", has_text="Registrations").locator("dd")
    assert int(registrations.inner_text().split()[0]) >= len(seeded)
    downloads = totals.locator("div", has_text="Downloads").locator("dd")
    assert int(downloads.inner_text().split()[0].replace(",", "")) >= 1
    expect(page.get_by_role("heading", name="Components")).to_be_visible()
    expect(page.locator("svg").first).to_be_visible()
    expect(page.get_by_role("link", name="Performance workload")).to_be_visible()
    check_page(page, "health")

    # Live: the numbers are fetched again and swapped in without reloading the page.
    page.evaluate("window.__sameDocument = true")
    status = page.locator("#live-status")
    expect(status).to_contain_text("Live updates every")
    pause = page.get_by_role("button", name="Pause live updates")
    pause.click()
    expect(status).to_have_text("Live updates paused.")
    page.get_by_role("button", name="Resume live updates").click()
    expect(status).to_contain_text("Updated at", timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True
    assert_accessible(page, "health after a live update")


def test_an_unknown_window_is_said_on_the_page(page: Page, ui_server: ServerProcess) -> None:
    sign_in(page, ui_server.url)
    response = page.goto(f"{ui_server.url}/ui/health?window=7")
    assert response is not None
    assert response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("window must be one of 5, 15, 60 minutes; got 7")
    check_page(page, "health-bad-window")
    # The selector still works from there.
    page.get_by_label("Time window").select_option("15")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="The last 15 minutes")).to_be_visible()


def test_log_lines_filter_and_download(page: Page, ui_server: ServerProcess) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/health")
    page.get_by_label("Text in log lines").fill("/ui/sign-in")
    page.get_by_role("button", name="Filter log lines").click()
    rows = page.locator("table.health-logs tbody tr")
    expect(rows.first).to_be_visible()
    for text in rows.all_inner_texts()[:20]:
        assert "/ui/sign-in" in text
    check_page(page, "health-logs-filtered")
    with page.expect_download() as event:
        page.get_by_role("link", name="Download these log lines (JSON Lines)").click()
    lines = event.value.path().read_text().splitlines()
    assert lines
    assert all("/ui/sign-in" in json.dumps(json.loads(line)) for line in lines)


def test_visitors_not_signed_in_see_the_components_only(browser: Browser, ui_server: ServerProcess) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{ui_server.url}/ui/health")
    expect(page.get_by_role("heading", name="Components")).to_be_visible()
    expect(page.locator(".health-totals")).to_have_count(0)
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    check_page(page, "health-signed-out")
    context.close()
