"""First-run setup on a brand-new installation; phone + dark mode; the README's screenshots."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import Server, login

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"



def test_first_run_setup_wizard(browser, fresh_server: Server, artifacts) -> None:
    ctx = browser.new_context(locale="de-DE", viewport={"width": 1366, "height": 860})
    ctx.set_default_timeout(15_000)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # nothing is set up yet: every way in leads to the wizard
        page.goto(f"{fresh_server.console_url}/")
        expect(page).to_have_url(f"{fresh_server.console_url}/setup")
        expect(page.get_by_test_id("setup-database")).to_contain_text("sqlite")
        page.get_by_test_id("setup-next").click()

        page.locator("#setup-company").fill("Kanzlei Übermorgen")
        expect(page.locator("#setup-slug")).to_have_value("kanzlei-uebermorgen")
        page.locator("#setup-admin_name").fill("Ute Übermorgen")
        page.locator("#setup-admin_email").fill("ute@kanzlei.example.com")
        page.locator("#setup-password").fill("kurz")
        page.get_by_test_id("setup-next").click()
        expect(page.locator("#setup-password")).to_have_attribute("aria-invalid", "true")
        page.locator("#setup-password").fill("ein-langes-passwort-2026")
        page.get_by_test_id("setup-next").click()

        expect(page.locator('[data-setup-step="smtp"]')).to_be_visible()
        page.get_by_test_id("setup-skip").click()  # SMTP is optional
        expect(page.locator('[data-setup-step="modules"]')).to_be_visible()
        expect(page.get_by_role("checkbox", name=re.compile("Example"))).to_be_checked()
        page.get_by_test_id("setup-next").click()
        expect(page.get_by_test_id("setup-summary")).to_contain_text("Kanzlei Übermorgen")
        page.screenshot(path=artifacts / "setup-summary.png", full_page=True)
        page.get_by_test_id("setup-submit").click()

        # the new company's host, logged in by the one-time link; the module is booked already
        expect(page).to_have_url(re.compile(r"^http://kanzlei-uebermorgen\.localhost:\d+/welcome$"))
        expect(page.get_by_test_id("welcome-company")).to_have_text("Kanzlei Übermorgen")
        page.get_by_test_id("welcome-skip").click()
        expect(page.get_by_test_id("dashboard-title")).to_be_visible()
        expect(page.locator('[data-nav="module.example"]')).to_be_visible()

        # afterwards the platform host shows its login again
        page.goto(f"{fresh_server.console_url}/login")
        expect(page.get_by_role("heading", name="Plattform-Konsole")).to_be_visible()
        assert not errors, errors
    finally:
        ctx.close()


@pytest.mark.viewport(390, 844)
@pytest.mark.color_scheme("dark")
def test_phone_in_dark_mode(page: Page, server: Server, artifacts) -> None:
    login(page)
    expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))  # follows the system preference
    expect(page.get_by_test_id("drawer-button")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the dashboard scrolls sideways on a phone ({width}px)"
    expect(page.locator('[data-testid="activity-chart"] svg')).to_be_visible()
    page.screenshot(path=artifacts / "phone-dashboard-dark.png", full_page=True)
    screens = (("/admin/users", "users-table"), ("/admin/roles", "roles-matrix"), ("/admin/outbox", "outbox-list"))
    for path, ready in screens:
        page.goto(path)
        if ready:
            expect(page.get_by_test_id(ready)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width}px)"
    page.screenshot(path=artifacts / "phone-outbox-dark.png", full_page=True)


@pytest.mark.viewport(360, 740)
def test_narrowest_phone_login_and_signup(page: Page, server: Server) -> None:
    page.goto(f"{server.console_url}/signup")
    expect(page.get_by_test_id("signup-form")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.goto("/login")
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def _settle(page: Page) -> None:
    expect(page.locator('[data-testid="activity-chart"] svg')).to_be_visible()
    expect(page.get_by_test_id("realtime-status")).to_have_attribute("data-state", "open")
    page.wait_for_timeout(700)  # chart animation and fonts
    page.mouse.move(0, 0)


def test_readme_screenshots(browser, server: Server) -> None:
    """docs/screenshots/dashboard.png (desktop, light) and phone.png (phone, dark)."""
    DOCS.mkdir(parents=True, exist_ok=True)
    desktop = browser.new_context(base_url=server.base_url, locale="de-DE", color_scheme="light",
                                  viewport={"width": 1440, "height": 900}, device_scale_factor=1)
    try:
        page = desktop.new_page()
        login(page)
        _settle(page)
        page.screenshot(path=DOCS / "dashboard.png")
    finally:
        desktop.close()
    phone = browser.new_context(base_url=server.base_url, locale="de-DE", color_scheme="dark",
                                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                has_touch=True)
    try:
        page = phone.new_page()
        login(page)
        _settle(page)
        page.screenshot(path=DOCS / "phone.png")
    finally:
        phone.close()
