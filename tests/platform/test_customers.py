"""Customer tenants for platform staff and resellers: list, create with first admin, suspend, resume."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from tests.factories import PASSWORD, unique
from xynap.platform.tenants.models import Tenant


def assert_problem(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["code"] == code, body
    return body


def customer(**kw) -> dict:
    slug = kw.pop("slug", None) or unique("c")
    return {"slug": slug, "name": f"Customer {slug}", "admin_email": f"boss-{slug}@example.com",
            "admin_name": "The Boss", "admin_password": "first-admin-password", **kw}


async def all_customers(session, **params) -> list[dict]:
    out, cursor = [], None
    while True:
        query = {"limit": 200, **params}
        if cursor:
            query["cursor"] = cursor
        resp = await session.get("/api/customers", params=query)
        assert resp.status_code == 200, resp.text
        out += resp.json()["items"]
        cursor = resp.json()["next_cursor"]
        if not cursor:
            return out


async def tenant_count(runtime, slug: str) -> int:
    async with runtime.db.platform_session() as session:
        return await session.scalar(select(func.count()).select_from(Tenant).where(Tenant.slug == slug))


async def test_create_customer_with_first_admin(factory, client):
    platform = await factory.platform("admin")
    body = customer(plan="business", status="active", user_limit=7)
    resp = await platform.post("/api/customers", json=body)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["slug"] == body["slug"] and created["plan"] == "business" and created["status"] == "active"
    assert created["user_limit"] == 7 and created["user_count"] == 1 and created["modules"] == []
    assert created["reseller_id"] is None

    # the first admin logs in on the new tenant and administers it
    login = await client.post("/api/login", json={"email": body["admin_email"], "password": body["admin_password"]},
                              headers={"X-Tenant": body["slug"]})
    assert login.status_code == 200, login.text
    headers = {"X-Tenant": body["slug"], "Authorization": f"Bearer {login.json()['access_token']}"}
    me = await client.get("/api/me", headers=headers)
    assert me.json()["role"] == "admin" and me.json()["tenant"]["slug"] == body["slug"]
    users = await client.get("/api/users", headers=headers)
    assert [u["email"] for u in users.json()["items"]] == [body["admin_email"]]
    roles = await client.get("/api/roles", headers=headers)
    assert {"admin", "manager", "staff", "external"} <= {r["name"] for r in roles.json()}

    got = await platform.get(f"/api/customers/{created['id']}")
    assert got.status_code == 200 and got.json()["slug"] == body["slug"]
    listed = await all_customers(platform, q=body["slug"])
    assert [c["id"] for c in listed] == [created["id"]]
    # the creation is in the platform audit log
    audit = await platform.get("/api/platform/audit", params={"entity_type": "customer", "entity_id": created["id"]})
    assert audit.status_code == 200, audit.text
    actions = [r["action"] for r in audit.json()["items"]]
    assert "customer.create" in actions, actions
    first_admin = await platform.get("/api/platform/audit", params={"tenant_id": created["id"], "entity_type": "user"})
    row = next(r for r in first_admin.json()["items"] if r["action"] == "user.create")
    assert row["actor_id"] == str(platform.user_id) and row["actor_kind"] == "platform"
    assert row["changes"]["password_hash"] == [None, "***"]


async def test_trial_customer_defaults(factory):
    platform = await factory.platform("owner")
    resp = await platform.post("/api/customers", json=customer())
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "trial" and resp.json()["trial_ends_at"]


async def test_suspend_and_resume(factory, client):
    platform = await factory.platform("admin")
    tenant = await factory.tenant()
    member = await factory.member(tenant, "admin")
    assert (await member.get("/api/me")).status_code == 200
    resp = await platform.post(f"/api/customers/{tenant.id}/suspend")
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "suspended"
    assert_problem(await member.get("/api/me"), 403, "tenant_suspended")
    assert_problem(await member.get("/api/users"), 403, "tenant_suspended")
    assert_problem(await client.post("/api/login", json={"email": "x@example.com", "password": "x"},
                                     headers={"X-Tenant": tenant.slug}), 403, "tenant_suspended")
    # data kept
    assert (await platform.get(f"/api/customers/{tenant.id}")).json()["user_count"] == 1
    resp = await platform.post(f"/api/customers/{tenant.id}/resume")
    assert resp.status_code == 200 and resp.json()["status"] == "active"
    me = await member.get("/api/me")
    assert me.status_code == 200, me.text
    assert len((await member.get("/api/users")).json()["items"]) == 1


async def test_reseller_sees_only_its_customers(factory):
    reseller = await factory.platform("reseller")
    other_reseller = await factory.platform("reseller")
    admin = await factory.platform("admin")
    mine = (await reseller.post("/api/customers", json=customer())).json()
    assert mine["reseller_id"] == str(reseller.user_id)
    theirs = (await other_reseller.post("/api/customers", json=customer())).json()
    direct = await factory.tenant()

    visible = {c["id"] for c in await all_customers(reseller)}
    assert visible == {mine["id"]}
    assert_problem(await reseller.get(f"/api/customers/{theirs['id']}"), 404, "customer_not_found")
    assert_problem(await reseller.get(f"/api/customers/{direct.id}"), 404, "customer_not_found")
    assert_problem(await reseller.post(f"/api/customers/{theirs['id']}/suspend"), 404, "customer_not_found")
    assert (await reseller.post(f"/api/customers/{mine['id']}/suspend")).json()["status"] == "suspended"
    # platform admins see everyone
    everyone = {c["id"] for c in await all_customers(admin)}
    assert {mine["id"], theirs["id"], str(direct.id)} <= everyone


async def test_tenant_users_cannot_use_the_customer_api(factory, client):
    tenant = await factory.tenant()
    for role in ("staff", "admin"):
        member = await factory.member(tenant, role)
        assert_problem(await member.get("/api/customers"), 403, "platform_user_required")
        assert_problem(await member.post("/api/customers", json=customer()), 403, "platform_user_required")
        assert_problem(await member.post(f"/api/customers/{tenant.id}/suspend"), 403, "platform_user_required")
    assert_problem(await client.get("/api/customers"), 401, "not_authenticated")


async def test_slug_rules(factory, runtime):
    platform = await factory.platform("admin")
    taken = await factory.tenant()
    assert_problem(await platform.post("/api/customers", json=customer(slug=taken.slug)), 409, "tenant_exists")
    body = assert_problem(await platform.post("/api/customers", json=customer(slug="admin")), 422, "slug_reserved")
    assert {e["field"] for e in body["errors"]} == {"slug"}
    for bad in ("Has Spaces", "-dash", "dash-", "ümlaut", "a" * 64, "under_score"):
        resp = await platform.post("/api/customers", json=customer(slug=bad))
        assert resp.status_code == 422, (bad, resp.text)
        assert resp.json()["code"] in ("invalid_slug", "validation_error"), resp.text
    # upper case is normalised, not rejected
    upper = unique("Up").upper()
    resp = await platform.post("/api/customers", json=customer(slug=upper))
    assert resp.status_code == 201, resp.text
    assert resp.json()["slug"] == upper.lower()


async def test_failed_admin_leaves_no_tenant(factory, runtime):
    platform = await factory.platform("admin")
    body = customer(admin_password="short")
    resp = await platform.post("/api/customers", json=body)
    err = assert_problem(resp, 422, "password_too_short")
    assert {e["field"] for e in err["errors"]} == {"password"}
    assert await tenant_count(runtime, body["slug"]) == 0
    bad_email = customer(admin_email="not-an-email")
    assert_problem(await platform.post("/api/customers", json=bad_email), 422, "validation_error")
    assert await tenant_count(runtime, bad_email["slug"]) == 0
    # the slug is still free afterwards
    body["admin_password"] = PASSWORD
    assert (await platform.post("/api/customers", json=body)).status_code == 201
    assert await tenant_count(runtime, body["slug"]) == 1


async def test_customer_list_filters(factory):
    platform = await factory.platform("admin")
    prefix = unique("flt")
    active = (await platform.post("/api/customers", json=customer(slug=f"{prefix}-a", status="active"))).json()
    trial = (await platform.post("/api/customers", json=customer(slug=f"{prefix}-b"))).json()
    assert {c["id"] for c in await all_customers(platform, q=prefix)} == {active["id"], trial["id"]}
    assert {c["id"] for c in await all_customers(platform, q=prefix, status="trial")} == {trial["id"]}
    page = await platform.get("/api/customers", params={"q": prefix, "limit": 1, "sort": "-slug"})
    assert [c["id"] for c in page.json()["items"]] == [trial["id"]]
    nxt = await platform.get("/api/customers", params={"q": prefix, "limit": 1, "sort": "-slug",
                                                       "cursor": page.json()["next_cursor"]})
    assert [c["id"] for c in nxt.json()["items"]] == [active["id"]]
    assert_problem(await platform.get("/api/customers", params={"sort": "secret"}), 422, "invalid_sort")


async def test_custom_domain_resolves_the_tenant(factory, client):
    platform = await factory.platform("admin")
    slug = unique("dom")
    body = customer(slug=slug, status="active", custom_domain=f"Shop-{slug}.Example.COM.")
    resp = await platform.post("/api/customers", json=body)
    assert resp.status_code == 201, resp.text
    domain = f"shop-{slug}.example.com"
    assert resp.json()["custom_domain"] == domain  # stored the way hosts are looked up
    login = await client.post("/api/login", json={"email": body["admin_email"], "password": body["admin_password"]},
                              headers={"Host": domain})
    assert login.status_code == 200, login.text
    me = await client.get("/api/me", headers={"Host": f"{domain.upper()}:443",
                                              "Authorization": f"Bearer {login.json()['access_token']}"})
    assert me.status_code == 200 and me.json()["tenant"]["slug"] == slug
    # the same domain cannot serve two tenants
    again = await platform.post("/api/customers", json=customer(custom_domain=domain))
    assert again.status_code == 409, again.text
    for bad in ("not a domain", "localhost", f"{slug}-x.localhost", f"x.{slug}..com", "-bad.example.com",
                "a" * 64 + ".com"):
        resp = await platform.post("/api/customers", json=customer(custom_domain=bad))
        assert resp.status_code == 422, (bad, resp.text)
