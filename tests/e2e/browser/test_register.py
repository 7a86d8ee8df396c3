"""Register and ingest in a real browser: by keyboard alone, a refusal by the trust gate with its
failing metrics, an admitted model's verdict, and errors tied to their fields."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.browser.ui import check_page, is_focused, sign_in, tab_to
from tests.processes import ServerProcess

INGEST = "Ingest (rated first; kept out unless it passes the trust gate)"


def by_name(server: ServerProcess, name: str) -> int:
    return httpx.get(f"{server.url}/artifact/byName/{name}", headers=server.headers, timeout=30).status_code


def test_the_empty_form_is_accessible(page: Page, ui_server: ServerProcess) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/register")
    expect(page).to_have_title("Register an artifact · tmr")
    check_page(page, "register")


def test_register_by_url_with_the_keyboard_alone(page: Page, ui_server: ServerProcess) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/register")
    tab_to(page, page.get_by_label("Source URL"))
    page.keyboard.type("https://huggingface.co/datasets/acme/instruct-data")
    page.keyboard.press("Tab")  # into the type group, on its checked radio
    assert is_focused(page.get_by_label("Model", exact=True))
    page.keyboard.press("ArrowRight")  # arrows choose within a radio group
    expect(page.get_by_label("Dataset", exact=True)).to_be_checked()
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_label("Name", exact=True))
    page.keyboard.type("instruct data, by keyboard")
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_label("Register", exact=True))
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_role("button", name="Add to the registry"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/ui/artifacts/[0-9]+\?notice=registered$"))
    expect(page.get_by_role("status").first).to_contain_text("The artifact was registered.")
    assert by_name(ui_server, "instruct data, by keyboard") == 200


def test_ingest_refused_by_the_gate_shows_the_failing_metrics(page: Page, ui_server: ServerProcess) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/register")
    page.get_by_label("Source URL").fill("https://huggingface.co/bare/no-card")
    page.get_by_label(INGEST).check()
    page.get_by_role("button", name="Add to the registry").click()
    expect(page.get_by_role("alert")).to_contain_text("does not pass the trust gate")
    expect(page).to_have_title("Error: Register an artifact · tmr")
    table = page.get_by_role("table", name="Metrics that keep the model out")
    row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Ramp-up time"))
    expect(row).to_contain_text("at least 0.50")
    expect(row).to_contain_text("✗ Fails")
    expect(page.get_by_label(INGEST)).to_be_checked()  # the form comes back as it was sent
    check_page(page, "register-ingest-refused")
    assert by_name(ui_server, "no-card") == 404  # nothing stored


def test_an_ingested_model_shows_every_metric_against_its_threshold(
    page: Page, ui_server: ServerProcess
) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/register")
    page.get_by_label("Source URL").fill("https://huggingface.co/google-bert/bert-base-uncased")
    page.get_by_label("Name", exact=True).fill("bert, ingested")
    page.get_by_label(INGEST).check()
    page.get_by_role("button", name="Add to the registry").click()
    expect(page).to_have_url(re.compile(r"/ui/register/[0-9]+/verdict$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Trust gate verdict: bert, ingested")
    expect(page.get_by_role("status").first).to_contain_text("✓ Passed")
    table = page.get_by_role("table", name="Each metric against its threshold")
    expect(table.get_by_text("✓ Passes").first).to_be_visible()
    expect(table.get_by_text("✗ Fails")).to_have_count(0)
    check_page(page, "register-ingest-verdict")
    page.get_by_role("link", name="Go to the artifact page").click()
    expect(page).to_have_url(re.compile(r"/ui/artifacts/[0-9]+$"))


def test_errors_are_tied_to_their_fields(page: Page, ui_server: ServerProcess) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/register")
    page.get_by_label("Source URL").fill("not a url")
    page.get_by_role("button", name="Add to the registry").click()
    url = page.get_by_label("Source URL")
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(url).to_have_accessible_description(re.compile("absolute http\\(s\\) URL"))
    expect(page.locator("#error-summary")).to_be_focused()  # the keyboard lands on the problem
    page.get_by_role("link", name=re.compile("absolute http")).click()
    expect(url).to_be_focused()
    check_page(page, "register-errors")
