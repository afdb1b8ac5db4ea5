"""Live updates and record search in a real browser: another person's change reaches an open list over
/api/ws without a reload; the Ctrl/Cmd+K palette finds and opens a record."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.support import Server, api_login
from tests.e2e.test_admin import login


def test_users_list_follows_changes_made_elsewhere(page: Page, server: Server, artifacts) -> None:
    login(page)
    page.locator('[data-nav="admin.users"]').click()
    table = page.get_by_test_id("users-table")
    expect(table).to_be_visible()
    expect(page.get_by_test_id("realtime-status")).to_have_attribute("data-state", "open")
    # A marker on the window: if the page reloaded, it is gone.
    page.evaluate("window.__sameDocument = true")

    email = f"live-{uuid.uuid4().hex[:8]}@demo.example.com"
    with api_login(server) as other:  # a second session of the company, outside this browser
        created = other.post("/api/users", json={"email": email, "name": "Lena Live", "role": "staff"})
        created.raise_for_status()
        user = created.json()
        try:
            row = table.locator(f'[data-user="{email}"]')
            expect(row).to_be_visible()
            expect(row).to_contain_text("Lena Live")

            renamed = other.patch(f"/api/users/{user['id']}", json={"version": user["version"],
                                                                     "name": "Lena Umbenannt"})
            renamed.raise_for_status()
            expect(row).to_contain_text("Lena Umbenannt")
            page.screenshot(path=artifacts / "live-users.png", full_page=True)
        finally:
            other.delete(f"/api/users/{user['id']}").raise_for_status()
        expect(table.locator(f'[data-user="{email}"]')).to_have_count(0)
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded instead of updated live"


def test_palette_searches_records_and_opens_one(page: Page, server: Server) -> None:
    """Ctrl/Cmd+K is wired to GET /api/search: a demo contact is found by a name prefix and opens."""
    login(page)
    page.keyboard.press("Control+k")
    palette = page.get_by_test_id("palette")
    expect(palette).to_be_visible()
    page.keyboard.type("Beck")
    hit = palette.get_by_role("option").filter(has_text="Andreas Becker")
    expect(hit).to_be_visible()
    hit.click()
    expect(palette).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/contacts/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", name="Andreas Becker")).to_be_visible()
