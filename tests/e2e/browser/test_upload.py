"""Upload in a real browser: the progress text reaching 100 %, the refusal of a file that is not a
zip tied to the file field, a cancelled upload that leaves nothing, and the form without JavaScript."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.ui import check_page, sign_in
from tests.processes import ServerProcess
from tests.zips import model_files, safetensors_bytes, zip_bytes

# Every text the live region says, kept across the navigation that follows a finished upload.
RECORD_STATUS = """
document.addEventListener("DOMContentLoaded", () => {
  const region = document.getElementById("upload-status");
  if (!region) return;
  new MutationObserver(() => window.recordStatus(region.textContent))
    .observe(region, { childList: true, characterData: true, subtree: true });
});
"""
SENT = re.compile(r"^[0-9]+\.[0-9]+ MB of [0-9]+\.[0-9]+ MB sent \(([0-9]+) %\)")


def by_name(server: ServerProcess, name: str) -> int:
    return httpx.get(f"{server.url}/artifact/byName/{name}", headers=server.headers, timeout=30).status_code


def spool_of(server: ServerProcess) -> Path:
    return server.log_path.parent / "spool"  # TMR_SPOOL_DIR of the `ui_server` fixture


@pytest.fixture
def small_zip(tmp_path: Path) -> Path:
    path = tmp_path / "sentiment.zip"
    path.write_bytes(zip_bytes(model_files(seed=41)))
    return path


def test_the_empty_form_is_accessible(page: Page, ui_server: ServerProcess) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/upload")
    expect(page).to_have_title("Upload a zip · tmr")
    expect(page.get_by_role("heading", name="Limits")).to_be_visible()
    expect(page.get_by_text("at most 10,000")).to_be_visible()
    check_page(page, "upload")


def test_an_upload_reports_the_bytes_sent_then_opens_the_artifact(
    page: Page, ui_server: ServerProcess, small_zip: Path
) -> None:
    said: list[str] = []

    def record(text: str) -> None:
        said.append(text)

    page.expose_function("recordStatus", record)
    page.add_init_script(RECORD_STATUS)
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/upload")
    page.get_by_label("Name", exact=True).fill("acme/uploaded-in-a-browser")
    page.get_by_label("Version").fill("v1.2")
    page.get_by_label("Zip file").set_input_files(small_zip)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page).to_have_url(re.compile(r"/ui/artifacts/[0-9]+\?notice=uploaded$"))
    expect(page.get_by_role("status").first).to_contain_text("The artifact is private")
    percents = [int(m.group(1)) for m in map(SENT.match, said) if m]
    assert percents, said
    assert percents[-1] == 100
    assert percents == sorted(percents)
    assert by_name(ui_server, "acme/uploaded-in-a-browser") == 200
    assert list(spool_of(ui_server).iterdir()) == []


def test_a_file_that_is_not_a_zip_is_refused_at_the_file_field(
    page: Page, ui_server: ServerProcess, tmp_path: Path
) -> None:
    fake = tmp_path / "notes.zip"
    fake.write_text("these are notes, not a zip archive")
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/upload")
    page.get_by_label("Name", exact=True).fill("not-a-zip")
    page.get_by_label("Zip file").set_input_files(fake)
    page.get_by_role("button", name="Upload", exact=True).click()
    field = page.get_by_label("Zip file")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile("Not a readable zip archive"))
    expect(field).to_be_focused()
    expect(page.get_by_role("status")).to_have_text("The upload was not accepted. Nothing was stored.")
    check_page(page, "upload-error")
    assert by_name(ui_server, "not-a-zip") == 404


def test_cancel_stops_the_upload_and_stores_nothing(
    page: Page, ui_server: ServerProcess, tmp_path: Path
) -> None:
    big = tmp_path / "big.zip"  # about 4 MB of weights that do not compress
    big.write_bytes(zip_bytes(model_files(weights=safetensors_bytes((1024, 1024), seed=5))))
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/upload")
    # A slow link (about 256 KB/s up), so the upload is still going when Cancel is pressed.
    devtools = page.context.new_cdp_session(page)
    devtools.send("Network.enable")
    devtools.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 256 * 1024},
    )
    page.get_by_label("Name", exact=True).fill("cancelled-upload")
    page.get_by_label("Zip file").set_input_files(big)
    page.get_by_role("button", name="Upload", exact=True).click()
    status = page.get_by_role("status")
    expect(status).to_contain_text(re.compile(r"MB of [0-9.]+ MB sent \(([1-9]|[1-9][0-9]) %\)"))
    expect(page.get_by_role("progressbar", name="Upload progress")).to_be_visible()
    check_page(page, "upload-in-progress")
    page.get_by_role("button", name="Cancel upload").click()
    expect(status).to_have_text("Upload cancelled. Nothing was stored.")
    expect(page.get_by_role("button", name="Upload", exact=True)).to_be_enabled()
    check_page(page, "upload-cancelled")
    devtools.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    assert by_name(ui_server, "cancelled-upload") == 404
    spool = spool_of(ui_server)
    for _ in range(100):  # the server notices the hang-up on its next read of the body
        if not list(spool.iterdir()):
            break
        page.wait_for_timeout(100)
    assert list(spool.iterdir()) == []


def test_the_form_works_without_its_script(page: Page, ui_server: ServerProcess, tmp_path: Path) -> None:
    path = tmp_path / "plain.zip"
    path.write_bytes(zip_bytes(model_files(seed=43)))
    # As a browser that does not run the upload script: the form posts as multipart/form-data.
    page.route(re.compile(r"/static/js/upload\.[0-9a-f]+\.js$"), lambda route: route.abort())
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/upload")
    page.get_by_label("Dataset", exact=True).check()
    page.get_by_label("Zip file").set_input_files(path)
    page.get_by_role("button", name="Upload", exact=True).click()  # no name: refused by the server
    expect(page).to_have_title("Error: Upload a zip · tmr")
    name = page.get_by_label("Name", exact=True)
    expect(name).to_have_accessible_description(re.compile("Enter a name"))
    expect(page.get_by_label("Dataset", exact=True)).to_be_checked()
    check_page(page, "upload-errors-without-script")
    name.fill("acme/plain-upload")
    page.get_by_label("Zip file").set_input_files(path)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page).to_have_url(re.compile(r"/ui/artifacts/[0-9]+\?notice=uploaded$"))
    assert by_name(ui_server, "acme/plain-upload") == 200
