"""The users pages in a real browser: an admin adds a user and changes its permissions, the user
sees what it may do and changes its password; both pages accessible."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser.ui import check_page, sign_in
from tests.processes import ServerProcess

FIRST = "violet-kayak-meadow-17"
SECOND = "amber-walrus-orbit-42"


def test_an_admin_adds_a_user_and_the_user_changes_its_password(page: Page, ui_server: ServerProcess) -> None:
    sign_in(page, ui_server.url)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page).to_have_title("Users · tmr")
    page.get_by_label("User name").fill("browser-user")
    page.get_by_label("Password").fill("password123456")
    page.get_by_role("button", name="Add the user").click()
    # Refused: the reason is tied to the field, and the summary links to it.
    expect(page).to_have_title("Error: Users · tmr")
    field = page.get_by_label("Password")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile("too easy to guess"))
    check_page(page, "users-error")
    field.fill(FIRST)
    page.get_by_role("checkbox", name=re.compile("^Download:")).check()
    page.get_by_role("button", name="Add the user").click()
    expect(page.get_by_role("status").first).to_contain_text("The user was added")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="browser-user"))
    expect(row.get_by_role("checkbox", name="Search")).to_be_checked()
    expect(row.get_by_role("checkbox", name="Download")).to_be_checked()
    expect(row.get_by_role("checkbox", name="Upload")).not_to_be_checked()
    check_page(page, "users")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, ui_server.url, "browser-user", FIRST)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Upload")).to_have_count(0)  # no upload permission
    nav.get_by_role("link", name="Account").click()
    expect(page).to_have_title("Your account · tmr")
    permissions = page.get_by_role("table", name=re.compile("What you may do"))
    expect(permissions.get_by_role("row").filter(has_text="Upload")).to_contain_text("No")
    expect(permissions.get_by_role("row").filter(has_text="Download")).to_contain_text("Yes")
    check_page(page, "account")
    page.get_by_label("Current password").fill(FIRST)
    page.get_by_label("New password", exact=True).fill(SECOND)
    page.get_by_label("New password again").fill(SECOND)
    page.get_by_role("button", name="Change the password").click()
    expect(page.get_by_role("status").first).to_contain_text("Your password was changed")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, ui_server.url, "browser-user", SECOND)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Account")).to_be_visible()
