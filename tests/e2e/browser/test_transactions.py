"""The transactions pages in a real browser: reached from the navigation, a committed and a failed
transaction listed, the failed one's page saying which command failed and why; both accessible."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.browser.ui import check_page, sign_in
from tests.processes import ServerProcess


def executed(server: ServerProcess, command: dict[str, str]) -> tuple[str, int]:
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as client:
        tid: str = client.post("/transactions").raise_for_status().json()["id"]
        client.post(f"/transactions/{tid}/commands", json=command).raise_for_status()
        return tid, client.post(f"/transactions/{tid}/execute").status_code


def test_the_list_and_a_failed_transaction_are_accessible(page: Page, ui_server: ServerProcess) -> None:
    committed, status = executed(
        ui_server, {"op": "register", "type": "code", "url": "https://github.com/psf/requests"}
    )
    assert status == 200
    failed, status = executed(ui_server, {"op": "ingest", "url": "https://huggingface.co/bare/no-card"})
    assert status == 424
    sign_in(page, ui_server.url)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Transactions").click()
    expect(page).to_have_title("Transactions · tmr")
    expect(page.get_by_role("rowheader", name=committed)).to_be_visible()
    check_page(page, "transactions")
    page.get_by_role("link", name=failed).click()
    expect(page).to_have_title(f"Transaction {failed} · tmr")
    expect(page.get_by_text("Failed: nothing was changed")).to_be_visible()
    expect(page.get_by_text(re.compile(r"command 0 \(ingest\) failed"))).to_be_visible()
    check_page(page, "transaction-failed")
