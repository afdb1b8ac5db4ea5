"""Tenant users and teams: CRUD, permissions, limits, optimistic locking, last admin, passwords."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.factories import PASSWORD, unique
from xynap.core.security.permissions import Access
from xynap.core.tenancy import HostTarget
from xynap.platform.auth.deps import load_principal
from xynap.platform.users.models import User


def assert_problem(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["code"] == code, body
    return body


def fields_of(body: dict) -> set[str]:
    return {e["field"] for e in body.get("errors") or []}


def new_user(**kw) -> dict:
    return {"email": f"{unique('u')}@example.com", "name": "New Person", **kw}


async def test_user_crud(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    body = new_user(role="staff", password="a-long-enough-password", locale="en")
    resp = await admin.post("/api/users", json=body)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["email"] == body["email"] and created["role"] == "staff" and created["is_active"] is True
    assert created["locale"] == "en" and created["version"] == 1
    assert "password_hash" not in created and "password" not in created
    uid = created["id"]

    got = await admin.get(f"/api/users/{uid}")
    assert got.status_code == 200 and got.json()["id"] == uid

    listed = await admin.get("/api/users", params={"q": body["email"][:8]})
    assert listed.status_code == 200
    assert [u["id"] for u in listed.json()["items"]] == [uid]

    patched = await admin.patch(f"/api/users/{uid}", json={"version": 1, "name": "Renamed", "role": "manager"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Renamed" and patched.json()["role"] == "manager"
    assert patched.json()["version"] == 2

    # the new user can log in with the password set on creation
    assert (await factory.client.post("/api/login", json={"email": body["email"], "password": body["password"]},
                                      headers={"X-Tenant": tenant.slug})).status_code == 200

    assert (await admin.delete(f"/api/users/{uid}")).status_code == 204
    assert_problem(await admin.get(f"/api/users/{uid}"), 404, "user_not_found")
    assert_problem(await admin.delete(f"/api/users/{uid}"), 404, "user_not_found")


async def test_list_filters_sort_and_pages(factory):
    tenant = await factory.tenant(user_limit=50)
    admin = await factory.member(tenant, "admin")
    for n in range(5):
        await factory.user(tenant, role="staff", name=f"Zed {n}")
    await factory.user(tenant, role="staff", active=False, name="Zed inactive")
    staff = await admin.get("/api/users", params={"role": "staff", "is_active": "true", "sort": "-name"})
    assert staff.status_code == 200
    names = [u["name"] for u in staff.json()["items"]]
    assert names == [f"Zed {n}" for n in range(4, -1, -1)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "sort": "name"}
        if cursor:
            params["cursor"] = cursor
        page = (await admin.get("/api/users", params=params)).json()
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7  # admin + 5 + inactive
    assert_problem(await admin.get("/api/users", params={"sort": "password_hash"}), 422, "invalid_sort")


async def test_search_treats_wildcards_literally(factory):
    tenant = await factory.tenant(user_limit=20)
    admin = await factory.member(tenant, "admin")
    await factory.user(tenant, name="Rabatt 100% Anna")
    await factory.user(tenant, name="Bert_Mueller")
    await factory.user(tenant, name="Carla")
    found = lambda resp: sorted(u["name"] for u in resp.json()["items"])  # noqa: E731
    assert found(await admin.get("/api/users", params={"q": "100%"})) == ["Rabatt 100% Anna"]
    assert found(await admin.get("/api/users", params={"q": "t_m"})) == ["Bert_Mueller"]
    assert found(await admin.get("/api/users", params={"q": "_"})) == ["Bert_Mueller"]
    assert found(await admin.get("/api/users", params={"q": "CARLA"})) == ["Carla"]
    assert found(await admin.get("/api/users", params={"q": "\\"})) == []


async def test_users_are_per_tenant(factory):
    a, b = await factory.tenant(), await factory.tenant()
    admin_a = await factory.member(a, "admin")
    admin_b = await factory.member(b, "admin")
    user_b = await factory.user(b)
    ids = {u["id"] for u in (await admin_a.get("/api/users")).json()["items"]}
    assert str(user_b.id) not in ids and str(admin_a.user_id) in ids
    assert_problem(await admin_a.get(f"/api/users/{user_b.id}"), 404, "user_not_found")
    assert_problem(await admin_a.patch(f"/api/users/{user_b.id}", json={"version": 1, "name": "x"}),
                   404, "user_not_found")
    assert_problem(await admin_a.delete(f"/api/users/{user_b.id}"), 404, "user_not_found")
    assert (await admin_b.get(f"/api/users/{user_b.id}")).status_code == 200
    # the same e-mail may exist in two tenants
    resp = await admin_a.post("/api/users", json=new_user(email=user_b.email))
    assert resp.status_code == 201, resp.text


async def test_staff_reads_but_cannot_write(factory):
    tenant = await factory.tenant()
    staff = await factory.member(tenant, "staff")
    other = await factory.user(tenant, role="staff")
    assert (await staff.get("/api/users")).status_code == 200
    assert (await staff.get(f"/api/users/{other.id}")).status_code == 200
    body = assert_problem(await staff.post("/api/users", json=new_user()), 403, "permission_denied")
    assert body["permission"] == "users:create"
    assert_problem(await staff.patch(f"/api/users/{other.id}", json={"version": 1, "name": "x"}),
                   403, "permission_denied")
    assert_problem(await staff.delete(f"/api/users/{other.id}"), 403, "permission_denied")
    external = await factory.member(tenant, "external")
    assert_problem(await external.get("/api/users"), 403, "permission_denied")


async def test_duplicate_and_invalid_email(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    existing = await factory.user(tenant)
    body = assert_problem(await admin.post("/api/users", json=new_user(email=existing.email.upper())),
                          409, "email_taken")
    assert fields_of(body) == {"email"}
    body = assert_problem(await admin.post("/api/users", json=new_user(email="not-an-email")), 422,
                          "validation_error")
    assert "email" in fields_of(body)
    body = assert_problem(await admin.post("/api/users", json=new_user(role="nope")), 422, "invalid_role")
    assert fields_of(body) == {"role"}
    body = assert_problem(await admin.post("/api/users", json=new_user(password="short")), 422,
                          "password_too_short")
    assert fields_of(body) == {"password"}


async def test_user_limit(factory):
    tenant = await factory.tenant(user_limit=2)
    admin = await factory.member(tenant, "admin")
    assert (await admin.post("/api/users", json=new_user())).status_code == 201
    body = assert_problem(await admin.post("/api/users", json=new_user()), 409, "plan_limit_users")
    assert body["limit"] == 2
    # a deactivated user frees a seat, and reactivating needs one
    inactive = await factory.user(tenant, active=False)
    assert_problem(await admin.patch(f"/api/users/{inactive.id}", json={"version": 1, "is_active": True}),
                   409, "plan_limit_users")


async def test_stale_version_is_refused(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    user = await factory.user(tenant, role="staff")
    assert (await admin.patch(f"/api/users/{user.id}", json={"version": 1, "name": "First"})).status_code == 200
    body = assert_problem(await admin.patch(f"/api/users/{user.id}", json={"version": 1, "name": "Second"}),
                          409, "version_conflict")
    assert body["current_version"] == 2
    assert (await admin.get(f"/api/users/{user.id}")).json()["name"] == "First"
    assert_problem(await admin.patch(f"/api/users/{user.id}", json={"name": "no version"}), 422,
                   "validation_error")


async def test_logging_in_is_no_edit_conflict(factory, client):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    user = await factory.user(tenant, role="staff")
    loaded = (await admin.get(f"/api/users/{user.id}")).json()
    assert loaded["last_login_at"] is None
    await factory.login(tenant, user.email)  # the user logs in while the admin edits
    resp = await admin.patch(f"/api/users/{user.id}", json={"version": loaded["version"], "name": "Edited"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["last_login_at"] is not None


async def test_concurrent_patches_one_wins(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    user = await factory.user(tenant, role="staff")
    version = (await admin.get(f"/api/users/{user.id}")).json()["version"]
    results = await asyncio.gather(
        admin.patch(f"/api/users/{user.id}", json={"version": version, "name": "Alpha"}),
        admin.patch(f"/api/users/{user.id}", json={"version": version, "name": "Beta"}),
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409)
    assert loser.json()["code"] == "version_conflict"
    winner = next(r for r in results if r.status_code == 200).json()
    now = (await admin.get(f"/api/users/{user.id}")).json()
    assert now["name"] == winner["name"] and now["version"] == version + 1


async def test_racing_patches_are_caught_by_the_version_column(factory, monkeypatch):
    """Both requests pass the version check before either writes: the ORM's versioned UPDATE
    lets one through and turns the other into 409 (not a lost update, not a 500)."""
    from xynap.platform.users import service

    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    user = await factory.user(tenant, role="staff")
    original = service.update_user
    arrived, both_checked = [], asyncio.Event()

    async def update_after_both_checked(*args, **kw):
        arrived.append(1)
        if len(arrived) == 2:
            both_checked.set()
        await asyncio.wait_for(both_checked.wait(), 10)
        return await original(*args, **kw)

    monkeypatch.setattr(service, "update_user", update_after_both_checked)
    results = await asyncio.gather(
        admin.patch(f"/api/users/{user.id}", json={"version": 1, "name": "Alpha"}),
        admin.patch(f"/api/users/{user.id}", json={"version": 1, "name": "Beta"}),
    )
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    assert next(r for r in results if r.status_code == 409).json()["code"] == "version_conflict"
    monkeypatch.undo()
    now = (await admin.get(f"/api/users/{user.id}")).json()
    assert now["version"] == 2
    assert now["name"] == next(r for r in results if r.status_code == 200).json()["name"]


async def test_last_admin_is_protected(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    me = (await admin.get(f"/api/users/{admin.user_id}")).json()
    assert_problem(await admin.patch(f"/api/users/{admin.user_id}", json={"version": me["version"], "role": "staff"}),
                   409, "last_admin")
    assert_problem(await admin.patch(f"/api/users/{admin.user_id}",
                                     json={"version": me["version"], "is_active": False}), 409, "last_admin")
    # an inactive admin does not count as another one
    await factory.user(tenant, role="admin", active=False)
    assert_problem(await admin.patch(f"/api/users/{admin.user_id}", json={"version": me["version"], "role": "staff"}),
                   409, "last_admin")
    # with a second active admin, the first one can step down; then the second is the last one
    second = await factory.member(tenant, "admin")
    assert_problem(await second.delete(f"/api/users/{second.user_id}"), 403, "cannot_delete_self")
    resp = await admin.patch(f"/api/users/{admin.user_id}", json={"version": me["version"], "role": "staff"})
    assert resp.status_code == 200, resp.text
    body = (await second.get(f"/api/users/{second.user_id}")).json()
    assert_problem(await second.patch(f"/api/users/{second.user_id}",
                                      json={"version": body["version"], "is_active": False}), 409, "last_admin")
    # deleting the last admin by someone else (a custom role with users:delete) is refused too
    resp = await second.post("/api/roles", json={"name": "hr", "label": "HR",
                                                 "grants": {"users:delete": "all", "users:read": "all"}})
    assert resp.status_code == 201, resp.text
    hr_user = await factory.user(tenant, role="hr")
    hr = await factory.login(tenant, hr_user.email)
    assert_problem(await hr.delete(f"/api/users/{second.user_id}"), 409, "last_admin")


async def test_password_changes(factory, client):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    staff_user = await factory.user(tenant, role="staff")
    staff = await factory.login(tenant, staff_user.email)
    url = f"/api/users/{staff_user.id}/password"
    assert_problem(await staff.put(url, json={"password": "brand-new-password", "current_password": "wrong"}),
                   401, "invalid_credentials")
    assert_problem(await staff.put(url, json={"password": "brand-new-password"}), 401, "invalid_credentials")
    assert_problem(await staff.put(url, json={"password": "short", "current_password": PASSWORD}),
                   422, "password_too_short")
    assert (await staff.put(url, json={"password": "brand-new-password", "current_password": PASSWORD})
            ).status_code == 204
    headers = {"X-Tenant": tenant.slug}
    login = {"email": staff_user.email}
    assert (await client.post("/api/login", json={**login, "password": PASSWORD}, headers=headers)
            ).status_code == 401
    assert (await client.post("/api/login", json={**login, "password": "brand-new-password"}, headers=headers)
            ).status_code == 200
    # staff may not set someone else's password
    other = await factory.user(tenant, role="staff")
    assert_problem(await staff.put(f"/api/users/{other.id}/password", json={"password": "x" * 12}),
                   403, "permission_denied")
    # an admin sets anyone's password without knowing the current one
    assert (await admin.put(url, json={"password": "set-by-the-admin"})).status_code == 204
    assert (await client.post("/api/login", json={**login, "password": "set-by-the-admin"}, headers=headers)
            ).status_code == 200


async def test_deactivation_ends_access_immediately(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    staff = await factory.member(tenant, "staff")
    assert (await staff.get("/api/me")).status_code == 200  # the principal is cached now
    version = (await admin.get(f"/api/users/{staff.user_id}")).json()["version"]
    resp = await admin.patch(f"/api/users/{staff.user_id}", json={"version": version, "is_active": False})
    assert resp.status_code == 200, resp.text
    assert_problem(await staff.get("/api/me"), 401, "user_inactive")
    assert_problem(await factory.client.post("/api/refresh", json={"refresh_token": staff.refresh_token},
                                             headers={"X-Tenant": tenant.slug}), 401, "user_inactive")
    # reactivated: the access token works again, the refresh family stays revoked
    resp = await admin.patch(f"/api/users/{staff.user_id}", json={"version": version + 1, "is_active": True})
    assert resp.status_code == 200, resp.text
    assert (await staff.get("/api/me")).status_code == 200


async def test_role_change_applies_immediately(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    staff = await factory.member(tenant, "staff")
    assert_problem(await staff.post("/api/users", json=new_user()), 403, "permission_denied")
    version = (await admin.get(f"/api/users/{staff.user_id}")).json()["version"]
    assert (await admin.patch(f"/api/users/{staff.user_id}", json={"version": version, "role": "admin"})
            ).status_code == 200
    assert (await staff.post("/api/users", json=new_user())).status_code == 201


async def test_deleted_user_token_stops_working(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    staff = await factory.member(tenant, "staff")
    assert (await staff.get("/api/me")).status_code == 200
    assert (await admin.delete(f"/api/users/{staff.user_id}")).status_code == 204
    assert_problem(await staff.get("/api/me"), 401, "user_inactive")


# --- teams ---------------------------------------------------------------------------------------------


async def test_team_crud_and_members(factory):
    tenant = await factory.tenant(user_limit=20)
    admin = await factory.member(tenant, "admin")
    u1, u2, u3 = [await factory.user(tenant, role="staff") for _ in range(3)]
    resp = await admin.post("/api/teams", json={"name": "Sales", "description": "North",
                                                "member_ids": [str(u1.id), str(u2.id)]})
    assert resp.status_code == 201, resp.text
    team = resp.json()
    assert sorted(team["member_ids"]) == sorted([str(u1.id), str(u2.id)])
    tid = team["id"]

    replaced = await admin.put(f"/api/teams/{tid}/members", json={"user_ids": [str(u2.id), str(u3.id)]})
    assert replaced.status_code == 200, replaced.text
    assert sorted(replaced.json()["member_ids"]) == sorted([str(u2.id), str(u3.id)])
    assert sorted((await admin.get(f"/api/teams/{tid}")).json()["member_ids"]) == sorted([str(u2.id), str(u3.id)])
    emptied = await admin.put(f"/api/teams/{tid}/members", json={"user_ids": []})
    assert emptied.json()["member_ids"] == []

    renamed = await admin.patch(f"/api/teams/{tid}", json={"version": team["version"], "name": "Sales DE"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Sales DE"
    assert_problem(await admin.patch(f"/api/teams/{tid}", json={"version": team["version"], "name": "Old"}),
                   409, "version_conflict")
    listed = await admin.get("/api/teams")
    assert [t["id"] for t in listed.json()["items"]] == [tid]
    dup = await admin.post("/api/teams", json={"name": "Sales DE"})
    assert dup.status_code == 409, dup.text
    assert (await admin.delete(f"/api/teams/{tid}")).status_code == 204
    assert_problem(await admin.get(f"/api/teams/{tid}"), 404, "team_not_found")


async def test_team_members_of_another_tenant_are_rejected(factory):
    a, b = await factory.tenant(), await factory.tenant()
    admin = await factory.member(a, "admin")
    mine = await factory.user(a)
    theirs = await factory.user(b)
    body = assert_problem(await admin.post("/api/teams", json={"name": "Mixed",
                                                               "member_ids": [str(mine.id), str(theirs.id)]}),
                          422, "invalid_reference")
    assert fields_of(body) == {"user_ids"}
    assert (await admin.get("/api/teams")).json()["items"] == []  # nothing half-created
    team = (await admin.post("/api/teams", json={"name": "Clean", "member_ids": [str(mine.id)]})).json()
    assert_problem(await admin.put(f"/api/teams/{team['id']}/members", json={"user_ids": [str(theirs.id)]}),
                   422, "invalid_reference")
    assert (await admin.get(f"/api/teams/{team['id']}")).json()["member_ids"] == [str(mine.id)]


async def test_staff_cannot_manage_teams(factory):
    tenant = await factory.tenant()
    staff = await factory.member(tenant, "staff")
    assert (await staff.get("/api/teams")).status_code == 200
    assert_problem(await staff.post("/api/teams", json={"name": "Nope"}), 403, "permission_denied")


async def test_team_scope_covers_team_mates(factory, runtime):
    tenant = await factory.tenant(user_limit=20)
    admin = await factory.member(tenant, "admin")
    staff = await factory.member(tenant, "staff")
    mate = await factory.user(tenant, role="staff")
    outsider = await factory.user(tenant, role="staff")
    info = await runtime.tenant_cache.get(HostTarget(slug=tenant.slug))
    before = await load_principal(runtime, staff.token, info)
    assert before.team_member_ids == frozenset({staff.user_id})
    resp = await admin.post("/api/teams", json={"name": "Team", "member_ids": [str(staff.user_id), str(mate.id)]})
    assert resp.status_code == 201, resp.text
    after = await load_principal(runtime, staff.token, info)  # the cache was invalidated
    assert after.team_member_ids == frozenset({staff.user_id, mate.id})
    assert outsider.id not in after.team_member_ids
    team_access = Access(after, "x:read", "team")
    assert team_access.allows_owner(mate.id) and not team_access.allows_owner(outsider.id)
    # leaving the team narrows the scope again
    await admin.put(f"/api/teams/{resp.json()['id']}/members", json={"user_ids": [str(mate.id)]})
    again = await load_principal(runtime, staff.token, info)
    assert again.team_member_ids == frozenset({staff.user_id})


async def test_team_scope_on_module_records(factory, runtime):
    """Staff read example items with the team scope and change only their own."""
    assert runtime.registry.get("example") is not None, (
        "the example module must be installed: `uv sync` installs it with the dev dependencies")
    tenant = await factory.tenant(modules=("example",), user_limit=20)
    admin = await factory.member(tenant, "admin")
    me = await factory.member(tenant, "staff")
    mate = await factory.member(tenant, "staff")
    outsider = await factory.member(tenant, "staff")
    team = await admin.post("/api/teams", json={"name": "Crew", "member_ids": [str(me.user_id), str(mate.user_id)]})
    assert team.status_code == 201, team.text
    items = {}
    for name, session in (("me", me), ("mate", mate), ("outsider", outsider)):
        resp = await session.post("/api/example/items", json={"title": f"item of {name}"})
        assert resp.status_code == 201, resp.text
        items[name] = resp.json()
    visible = {i["id"] for i in (await me.get("/api/example/items")).json()["items"]}
    assert visible == {items["me"]["id"], items["mate"]["id"]}
    assert (await me.get(f"/api/example/items/{items['mate']['id']}")).status_code == 200
    assert_problem(await me.get(f"/api/example/items/{items['outsider']['id']}"), 404, "item_not_found")
    assert_problem(await me.patch(f"/api/example/items/{items['mate']['id']}",
                                  json={"version": items["mate"]["version"], "title": "mine now"}),
                   403, "permission_scope")
    assert (await me.patch(f"/api/example/items/{items['me']['id']}",
                           json={"version": items["me"]["version"], "title": "renamed"})).status_code == 200
    # the admin sees everything
    assert len((await admin.get("/api/example/items")).json()["items"]) == 3
    # out of the team: only the own item is left
    await admin.put(f"/api/teams/{team.json()['id']}/members", json={"user_ids": [str(mate.user_id)]})
    visible = {i["id"] for i in (await me.get("/api/example/items")).json()["items"]}
    assert visible == {items["me"]["id"]}


async def test_cache_is_dropped_again_after_commit(factory, runtime):
    """A request that loads the principal between the change and its commit must not keep the
    old state cached: the service drops the entry again once the change is committed."""
    from xynap.platform.users import service

    tenant = await factory.tenant()
    staff = await factory.member(tenant, "staff")
    info = await runtime.tenant_cache.get(HostTarget(slug=tenant.slug))
    assert (await load_principal(runtime, staff.token, info)).user_id == staff.user_id
    async with runtime.db.session(tenant_id=tenant.id) as session:
        user = await session.get(User, staff.user_id)
        await service.update_user(session, runtime, user, is_active=False)
        # a concurrent request, before the commit, still sees the active user and caches it
        assert (await load_principal(runtime, staff.token, info)) is not None
        await session.commit()
        for callback in session.sync_session.info.get("after_commit", []):  # what get_db does
            callback()
    assert_problem(await staff.get("/api/me"), 401, "user_inactive")


async def test_user_email_stored_casefolded(factory, runtime):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    resp = await admin.post("/api/users", json=new_user(email=f"{unique('Upper')}@Example.Com"))
    assert resp.status_code == 201, resp.text
    async with runtime.db.tenant_session(tenant.id) as session:
        user = await session.get(User, uuid.UUID(resp.json()["id"]))
        assert user.email == user.email.casefold()
