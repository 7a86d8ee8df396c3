"""What browser tests share: signing in through the form, axe's WCAG 2.0/2.1 A and AA rules, and
a screenshot of every page they visit (saved under build/screenshots/)."""

from __future__ import annotations

import re
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect

from tests.processes import ROOT
from tests.support import ADMIN, PASSWORD

SCREENSHOTS = ROOT / "build" / "screenshots"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_axe = Axe()


def sign_in(page: Page, base_url: str, name: str = ADMIN, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/ui/sign-in")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def assert_accessible(page: Page, label: str) -> None:
    """axe with the WCAG 2.0 and 2.1 A/AA rule sets finds nothing on the page as it is now."""
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    assert results.violations_count == 0, f"axe on {label}:\n{results.generate_report()}"


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    # What a visitor sees first, too (the README shows these).
    page.screenshot(path=str(path.with_name(f"{path.stem}-top.png")))
    return path


def check_page(page: Page, name: str) -> None:
    """The checks every page gets: a title, one h1, axe clean, and a screenshot."""
    assert page.title().endswith("· tmr"), page.title()
    expect(page.locator("h1")).to_have_count(1)
    assert_accessible(page, name)
    screenshot(page, name)


def is_focused(locator: Locator) -> bool:
    return bool(locator.evaluate("element => element === document.activeElement"))


def tab_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab until `target` has the focus, as a keyboard user would; fail if it never does."""
    for _ in range(limit):
        if is_focused(target):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")
