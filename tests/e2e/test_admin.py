"""Company administration in a real browser: roles matrix, teams, settings, dashboard layout; the console."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.support import ADMIN_EMAIL, OWNER_EMAIL, STAFF_EMAIL, Server, api_login, login


def _revoke_staff_users_create(server: Server) -> None:
    with api_login(server) as client:
        roles = client.get("/api/roles").json()
        staff = next(r for r in roles if r["name"] == "staff")
        if "users:create" in staff["grants"]:
            client.patch(f"/api/roles/{staff['id']}",
                         json={"version": staff["version"], "grants": {"users:create": None}}).raise_for_status()


def test_roles_matrix_change_takes_effect(page: Page, server: Server, browser, artifacts) -> None:
    _revoke_staff_users_create(server)
    try:
        login(page)
        page.locator('[data-nav="admin.roles"]').click()
        matrix = page.get_by_test_id("roles-matrix")
        expect(matrix).to_be_visible()
        cell = matrix.locator('[data-cell="users:create|staff"] select')
        expect(cell).to_have_value("none")
        page.screenshot(path=artifacts / "roles-matrix.png", full_page=True)
        cell.select_option("all")
        expect(page.get_by_test_id("roles-savebar")).to_contain_text("1 ungespeicherte Änderung")
        page.get_by_test_id("roles-save").click()
        expect(page.get_by_test_id("roles-savebar")).to_have_count(0)
        page.reload()
        cell = page.get_by_test_id("roles-matrix").locator('[data-cell="users:create|staff"] select')
        expect(cell).to_have_value("all")

        # staff now reach Admin → Users and may create people
        staff_ctx = browser.new_context(base_url=server.base_url, locale="de-DE",
                                        viewport={"width": 1366, "height": 860})
        try:
            staff = staff_ctx.new_page()
            login(staff, STAFF_EMAIL)
            staff.locator('[data-nav="admin.users"]').click()
            expect(staff.get_by_test_id("users-table")).to_be_visible()
            expect(staff.get_by_test_id("forbidden")).to_have_count(0)
            expect(staff.get_by_test_id("user-create")).to_be_visible()
        finally:
            staff_ctx.close()
    finally:
        _revoke_staff_users_create(server)


def test_teams_create_rename_members_delete(page: Page, server: Server, artifacts) -> None:
    login(page)
    page.locator('[data-nav="admin.teams"]').click()
    page.get_by_test_id("team-create").click()
    form = page.get_by_test_id("team-form")
    form.get_by_label("Name").fill("E2E Projektteam")
    form.locator(f'[data-member="{STAFF_EMAIL}"]').check()
    page.get_by_test_id("team-save").click()
    card = page.locator('[data-team="E2E Projektteam"]')
    expect(card.get_by_test_id("team-member-count")).to_have_text("1 Mitglied")
    page.screenshot(path=artifacts / "teams.png", full_page=True)

    card.get_by_test_id("team-edit").click()
    form.get_by_label("Name").fill("E2E Kernteam")
    form.locator(f'[data-member="{ADMIN_EMAIL}"]').check()
    page.get_by_test_id("team-save").click()
    renamed = page.locator('[data-team="E2E Kernteam"]')
    expect(renamed.get_by_test_id("team-member-count")).to_have_text("2 Mitglieder")

    renamed.get_by_role("button", name="E2E Kernteam löschen").click()
    page.get_by_test_id("confirm").click()
    expect(renamed).to_have_count(0)


def test_settings_are_typed_and_saved(page: Page, server: Server, artifacts) -> None:
    login(page)
    page.locator('[data-nav="admin.settings"]').click()
    row = page.locator('[data-setting="company.currency"]')
    row.locator("select").select_option("CHF")
    row.get_by_test_id("setting-save").click()
    expect(page.locator("[data-toast]", has_text="gespeichert").first).to_be_visible()
    page.screenshot(path=artifacts / "settings.png", full_page=True)
    page.reload()
    expect(page.locator('[data-setting="company.currency"] select')).to_have_value("CHF")
    with api_login(server) as client:
        client.put("/api/settings/company.currency", json={"value": "EUR"}).raise_for_status()


def test_dashboard_drag_and_drop_is_saved_for_the_account(page: Page, server: Server, browser) -> None:
    login(page)
    widgets = page.locator("[data-widget]")
    expect(widgets.first).to_have_attribute("data-widget", "core.modules")
    page.get_by_test_id("dashboard-customize").click()

    # drag "Team" by its handle onto the first widget; the boxes are read once the customize mode's
    # layout has settled, and the gesture is repeated if a shifting layout made it miss
    handle = page.get_by_test_id("grip-core.team")
    expect(handle).to_be_visible()
    for _attempt in range(3):
        page.wait_for_timeout(400)
        grip = handle.bounding_box()
        target = page.locator('[data-widget="core.modules"]').bounding_box()
        assert grip and target
        page.mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)
        page.mouse.down()
        page.mouse.move(target["x"] + 40, target["y"] + 40, steps=12)
        page.mouse.move(target["x"] + 30, target["y"] + 60, steps=4)
        page.mouse.up()
        page.wait_for_timeout(400)  # let the reorder render before judging the gesture
        if widgets.first.get_attribute("data-widget") == "core.team":
            break
    expect(widgets.first).to_have_attribute("data-widget", "core.team")

    # the keyboard alternative: arrow keys on the handle
    with page.expect_response(lambda r: r.url.endswith("/api/me/preferences") and r.request.method == "PUT"):
        page.get_by_test_id("grip-core.team").focus()
        page.keyboard.press("ArrowRight")
    expect(widgets.nth(1)).to_have_attribute("data-widget", "core.team")
    expect(page.get_by_test_id("dashboard-announcement")).to_contain_text("Position 2")
    with page.expect_response(lambda r: r.url.endswith("/api/me/preferences") and r.request.method == "PUT"):
        page.keyboard.press("ArrowLeft")
    expect(widgets.first).to_have_attribute("data-widget", "core.team")

    # another browser (no localStorage of this one) gets the same layout from the server
    other_ctx = browser.new_context(base_url=server.base_url, locale="de-DE", viewport={"width": 1366, "height": 860})
    try:
        other = other_ctx.new_page()
        login(other)
        expect(other.locator("[data-widget]").first).to_have_attribute("data-widget", "core.team")
    finally:
        other_ctx.close()


def test_console_customers_catalog_and_audit(page: Page, server: Server, artifacts) -> None:
    login(page, OWNER_EMAIL, base=server.console_url)
    page.locator('[data-nav="console.customers"]').click()
    page.get_by_test_id("customer-create").click()
    form = page.get_by_test_id("customer-form")
    form.locator("#customer-name").fill("Konsole Testkunde GmbH")
    expect(form.locator("#customer-slug")).to_have_value("konsole-testkunde-gmbh")
    form.locator("#customer-admin_name").fill("Karl Konsole")
    form.locator("#customer-admin_email").fill("karl@konsole.example.com")
    form.locator("#customer-admin_password").fill("konsole-passwort-2026")
    page.get_by_test_id("customer-create-submit").click()
    row = page.locator('tr[data-customer="konsole-testkunde-gmbh"]')
    expect(row).to_be_visible()
    row.get_by_test_id("customer-toggle").click()
    page.get_by_test_id("confirm").click()
    expect(row).to_contain_text("Gesperrt")
    row.get_by_test_id("customer-toggle").click()
    expect(row).not_to_contain_text("Gesperrt")

    page.locator('[data-nav="console.catalog"]').click()
    plan = page.locator('[data-plan="example-starter"]')
    monthly = plan.locator('[data-price="monthly"]')
    before = monthly.input_value()
    monthly.fill("12,50")
    plan.get_by_test_id("plan-save").click()
    expect(page.locator("[data-toast]", has_text="gespeichert").first).to_be_visible()
    page.screenshot(path=artifacts / "console-catalog.png", full_page=True)
    monthly.fill(before)
    plan.get_by_test_id("plan-save").click()
    expect(plan.get_by_test_id("plan-save")).to_have_count(0)

    page.locator('[data-nav="console.audit"]').click()
    expect(page.get_by_test_id("audit-table")).to_be_visible()
    expect(page.get_by_role("heading", name="Plattform-Protokoll")).to_be_visible()

    # the licence of this installation (a SaaS test server has none)
    page.locator('[data-nav="console.license"]').click()
    expect(page.get_by_test_id("license-card")).to_be_visible()
    expect(page.get_by_test_id("license-state")).not_to_be_empty()
