"""The web app in a real browser against a real server: login, shell, booking, permissions, i18n, theme, phone."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import (
    ACCESS_TTL_SECONDS,
    ADMIN_EMAIL,
    COMPANY,
    OWNER_EMAIL,
    PASSWORD,
    STAFF_EMAIL,
    Server,
    login,
)


def api_token(server: Server, email: str = ADMIN_EMAIL) -> str:
    with server.api() as client:
        response = client.post("/api/login", json={"email": email, "password": PASSWORD})
        response.raise_for_status()
        return response.json()["access_token"]


def cancel_module(server: Server, slug: str) -> None:
    """Make sure the demo company has not booked `slug` (the demo books every module)."""
    token = api_token(server)
    with server.api() as client:
        client.headers["Authorization"] = f"Bearer {token}"
        subs = client.get("/api/subscriptions")
        subs.raise_for_status()
        for sub in subs.json():
            if sub["module"] == slug and sub["status"] in ("active", "trial", "pending", "suspended"):
                client.post(f"/api/subscriptions/{sub['id']}/cancel").raise_for_status()


def test_login_then_dashboard(page: Page, server: Server, artifacts) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    # GET /api/context names the company before anyone logs in
    expect(page.get_by_test_id("login-company")).to_have_text(COMPANY)
    expect(page.get_by_test_id("signup-link")).to_have_count(0)  # sign-up lives on the platform's host
    page.screenshot(path=artifacts / "login.png", full_page=True)

    # a wrong password: the API's code, translated, and no navigation
    page.get_by_label("E-Mail-Adresse").fill(ADMIN_EMAIL)
    page.get_by_label("Passwort", exact=True).fill("wrong-password-123")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_text("E-Mail-Adresse oder Passwort stimmt nicht.")

    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(f"{server.base_url}/")
    expect(page.get_by_test_id("company-name")).to_have_text(COMPANY)
    expect(page.locator('[data-widget="core.modules"]')).to_be_visible()
    expect(page.locator('[data-widget="core.team"]')).to_be_visible()
    expect(page.get_by_test_id("team-active")).to_have_text(re.compile(r"^\d+$"))
    # the activity chart (ECharts, its own lazy chunk) draws its bars
    expect(page.locator('[data-testid="activity-chart"] svg')).to_be_visible()
    # live updates: the WebSocket said hello
    expect(page.get_by_test_id("realtime-status")).to_have_attribute("data-state", "open")
    expect(page.locator('[data-nav-section="admin"]')).to_be_visible()
    page.screenshot(path=artifacts / "dashboard.png", full_page=True)

    # the login page greets with the company name from now on; logging out returns there
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_test_id("login-company")).to_have_text(COMPANY)


def test_booking_a_module_adds_its_menu_entry(page: Page, server: Server, artifacts) -> None:
    cancel_module(server, "example")
    chunks: list[str] = []
    module_chunk = re.compile(r"/assets/example-[\w-]+\.js$")
    page.on("request", lambda req: chunks.append(req.url) if module_chunk.search(req.url) else None)

    login(page)
    nav_entry = page.locator('[data-nav="module.example"]')
    expect(nav_entry).to_have_count(0)
    assert not chunks, "the code of a module that is not booked must not be loaded"

    page.locator('[data-nav="admin.modules"]').click()
    card = page.locator('[data-module="example"]')
    expect(card.get_by_test_id("module-status")).to_have_text("Gekündigt")
    # monthly / yearly switch changes the shown prices
    price = card.locator('[data-price="example-business"]')
    monthly = price.inner_text()
    page.get_by_role("radio", name="Jährlich").click()
    expect(price).not_to_have_text(monthly)
    page.get_by_role("radio", name="Monatlich").click()
    page.screenshot(path=artifacts / "modules.png", full_page=True)

    card.get_by_test_id("book-module").click()
    dialog = page.get_by_test_id("book-dialog")
    expect(dialog).to_be_visible()
    page.screenshot(path=artifacts / "book-dialog.png")
    page.get_by_test_id("book-confirm").click()

    # no reload: the menu entry appears, the module's chunk is fetched, the status flips
    expect(nav_entry).to_be_visible()
    expect(card.get_by_test_id("module-status")).to_have_text("Aktiv")
    assert chunks, "the booked module's code should have been loaded"

    nav_entry.click()
    expect(page).to_have_url(f"{server.base_url}/example")
    expect(page.get_by_role("heading", name="Beispiel", level=1)).to_be_visible()

    # cancelling (with a confirmation) removes the entry again
    page.locator('[data-nav="admin.modules"]').click()
    card.get_by_test_id("cancel-module").click()
    page.get_by_test_id("confirm").click()
    expect(nav_entry).to_have_count(0)
    expect(card.get_by_test_id("module-status")).to_have_text("Gekündigt")


def test_staff_sees_permission_denied_on_admin_users(page: Page, server: Server, artifacts) -> None:
    login(page, STAFF_EMAIL)
    # staff see the teams (teams:read) but not the user administration
    expect(page.locator('[data-nav="admin.teams"]')).to_be_visible()
    expect(page.locator('[data-nav="admin.users"]')).to_have_count(0)
    page.goto("/admin/users")
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    expect(page.get_by_role("heading", name="Kein Zugriff auf diese Seite")).to_be_visible()
    expect(page).to_have_url(f"{server.base_url}/admin/users")
    page.screenshot(path=artifacts / "forbidden.png", full_page=True)


def test_admin_users_create_shows_conflict_at_the_field(page: Page, server: Server, artifacts) -> None:
    login(page)
    page.goto("/admin/users")
    expect(page.get_by_test_id("users-table")).to_be_visible()
    page.get_by_test_id("user-search").fill("julia")
    expect(page.locator("tr[data-user]")).to_have_count(1)
    page.get_by_test_id("user-search").fill("")
    expect(page.locator("tr[data-user]").nth(4)).to_be_visible()
    page.screenshot(path=artifacts / "users.png", full_page=True)

    page.get_by_test_id("user-create").click()
    form = page.get_by_test_id("user-form")
    form.get_by_label("Name").fill("Doppelt Vorhanden")
    form.get_by_label("E-Mail-Adresse").fill(STAFF_EMAIL)
    page.get_by_test_id("user-create-submit").click()
    email_field = form.get_by_label("E-Mail-Adresse")
    expect(email_field).to_have_attribute("aria-invalid", "true")
    expect(form.locator("[data-field-error]")).to_have_text("Diese E-Mail-Adresse wird bereits verwendet.")

    email_field.fill("neu.person@demo.example.com")
    page.get_by_test_id("user-create-submit").click()
    expect(page.locator('tr[data-user="neu.person@demo.example.com"]')).to_be_visible()


def test_switch_to_english(page: Page, server: Server) -> None:
    login(page)
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator('[data-nav="admin.users"]')).to_have_text("Users")
    expect(page.locator('[data-widget="core.modules"] h2')).to_have_text("Your modules")
    # the choice survives a reload
    page.reload()
    expect(page.locator('[data-nav="admin.audit"]')).to_have_text("Audit log")


def test_dark_mode_toggles_the_root_class(page: Page, server: Server, artifacts) -> None:
    login(page)
    html = page.locator("html")
    expect(html).not_to_have_class(re.compile(r"\bdark\b"))
    page.get_by_test_id("theme-toggle").click()
    expect(html).to_have_class(re.compile(r"\bdark\b"))
    page.screenshot(path=artifacts / "dashboard-dark.png", full_page=True)
    page.reload()
    expect(html).to_have_class(re.compile(r"\bdark\b"))
    page.get_by_test_id("theme-toggle").click()
    expect(html).not_to_have_class(re.compile(r"\bdark\b"))


def test_command_palette_jumps_to_a_page(page: Page, server: Server, artifacts) -> None:
    login(page)
    page.keyboard.press("Control+k")
    palette = page.get_by_test_id("palette")
    expect(palette).to_be_visible()
    page.keyboard.type("Protokoll")
    page.screenshot(path=artifacts / "palette.png")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.base_url}/admin/audit")
    expect(palette).to_be_hidden()
    expect(page.get_by_test_id("audit-table")).to_be_visible()
    page.screenshot(path=artifacts / "audit.png", full_page=True)
    # the action-prefix filter narrows the list
    page.get_by_test_id("audit-action").fill("auth.")
    page.get_by_role("button", name="Filtern").click()
    rows = page.locator('[data-testid="audit-table"] tbody code')
    expect(rows.first).to_have_text(re.compile(r"^auth\."))


def test_silent_refresh_keeps_the_page(page: Page, server: Server) -> None:
    login(page)
    page.locator('[data-nav="admin.users"]').click()
    expect(page.get_by_test_id("users-table")).to_be_visible()
    time.sleep(ACCESS_TTL_SECONDS + 1.5)  # the access token has run out now
    page.get_by_test_id("user-search").fill("sabine")
    expect(page.locator('tr[data-user="sabine.hoffmann@demo.example.com"]')).to_be_visible()
    expect(page).to_have_url(f"{server.base_url}/admin/users")


@pytest.mark.viewport(390, 844)
def test_phone_shows_a_drawer(page: Page, server: Server, artifacts) -> None:
    login(page)
    expect(page.get_by_test_id("sidebar")).to_be_hidden()
    button = page.get_by_test_id("drawer-button")
    expect(button).to_be_visible()
    page.screenshot(path=artifacts / "phone-dashboard.png", full_page=True)
    button.click()
    drawer = page.get_by_test_id("drawer")
    expect(drawer).to_be_visible()
    expect(drawer.locator('[data-nav="dashboard"]')).to_be_visible()
    page.wait_for_timeout(300)  # let the fade-in finish for the picture
    page.screenshot(path=artifacts / "phone-drawer.png")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    # navigating from the drawer closes it
    button.click()
    drawer.locator('[data-nav="admin.modules"]').click()
    expect(page).to_have_url(f"{server.base_url}/admin/modules")
    expect(drawer).to_be_hidden()
    page.screenshot(path=artifacts / "phone-modules.png", full_page=True)


def test_platform_console_lists_customers(page: Page, server: Server, artifacts) -> None:
    page.goto(f"{server.console_url}/")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="Plattform-Konsole")).to_be_visible()
    page.get_by_label("E-Mail-Adresse").fill(OWNER_EMAIL)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.locator('[data-nav="console.customers"]')).to_be_visible()
    expect(page.locator('[data-nav-section="admin"]')).to_have_count(0)
    page.locator('[data-nav="console.customers"]').click()
    expect(page.get_by_role("cell", name=re.compile("Müller & Partner GmbH"))).to_be_visible()
    page.screenshot(path=artifacts / "console-customers.png", full_page=True)
    # company screens are not for platform staff
    page.goto(f"{server.console_url}/admin/users")
    expect(page.get_by_test_id("forbidden")).to_be_visible()
