"""The performance workload in a real browser against a real `./run serve` process: start a run
from the form, watch it finish, read its numbers, follow a longer run live, compare two runs."""

from __future__ import annotations

import re
import zipfile

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.browser.ui import check_page, sign_in
from tests.processes import ServerProcess
from tests.zips import model_files, safetensors_bytes, zip_bytes

HEAVY = "workload-heavy"


def upload_heavy_model(server: ServerProcess) -> None:
    """A model whose package is 16 MiB of incompressible weights: 10,000 downloads of it are 160 GiB,
    which no client reading in Python fetches in a few seconds, so the time limit must end the run."""
    files = model_files(weights=safetensors_bytes((2048, 2048), seed=11))
    response = httpx.post(
        f"{server.url}/artifact/model/upload",
        params={"name": HEAVY},
        content=zip_bytes(files, method=zipfile.ZIP_STORED),
        headers={**server.headers, "Content-Type": "application/zip"},
        timeout=120,
    )
    assert response.status_code == 201, response.text


def start_run(
    page: Page,
    base_url: str,
    clients: str,
    requests: str,
    time_limit_s: str,
    artifact: str = "bert-base-uncased",
) -> str:
    page.goto(f"{base_url}/ui/workload")
    page.get_by_label("Artifact").select_option(label=f"{artifact} (model)")
    page.get_by_label("Clients").fill(clients)
    page.get_by_label("Requests").fill(requests)
    page.get_by_label("Time limit (seconds)").fill(time_limit_s)
    page.get_by_role("button", name="Start the workload").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(base_url)}/ui/workload/\d+$"))
    return page.url.rsplit("/", 1)[-1]


def test_an_admin_runs_the_workload_and_compares_runs(
    page: Page, ui_server: ServerProcess, seeded: dict[str, dict[str, object]]
) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/workload")
    expect(page.get_by_role("heading", level=1)).to_have_text("Performance workload")
    check_page(page, "workload-form")

    # A small run: 2 clients, 10 requests of the seeded bert model's package.
    first = start_run(page, ui_server.url, "2", "10", "60")
    status = page.locator("#run-status")
    expect(status).to_contain_text("Finished", timeout=60_000)
    expect(page.locator("#run-progress-text")).to_have_text("10 of 10 requests done.")
    expect(page.locator("#run-params")).not_to_contain_text("not yet")  # the end time came too
    results = page.locator("#run-results")
    expect(results).to_contain_text("MB/s")
    expect(results).to_contain_text("requests/s")
    for label in ("Mean", "Median", "99th percentile"):
        expect(results.get_by_text(label, exact=True)).to_be_visible()
    expect(results).not_to_contain_text("not measured")
    check_page(page, "workload-run-finished")

    # A run bounded by its time limit: followed live while it runs, then stopped by the limit.
    upload_heavy_model(ui_server)
    second = start_run(page, ui_server.url, "2", "10000", "6", artifact=HEAVY)
    expect(page.get_by_text("Refresh")).to_be_visible()
    check_page(page, "workload-run-running")
    expect(page.locator("#run-progress")).not_to_have_attribute("value", "0", timeout=30_000)
    expect(status).to_contain_text("Finished", timeout=60_000)
    expect(page.locator("#run-progress-text")).to_contain_text("The time limit ended the run first.")
    expect(page.get_by_text("Refresh")).to_have_count(0)

    # Past runs, newest first, and the two side by side.
    page.goto(f"{ui_server.url}/ui/workload")
    rows = page.get_by_role("table", name="Workload runs, newest first").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first.get_by_role("link")).to_have_attribute("href", f"/ui/workload/{second}")
    check_page(page, "workload-list")
    expect(page.get_by_label("Baseline run")).to_have_value(first)
    expect(page.get_by_label("Compared run")).to_have_value(second)
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare workload runs")
    table = page.get_by_role("table", name="Results, compared run against baseline")
    throughput = table.get_by_role("row", name=re.compile(r"^Throughput"))
    expect(throughput).to_contain_text(re.compile(r"[+-]\d+\.\d %"))
    expect(throughput).to_contain_text(re.compile(r"better|worse|same"))
    check_page(page, "workload-compare")

    # Reflow at 320 px: no page scrolls sideways (wide tables scroll inside their own region).
    page.set_viewport_size({"width": 320, "height": 800})
    for path, name in ((f"/ui/workload/{first}", "workload-run-320"), ("/ui/workload", "workload-list-320")):
        page.goto(f"{ui_server.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, path
        check_page(page, name)


def test_the_form_ties_its_errors_to_the_fields(
    page: Page, ui_server: ServerProcess, seeded: dict[str, dict[str, object]]
) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/workload")
    page.get_by_label("Artifact").select_option(label="bert-base-uncased (model)")
    page.get_by_label("Clients").fill("65")
    page.get_by_role("button", name="Start the workload").click()
    expect(page).to_have_title("Error: Performance workload · tmr")
    expect(page.get_by_role("alert")).to_contain_text("Clients must be between 1 and 64.")
    clients = page.get_by_label("Clients")
    expect(clients).to_have_attribute("aria-invalid", "true")
    expect(clients).to_have_accessible_description(re.compile("Clients must be between 1 and 64."))
    expect(page.locator("#error-summary")).to_be_focused()
    check_page(page, "workload-form-error")
