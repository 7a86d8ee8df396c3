"""The artifact page's analyses in a real browser: the lineage drawing and its table, a node link
followed from the keyboard, the cost, and the license check submitted from the keyboard."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.browser.ui import check_page, sign_in
from tests.processes import ServerProcess

FOCUS_RING = "rgb(179, 89, 0)"  # --focus in app.css
MAX_TABS = 250


def ident(seeded: dict[str, dict[str, Any]], name: str) -> str:
    return str(seeded[name]["metadata"]["id"])


def api(server: ServerProcess, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, f"{server.url}{path}", headers=server.headers, timeout=60, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def tab_to(page: Page, script: str) -> None:
    """Press Tab until `script` (a JS expression on `el`, the focused element) holds."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!(el && ({script})); }})()"):
            return
    raise AssertionError(f"Tab never reached an element where {script}")


def test_lineage_and_cost_on_the_artifact_page(
    page: Page, ui_server: ServerProcess, seeded: dict[str, dict[str, Any]]
) -> None:
    fine, base = ident(seeded, "base-lm-finetuned"), ident(seeded, "base-lm")
    graph = api(ui_server, "GET", f"/artifact/model/{fine}/lineage")
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/artifacts/{fine}")

    lineage = page.get_by_role("region", name="Lineage")
    drawing = lineage.get_by_role("group", name="Lineage of base-lm-finetuned")
    expect(drawing).to_be_visible()
    expect(drawing.locator("a")).to_have_count(len(graph["nodes"]) - 1)  # every node but this one
    expect(drawing).to_contain_text("this artifact")
    table = lineage.get_by_role("table", name="Lineage relations of base-lm-finetuned, from parent to child")
    expect(table.locator("tbody tr")).to_have_count(len(graph["edges"]))
    for relation in ("fine_tune", "fine_tuning_dataset", "adapter"):
        expect(table).to_contain_text(relation)

    cost = page.get_by_role("region", name="Cost")
    full = api(ui_server, "GET", f"/artifact/model/{fine}/cost", params={"dependency": "true"})
    shares = cost.get_by_role("table", name="Each artifact's share of the download with dependencies")
    expect(shares.locator("tbody tr")).to_have_count(len(full))
    own = cost.locator("dd data").first
    assert (
        float(own.get_attribute("value") or "nan")
        == api(ui_server, "GET", f"/artifact/model/{fine}/cost")[fine]["total_cost"]
    )
    total = cost.locator("dd data").nth(1)
    assert float(total.get_attribute("value") or "nan") == full[fine]["total_cost"]
    check_page(page, "artifact-analysis")

    # The keyboard reaches a node of the drawing, shows where it is, and follows it with Enter.
    tab_to(page, "el.closest('svg.lineage-graph') && el.getAttribute('aria-label') === 'base-lm (model)'")
    ring = page.evaluate("getComputedStyle(document.activeElement.querySelector('rect')).stroke")
    assert ring == FOCUS_RING
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{ui_server.url}/ui/artifacts/{base}")
    expect(page.get_by_role("heading", level=1)).to_have_text("base-lm")


def test_license_check_from_the_keyboard(
    page: Page, ui_server: ServerProcess, seeded: dict[str, dict[str, Any]]
) -> None:
    fine = ident(seeded, "base-lm-finetuned")
    github = "https://github.com/huggingface/transformers"
    expected = api(ui_server, "POST", f"/artifact/model/{fine}/license-check", json={"github_url": github})
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/artifacts/{fine}")
    tab_to(page, "el.id === 'f-github_url'")
    page.keyboard.type(github)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/ui/artifacts/{fine}/license-check\?github_url="))
    expect(page.get_by_role("heading", level=1)).to_have_text("License check for base-lm-finetuned")
    verdict = page.get_by_role("region", name="Verdict")
    expect(verdict).to_contain_text("✓ Compatible" if expected is True else "✗ Not compatible")
    expect(verdict).to_contain_text(f"Code: {github}")
    expect(verdict).to_contain_text("Model: base-lm-finetuned")
    expect(page.get_by_label("GitHub repository URL")).to_have_value(github)
    check_page(page, "license-check")

    # A URL that is not GitHub's comes back with the error on the field, and the keyboard on it.
    field = page.get_by_label("GitHub repository URL")
    field.fill("https://gitlab.com/someone/something")
    field.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Enter the URL of a GitHub repository")
    expect(page.get_by_label("GitHub repository URL")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#error-summary")).to_be_focused()
    check_page(page, "license-check-error")


def test_the_drawing_reflows_at_320_pixels(
    page: Page, ui_server: ServerProcess, seeded: dict[str, dict[str, Any]]
) -> None:
    fine = ident(seeded, "base-lm-finetuned")
    page.set_viewport_size({"width": 320, "height": 800})
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/artifacts/{fine}")
    drawing = page.locator("svg.lineage-graph")
    expect(drawing).to_be_visible()
    box = drawing.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 320
