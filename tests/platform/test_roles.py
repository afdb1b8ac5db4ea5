"""Roles and permissions: effective grants, overrides, validation, custom roles, safety rails."""

from __future__ import annotations

import httpx

from tests.factories import unique


def assert_problem(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["code"] == code, body
    return body


def fields_of(body: dict) -> set[str]:
    return {e["field"] for e in body.get("errors") or []}


async def roles_by_name(session) -> dict[str, dict]:
    resp = await session.get("/api/roles")
    assert resp.status_code == 200, resp.text
    return {r["name"]: r for r in resp.json()}


async def test_system_roles_with_effective_grants(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    roles = await roles_by_name(admin)
    assert {"admin", "manager", "staff", "external"} <= set(roles)
    assert all(roles[n]["is_system"] for n in ("admin", "manager", "staff", "external"))
    assert roles["admin"]["grants"]["roles:update"] == "all"
    assert roles["admin"]["grants"]["users:delete"] == "all"
    assert roles["staff"]["grants"]["users:read"] == "all"
    assert "users:create" not in roles["staff"]["grants"]
    assert roles["external"]["grants"].get("users:read") is None
    assert roles["staff"]["overrides"] == {}
    one = await admin.get(f"/api/roles/{roles['staff']['id']}")
    assert one.status_code == 200 and one.json()["grants"] == roles["staff"]["grants"]
    # managers read roles, staff do not
    manager = await factory.member(tenant, "manager")
    assert (await manager.get("/api/roles")).status_code == 200
    assert_problem(await manager.patch(f"/api/roles/{roles['staff']['id']}",
                                       json={"version": 1, "grants": {"users:create": "all"}}),
                   403, "permission_denied")
    staff = await factory.member(tenant, "staff")
    assert_problem(await staff.get("/api/roles"), 403, "permission_denied")


async def test_granting_takes_effect_immediately(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    staff = await factory.member(tenant, "staff")
    new_user = {"email": f"{unique('n')}@example.com", "name": "N"}
    assert_problem(await staff.post("/api/users", json=new_user), 403, "permission_denied")
    assert (await staff.get("/api/me")).json()["permissions"].get("users:create") is None
    role = (await roles_by_name(admin))["staff"]
    resp = await admin.patch(f"/api/roles/{role['id']}", json={"version": role["version"],
                                                               "grants": {"users:create": "all"}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["grants"]["users:create"] == "all"
    assert resp.json()["overrides"] == {"users:create": "all"}
    assert resp.json()["grants"]["users:read"] == "all"  # the defaults stay
    assert (await staff.post("/api/users", json=new_user)).status_code == 201
    # revoking a default grant with null
    role = (await roles_by_name(admin))["staff"]
    resp = await admin.patch(f"/api/roles/{role['id']}", json={"version": role["version"],
                                                               "grants": {"users:read": None}})
    assert resp.status_code == 200, resp.text
    assert "users:read" not in resp.json()["grants"]
    assert_problem(await staff.get("/api/users"), 403, "permission_denied")
    # other tenants' staff roles are untouched
    other = await factory.tenant()
    other_staff = await factory.member(other, "staff")
    assert (await other_staff.get("/api/users")).status_code == 200
    assert_problem(await other_staff.post("/api/users", json={"email": f"{unique('o')}@example.com", "name": "O"}),
                   403, "permission_denied")


async def test_invalid_grants(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    role = (await roles_by_name(admin))["staff"]
    url = f"/api/roles/{role['id']}"
    body = assert_problem(await admin.patch(url, json={"version": role["version"], "grants": {"nope:read": "all"}}),
                          422, "invalid_grants")
    assert fields_of(body) == {"grants.nope:read"}
    body = assert_problem(await admin.patch(url, json={"version": role["version"],
                                                       "grants": {"users:read": "everything"}}),
                          422, "invalid_grants")
    assert fields_of(body) == {"grants.users:read"}
    # users have no owner: own/team make no sense there
    body = assert_problem(await admin.patch(url, json={"version": role["version"], "grants": {"users:read": "own"}}),
                          422, "invalid_grants")
    assert fields_of(body) == {"grants.users:read"}
    body = assert_problem(await admin.post("/api/roles", json={"name": "bad", "label": "Bad",
                                                               "grants": {"teams:read": "team"}}),
                          422, "invalid_grants")
    assert fields_of(body) == {"grants.teams:read"}
    body = assert_problem(await admin.post("/api/roles", json={"name": "bad", "label": "Bad",
                                                               "grants": {"teams:read": "sometimes"}}),
                          422, "invalid_grants")
    assert fields_of(body) == {"grants.teams:read"}
    # nothing was stored
    assert (await roles_by_name(admin))["staff"]["overrides"] == {}
    assert "bad" not in await roles_by_name(admin)


async def test_custom_role_lifecycle(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    resp = await admin.post("/api/roles", json={"name": "support", "label": "Support",
                                                "grants": {"users:read": "all", "teams:read": "all"}})
    assert resp.status_code == 201, resp.text
    role = resp.json()
    assert role["is_system"] is False
    assert role["grants"] == {"users:read": "all", "teams:read": "all"}
    assert_problem(await admin.post("/api/roles", json={"name": "support", "label": "Again"}), 409, "duplicate")
    assert_problem(await admin.post("/api/roles", json={"name": "Bad Name!", "label": "x"}), 422,
                   "validation_error")

    # a user with the role gets exactly its grants
    user = await factory.user(tenant, role="support")
    support = await factory.login(tenant, user.email)
    assert (await support.get("/api/users")).status_code == 200
    assert_problem(await support.get("/api/roles"), 403, "permission_denied")
    assert (await support.get("/api/me")).json()["permissions"] == {"users:read": "all", "teams:read": "all"}

    # in use: cannot be deleted
    assert_problem(await admin.delete(f"/api/roles/{role['id']}"), 409, "role_in_use")
    version = (await admin.get(f"/api/users/{user.id}")).json()["version"]
    assert (await admin.patch(f"/api/users/{user.id}", json={"version": version, "role": "staff"})).status_code == 200
    assert (await admin.delete(f"/api/roles/{role['id']}")).status_code == 204
    assert_problem(await admin.get(f"/api/roles/{role['id']}"), 404, "role_not_found")
    # the role is gone: assigning it is refused
    assert_problem(await admin.patch(f"/api/users/{user.id}", json={"version": version + 1, "role": "support"}),
                   422, "invalid_role")
    # re-created under the same name with other grants: its users get the new grants, not cached old ones
    resp = await admin.post("/api/roles", json={"name": "support", "label": "Support 2",
                                                "grants": {"teams:read": "all"}})
    assert resp.status_code == 201, resp.text
    assert (await admin.patch(f"/api/users/{user.id}", json={"version": version + 1, "role": "support"})
            ).status_code == 200
    assert (await support.get("/api/me")).json()["permissions"] == {"teams:read": "all"}
    assert_problem(await support.get("/api/users"), 403, "permission_denied")


async def test_system_roles_cannot_be_deleted(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    roles = await roles_by_name(admin)
    assert_problem(await admin.delete(f"/api/roles/{roles['external']['id']}"), 409, "system_role")


async def test_admin_cannot_lock_itself_out(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    role = (await roles_by_name(admin))["admin"]
    for key in ("roles:update", "roles:read"):
        assert_problem(await admin.patch(f"/api/roles/{role['id']}", json={"version": role["version"],
                                                                           "grants": {key: None}}),
                       409, "admin_locked")
    assert (await roles_by_name(admin))["admin"]["grants"]["roles:update"] == "all"
    # other admin grants can be changed
    resp = await admin.patch(f"/api/roles/{role['id']}", json={"version": role["version"],
                                                               "grants": {"audit:read": None}})
    assert resp.status_code == 200, resp.text
    assert "audit:read" not in resp.json()["grants"]


async def test_role_version_conflict(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    role = (await roles_by_name(admin))["manager"]
    assert (await admin.patch(f"/api/roles/{role['id']}", json={"version": role["version"], "label": "Chef"})
            ).status_code == 200
    assert_problem(await admin.patch(f"/api/roles/{role['id']}", json={"version": role["version"], "label": "Boss"}),
                   409, "version_conflict")


async def test_roles_are_per_tenant(factory):
    a, b = await factory.tenant(), await factory.tenant()
    admin_a = await factory.member(a, "admin")
    admin_b = await factory.member(b, "admin")
    role_b = (await roles_by_name(admin_b))["staff"]
    assert_problem(await admin_a.get(f"/api/roles/{role_b['id']}"), 404, "role_not_found")
    assert_problem(await admin_a.patch(f"/api/roles/{role_b['id']}", json={"version": 1, "label": "x"}),
                   404, "role_not_found")


async def test_permission_catalog(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    resp = await admin.get("/api/permissions")
    assert resp.status_code == 200, resp.text
    perms = {p["permission"]: p for p in resp.json()}
    for key in ("users:read", "users:create", "users:update", "users:delete", "teams:read", "roles:update",
                "subscriptions:manage", "settings:update", "audit:read"):
        assert key in perms, key
        assert perms[key]["module"] is None
        assert perms[key]["scoped"] is False
    assert perms["roles:update"]["entity"] == "roles" and perms["roles:update"]["action"] == "update"
    staff = await factory.member(tenant, "staff")
    assert_problem(await staff.get("/api/permissions"), 403, "permission_denied")
