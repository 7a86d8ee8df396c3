"""The whole journey by keyboard alone, from sign-in to a download, and the layout rules every
page keeps: a skip link first, a visible focus ring, reflow at 320 px and at 200 % zoom."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser.ui import assert_accessible, check_page, is_focused, screenshot, sign_in, tab_to
from tests.processes import ServerProcess
from tests.support import ADMIN, PASSWORD


def test_sign_in_to_download_by_keyboard_alone(
    page: Page, ui_server: ServerProcess, seeded: dict[str, dict[str, object]]
) -> None:
    page.goto(f"{ui_server.url}/")
    expect(page).to_have_url(f"{ui_server.url}/ui/sign-in?notice=signed-in-needed&next=%2F")
    tab_to(page, page.get_by_label("Username"))
    page.keyboard.type(ADMIN)
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_label("Password"))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    search = page.get_by_role("searchbox", name="Search").or_(page.get_by_label("Search", exact=True))
    tab_to(page, search.first)
    page.keyboard.type("bert-base-uncased")
    page.keyboard.press("Enter")
    result = page.get_by_role("link", name="bert-base-uncased", exact=True)
    expect(result).to_be_visible()
    tab_to(page, result)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("bert-base-uncased")

    download = page.get_by_role("link", name="Download the whole package").or_(
        page.get_by_role("button", name="Download the whole package")
    )
    tab_to(page, download.first, limit=200)
    with page.expect_download() as event:
        page.keyboard.press("Enter")
    saved = event.value.path()
    assert saved.read_bytes()[:4] == b"PK\x03\x04"  # a zip


def test_the_skip_link_comes_first_and_moves_focus_to_main(page: Page, ui_server: ServerProcess) -> None:
    page.goto(f"{ui_server.url}/ui/sign-in")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    assert is_focused(skip)
    expect(skip).to_be_visible()  # shown when focused
    outline = skip.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline != "none"  # a visible focus ring
    page.keyboard.press("Enter")
    assert is_focused(page.locator("main"))


def test_pages_reflow_at_320_px_and_at_200_percent_zoom(
    browser: Browser, ui_server: ServerProcess, seeded: dict[str, dict[str, object]]
) -> None:
    bert = seeded["bert-base-uncased"]["metadata"]
    assert isinstance(bert, dict)
    # 320 CSS px is WCAG's reflow width; 640 is a 1280 px window at 200 % zoom.
    for width in (320, 640):
        context = browser.new_context(viewport={"width": width, "height": 800})
        page = context.new_page()
        page.goto(f"{ui_server.url}/ui/sign-in")
        page.get_by_label("Username").fill(ADMIN)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        for path in ("/", f"/ui/artifacts/{bert['id']}", "/ui/health", "/ui/register", "/ui/upload"):
            page.goto(f"{ui_server.url}{path}")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
            if width == 320:
                assert_accessible(page, f"{path} at 320px")
        screenshot(page, f"upload-{width}px")
        context.close()


def test_error_pages_say_what_happened_and_pass_axe(page: Page, ui_server: ServerProcess) -> None:
    sign_in(page, ui_server.url)
    missing = page.goto(f"{ui_server.url}/ui/artifacts/1234567890")
    assert missing is not None
    assert missing.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_role("alert")).to_contain_text("1234567890")
    check_page(page, "error-not-found")
    # A form sent without this session's key: refused on a page of its own, nothing done.
    refused = page.request.post(
        f"{ui_server.url}/ui/admin/reset", form={"confirmation": "reset the registry"}
    )
    assert refused.status == 403
    page.set_content(refused.text())
    expect(page.get_by_role("alert")).to_contain_text(
        "This form has expired or was not sent from this session"
    )
