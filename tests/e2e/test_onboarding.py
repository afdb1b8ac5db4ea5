"""Onboarding in a real browser: SaaS sign-up across hosts, password reset and invitations through the outbox."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.support import ADMIN_EMAIL, PASSWORD, Server, api_login, outbox_links

NEW_PASSWORD = "ein-neues-passwort-2026"


def login_as(page: Page, email: str, password: str) -> None:
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort", exact=True).fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("dashboard-title")).to_be_visible()


def test_saas_signup_wizard_books_a_module(page: Page, server: Server, artifacts) -> None:
    # the platform's own host offers the sign-up on its login page
    page.goto(f"{server.console_url}/login")
    page.get_by_test_id("signup-link").click()
    expect(page).to_have_url(f"{server.console_url}/signup")
    form = page.get_by_test_id("signup-form")

    # the address is suggested from the company name while typing (umlauts spelt out)
    form.get_by_label("Firmenname").fill("Bäckerei Sonnenschön & Söhne")
    slug = form.get_by_label("Adresse Ihrer Firma")
    expect(slug).to_have_value("baeckerei-sonnenschoen-soehne")

    # a taken address is refused at its field
    slug.fill("demo")
    form.get_by_label("Ihr Name").fill("Greta Sonnenschön")
    form.get_by_label("Ihre E-Mail-Adresse").fill("greta@baeckerei.example.com")
    password_field = form.locator("#signup-password")
    password_field.fill("kurz")
    page.get_by_test_id("signup-submit").click()
    expect(password_field).to_have_attribute("aria-invalid", "true")  # checked before asking the server
    password_field.fill(NEW_PASSWORD)
    page.get_by_test_id("signup-submit").click()
    expect(slug).to_have_attribute("aria-invalid", "true")
    expect(form.locator("[data-field-error]")).to_have_text(re.compile("vergeben"))
    page.screenshot(path=artifacts / "signup.png", full_page=True)

    slug.fill("baeckerei-e2e")
    page.get_by_test_id("signup-submit").click()

    # the browser moves to the new company's host; the one-time code leaves the address at once
    expect(page).to_have_url(re.compile(r"^http://baeckerei-e2e\.localhost:\d+/welcome$"))
    expect(page.get_by_test_id("welcome-company")).to_have_text("Bäckerei Sonnenschön & Söhne")
    expect(page.locator('[data-step="modules"]')).to_have_attribute("aria-current", "step")
    page.get_by_test_id("pick-example").check()
    page.screenshot(path=artifacts / "signup-welcome.png", full_page=True)
    page.get_by_test_id("welcome-book").click()
    expect(page.locator('[data-progress="example"]')).to_have_attribute("data-state", "done")
    page.get_by_test_id("welcome-finish").click()

    expect(page.get_by_test_id("dashboard-title")).to_be_visible()
    expect(page.get_by_test_id("company-name")).to_have_text("Bäckerei Sonnenschön & Söhne")
    expect(page.locator('[data-nav="module.example"]')).to_be_visible()
    expect(page.locator('[data-widget="core.modules"]')).to_contain_text("Beispiel")
    # the code in the link is spent: the same link cannot log in a second time
    assert "refresh_token" not in page.url


def test_password_reset_through_the_outbox(page: Page, server: Server, browser, artifacts) -> None:
    email = "vergesslich@demo.example.com"
    with api_login(server) as client:
        created = client.post("/api/users", json={"email": email, "name": "Vera Vergesslich", "role": "staff",
                                                  "password": PASSWORD})
        assert created.status_code in (201, 409), created.text

    page.goto("/login")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_test_id("forgot-link").click()
    expect(page).to_have_url(re.compile(r"/forgot-password"))
    expect(page.get_by_label("E-Mail-Adresse")).to_have_value(email)
    page.get_by_test_id("forgot-submit").click()
    expect(page.get_by_test_id("forgot-sent")).to_be_visible()

    # without an SMTP server the mail waits in the outbox, where an admin reads it
    admin_ctx = browser.new_context(base_url=server.base_url, locale="de-DE", viewport={"width": 1366, "height": 860})
    try:
        admin = admin_ctx.new_page()
        admin.goto("/login")
        login_as(admin, ADMIN_EMAIL, PASSWORD)
        admin.locator('[data-nav="admin.outbox"]').click()
        expect(admin.get_by_test_id("outbox-banner")).to_be_visible()
        admin.locator('[data-testid="outbox-list"] [role="option"]', has_text=email).first.click()
        expect(admin.get_by_test_id("outbox-to")).to_have_text(email)
        link = admin.locator('[data-testid="outbox-body"] a', has_text="/reset-password#token=").first
        href = link.get_attribute("href")
        assert href and "/reset-password#token=" in href
        admin.screenshot(path=artifacts / "outbox.png", full_page=True)
    finally:
        admin_ctx.close()

    page.goto(href)
    expect(page).to_have_url(re.compile(r"/reset-password$"))  # the token left the address bar
    page.get_by_label("Neues Passwort").fill(NEW_PASSWORD)
    page.get_by_label("Passwort wiederholen").fill(NEW_PASSWORD + "x")
    page.get_by_test_id("set-password-submit").click()
    expect(page.get_by_label("Passwort wiederholen")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Passwort wiederholen").fill(NEW_PASSWORD)
    page.get_by_test_id("set-password-submit").click()
    expect(page.get_by_test_id("password-set")).to_be_visible()
    page.get_by_test_id("to-login").click()
    login_as(page, email, NEW_PASSWORD)

    # the link works once
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    page.goto(href)
    page.get_by_label("Neues Passwort").fill(NEW_PASSWORD)
    page.get_by_label("Passwort wiederholen").fill(NEW_PASSWORD)
    page.get_by_test_id("set-password-submit").click()
    expect(page.get_by_test_id("token-problem")).to_be_visible()


def test_invited_user_sets_a_password(page: Page, server: Server) -> None:
    email = "eingeladen@demo.example.com"
    page.goto("/login")
    login_as(page, ADMIN_EMAIL, PASSWORD)
    page.goto("/admin/users")
    page.get_by_test_id("user-create").click()
    form = page.get_by_test_id("user-form")
    form.get_by_label("Name").fill("Ina Eingeladen")
    form.get_by_label("E-Mail-Adresse").fill(email)
    expect(page.get_by_test_id("access-invite")).to_be_checked()  # inviting is the default
    page.get_by_test_id("user-create-submit").click()
    expect(page.locator(f'tr[data-user="{email}"]')).to_be_visible()
    expect(page.locator("[data-toast]", has_text="Einladung").first).to_be_visible()

    links = outbox_links(server, email, "/accept-invite")
    assert links, "the invitation mail should be in the outbox"
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    page.goto(links[0])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Passwort")
    page.get_by_label("Neues Passwort").fill(NEW_PASSWORD)
    page.get_by_label("Passwort wiederholen").fill(NEW_PASSWORD)
    page.get_by_test_id("set-password-submit").click()
    expect(page.get_by_test_id("password-set")).to_be_visible()
    page.get_by_test_id("to-login").click()
    login_as(page, email, NEW_PASSWORD)
