"""Typed settings (company and platform) and the audit log (capture, masking, filters, pages)."""

from __future__ import annotations

import json

import httpx

from tests.factories import unique


def assert_problem(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["code"] == code, body
    return body


async def settings_by_key(session, url: str = "/api/settings") -> dict[str, dict]:
    resp = await session.get(url)
    assert resp.status_code == 200, resp.text
    return {s["key"]: s for s in resp.json()}


async def audit_rows(session, url: str = "/api/audit", **params) -> list[dict]:
    out, cursor = [], None
    while True:
        query = {"limit": 200, **params}
        if cursor:
            query["cursor"] = cursor
        resp = await session.get(url, params=query)
        assert resp.status_code == 200, resp.text
        out += resp.json()["items"]
        cursor = resp.json()["next_cursor"]
        if not cursor:
            return out


# --- settings -------------------------------------------------------------------------------------------


async def test_tenant_settings(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    settings = await settings_by_key(admin)
    tz = settings["company.timezone"]
    assert tz["type"] == "str" and tz["value"] == tz["default"] == "Europe/Berlin" and tz["module"] is None
    assert "smtp.host" not in settings  # platform settings are not company settings

    resp = await admin.put("/api/settings/company.timezone", json={"value": "Europe/Vienna"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["value"] == "Europe/Vienna"
    assert (await settings_by_key(admin))["company.timezone"]["value"] == "Europe/Vienna"
    resp = await admin.put("/api/settings/company.timezone", json={"value": "UTC"})
    assert resp.json()["value"] == "UTC"
    # null goes back to the default
    assert (await admin.put("/api/settings/company.timezone", json={"value": None})).json()["value"] == "Europe/Berlin"

    # another tenant keeps its own value
    other = await factory.member(await factory.tenant(), "admin")
    await admin.put("/api/settings/company.locale", json={"value": "en"})
    assert (await settings_by_key(other))["company.locale"]["value"] == "de"


async def test_setting_types_are_checked(factory, runtime):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    body = assert_problem(await admin.put("/api/settings/company.timezone", json={"value": 5}), 422, "invalid_setting")
    assert [e["field"] for e in body["errors"]] == ["value"]
    assert_problem(await admin.put("/api/settings/company.timezone", json={"value": ["a"]}), 422, "invalid_setting")
    assert_problem(await admin.put("/api/settings/nope.nothing", json={"value": "x"}), 404, "setting_not_found")
    assert_problem(await admin.put("/api/settings/company.timezone", json={}), 422, "validation_error")
    if runtime.registry.get("example") is not None:  # a module's int setting
        key = "example.items_per_page"
        assert (await settings_by_key(admin))[key]["module"] == "example"
        assert (await admin.put(f"/api/settings/{key}", json={"value": 40})).json()["value"] == 40
        for wrong in ("40", True, 4.5, {"n": 1}):
            assert_problem(await admin.put(f"/api/settings/{key}", json={"value": wrong}), 422, "invalid_setting")
        assert (await settings_by_key(admin))[key]["value"] == 40


async def test_settings_permissions(factory):
    tenant = await factory.tenant()
    manager = await factory.member(tenant, "manager")
    assert (await manager.get("/api/settings")).status_code == 200
    assert_problem(await manager.put("/api/settings/company.locale", json={"value": "en"}), 403, "permission_denied")
    staff = await factory.member(tenant, "staff")
    assert_problem(await staff.get("/api/settings"), 403, "permission_denied")
    admin = await factory.member(tenant, "admin")
    assert_problem(await admin.get("/api/platform/settings"), 403, "platform_user_required")
    assert_problem(await admin.put("/api/platform/settings/smtp.port", json={"value": 25}),
                   403, "platform_user_required")


async def test_platform_settings(factory, client):
    platform = await factory.platform("admin")
    settings = await settings_by_key(platform, "/api/platform/settings")
    assert settings["smtp.port"]["type"] == "int"
    assert "company.timezone" not in settings
    saved_port = settings["smtp.port"]["value"]
    try:
        resp = await platform.put("/api/platform/settings/smtp.port", json={"value": 2525})
        assert resp.status_code == 200, resp.text
        assert (await settings_by_key(platform, "/api/platform/settings"))["smtp.port"]["value"] == 2525
        assert_problem(await platform.put("/api/platform/settings/smtp.port", json={"value": "25"}),
                       422, "invalid_setting")
        assert_problem(await platform.put("/api/platform/settings/smtp.port", json={"value": True}),
                       422, "invalid_setting")
        assert_problem(await platform.put("/api/platform/settings/company.timezone", json={"value": "UTC"}),
                       404, "setting_not_found")
        # secrets are never shown, not even in the answer to the write
        secret = f"s3cret-{unique('pw')}"
        resp = await platform.put("/api/platform/settings/smtp.password", json={"value": secret})
        assert resp.status_code == 200, resp.text
        assert resp.json()["value"] == "***" and resp.json()["secret"] is True
        listed = await settings_by_key(platform, "/api/platform/settings")
        assert listed["smtp.password"]["value"] == "***"
        assert secret not in json.dumps(listed)
        # nor in the audit log
        rows = await audit_rows(platform, "/api/platform/audit", entity_type="global_setting",
                                entity_id="smtp.password")
        assert rows and secret not in json.dumps(rows)
        assert rows[0]["changes"]["value"][1] == "***"
    finally:
        await platform.put("/api/platform/settings/smtp.port", json={"value": saved_port})
        await platform.put("/api/platform/settings/smtp.password", json={"value": None})
    staff = await factory.platform("staff")
    assert_problem(await staff.get("/api/platform/settings"), 403, "permission_denied")
    assert_problem(await client.get("/api/platform/settings"), 401, "not_authenticated")


# --- audit ----------------------------------------------------------------------------------------------


async def test_entity_changes_are_audited_without_secrets(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    resp = await admin.post("/api/users", json={"email": f"{unique('a')}@example.com", "name": "Before",
                                                "password": "initial-password-123"})
    user = resp.json()
    patched = await admin.patch(f"/api/users/{user['id']}", json={"version": user["version"], "name": "After"})
    assert patched.status_code == 200
    assert (await admin.put(f"/api/users/{user['id']}/password", json={"password": "another-password-456"})
            ).status_code == 204

    rows = await audit_rows(admin, entity_type="user", entity_id=user["id"])
    by_action: dict[str, list[dict]] = {}
    for row in rows:
        by_action.setdefault(row["action"], []).append(row)
    create = by_action["user.create"][0]
    assert create["changes"]["name"] == [None, "Before"]
    assert create["changes"]["password_hash"] == [None, "***"]
    assert create["actor_id"] == str(admin.user_id) and create["actor_kind"] == "tenant"
    assert create["tenant_id"] == str(tenant.id) and create["request_id"]
    updates = by_action["user.update"]
    rename = next(r for r in updates if "name" in r["changes"])
    assert rename["changes"] == {"name": ["Before", "After"]}  # only what changed, with before and after
    password = next(r for r in updates if "password_hash" in r["changes"])
    assert password["changes"]["password_hash"] == ["***", "***"]
    dumped = json.dumps(rows)
    assert "$argon2" not in dumped and "initial-password-123" not in dumped and "another-password-456" not in dumped

    # deletes keep the last state (masked)
    assert (await admin.delete(f"/api/users/{user['id']}")).status_code == 204
    deleted = [r for r in await audit_rows(admin, action="user.delete") if r["entity_id"] == user["id"]]
    assert len(deleted) == 1
    assert deleted[0]["changes"]["name"] == ["After", None]
    assert deleted[0]["changes"]["password_hash"] == ["***", None]


async def test_refused_request_leaves_one_audit_row(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    staff = await factory.member(tenant, "staff")
    resp = await staff.post("/api/users", json={"email": f"{unique('r')}@example.com", "name": "R"},
                            headers={"X-Request-ID": "refused-req-1"})
    assert_problem(resp, 403, "permission_denied")
    rows = [r for r in await audit_rows(admin, action="http.post") if r["request_id"] == "refused-req-1"]
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["status_code"] == 403 and row["changes"] == {"path": "/api/users"}
    assert row["actor_id"] == str(staff.user_id) and row["tenant_id"] == str(tenant.id)
    # a request that fails validation is recorded too, anonymously when nobody logged in
    await factory.client.post("/api/users", json={"bad": True},
                              headers={"X-Tenant": tenant.slug, "X-Request-ID": "refused-req-2"})
    rows = [r for r in await audit_rows(admin, action="http.post") if r["request_id"] == "refused-req-2"]
    assert len(rows) == 1 and rows[0]["actor_kind"] == "anonymous" and rows[0]["status_code"] == 401
    # a successful change is recorded as the change, without an extra http.* row
    ok = await admin.post("/api/users", json={"email": f"{unique('ok')}@example.com", "name": "Ok"},
                          headers={"X-Request-ID": "accepted-req-3"})
    assert ok.status_code == 201
    rows = [r for r in await audit_rows(admin) if r["request_id"] == "accepted-req-3"]
    assert [r["action"] for r in rows] == ["user.create"]


async def test_audit_filters_and_pages(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    for n in range(7):
        resp = await admin.put("/api/settings/company.timezone", json={"value": f"Zone/{n}"})
        assert resp.status_code == 200
    team = (await admin.post("/api/teams", json={"name": "Audited"})).json()

    settings_rows = await audit_rows(admin, entity_type="tenant_setting")
    assert len(settings_rows) == 7
    assert all(r["action"].startswith("tenant_setting.") for r in settings_rows)
    assert [r["action"] for r in await audit_rows(admin, action="team.")] == ["team.create"]
    assert [r["entity_id"] for r in await audit_rows(admin, entity_type="team")] == [team["id"]]
    assert await audit_rows(admin, action="nothing.") == []
    mine = await audit_rows(admin, actor_id=str(admin.user_id))
    assert mine and all(r["actor_id"] == str(admin.user_id) for r in mine)

    # keyset pages of 3 over the 7 setting rows: newest first, no duplicates, no gaps
    seen, cursor, pages = [], None, 0
    while True:
        params = {"entity_type": "tenant_setting", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await admin.get("/api/audit", params=params)).json()
        pages += 1
        assert len(page["items"]) <= 3
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert [r["id"] for r in seen] == [r["id"] for r in settings_rows]
    assert len({r["id"] for r in seen}) == 7
    stamps = [r["created_at"] for r in seen]
    assert stamps == sorted(stamps, reverse=True)
    values = [r["changes"]["value"][1] for r in seen]
    assert values == [f"Zone/{n}" for n in range(6, -1, -1)]

    assert_problem(await admin.get("/api/audit", params={"cursor": "garbage!!"}), 422, "invalid_cursor")
    assert_problem(await admin.get("/api/audit", params={"limit": 0}), 422, "validation_error")


async def test_audit_is_per_tenant(factory):
    a, b = await factory.tenant(), await factory.tenant()
    admin_a = await factory.member(a, "admin")
    admin_b = await factory.member(b, "admin")
    await admin_b.put("/api/settings/company.locale", json={"value": "en"})
    rows = await audit_rows(admin_a)
    assert rows and {r["tenant_id"] for r in rows} == {str(a.id)}
    b_rows = await audit_rows(admin_b)
    assert not {r["id"] for r in rows} & {r["id"] for r in b_rows}
    # staff see no audit log; tenant admins not the platform's
    staff = await factory.member(a, "staff")
    assert_problem(await staff.get("/api/audit"), 403, "permission_denied")
    assert_problem(await admin_a.get("/api/platform/audit"), 403, "platform_user_required")
    # platform admins see every tenant's rows and can narrow to one tenant
    platform = await factory.platform("admin")
    only_b = await audit_rows(platform, "/api/platform/audit", tenant_id=str(b.id))
    assert {r["id"] for r in b_rows} <= {r["id"] for r in only_b}
    assert {r["tenant_id"] for r in only_b} == {str(b.id)}


async def test_platform_login_is_audited_on_the_platform(factory):
    platform = await factory.platform("admin")
    rows = await audit_rows(platform, "/api/platform/audit", action="auth.login", actor_id=str(platform.user_id))
    assert [r["action"] for r in rows] == ["auth.login"]
    assert rows[0]["tenant_id"] is None and rows[0]["actor_kind"] == "platform"
