"""The module catalog, bookings (subscriptions) with the module gate, pricing, and plan admin."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import delete, select

from tests.factories import unique
from xynap.platform.catalog.models import Bundle, ModulePlan, ModuleRecord, Subscription

MODULE = "example"
ITEMS = f"/api/{MODULE}/items"


def assert_problem(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["code"] == code, body
    return body


@pytest.fixture(autouse=True)
def _needs_example(runtime):
    assert runtime.registry.get(MODULE) is not None, (
        "the example module must be installed: `uv sync` installs it with the dev dependencies")


def by_slug(modules: list[dict]) -> dict[str, dict]:
    return {m["slug"]: m for m in modules}


async def test_catalog_is_public(client, runtime):
    resp = await client.get("/api/modules")
    assert resp.status_code == 200, resp.text
    modules = by_slug(resp.json())
    example = modules[MODULE]
    assert example["installed"] is True and example["is_active"] is True and example["kind"] == "module"
    tiers = {p["tier"]: p for p in example["plans"]}
    assert set(tiers) == {"starter", "business", "enterprise"}
    assert Decimal(str(tiers["starter"]["price_monthly"])) >= 0
    assert tiers["starter"]["currency"] == "EUR"
    assert example["ui"]["path"] == "/example"
    assert example["access"] is None and example["subscription_id"] is None
    assert set(modules) <= {m.slug for m in runtime.registry.enabled()}
    bundles = await client.get("/api/bundles")
    assert bundles.status_code == 200 and "all-in-one" in {b["slug"] for b in bundles.json()}


async def test_logged_in_user_sees_access(factory):
    booked = await factory.tenant(modules=(MODULE,))
    staff = await factory.member(booked, "staff")
    example = by_slug((await staff.get("/api/modules")).json())[MODULE]
    assert example["access"] == "write"
    assert example["subscription_status"] == "active"
    bare = await factory.tenant()
    other = await factory.member(bare, "staff")
    example = by_slug((await other.get("/api/modules")).json())[MODULE]
    assert example["access"] is None and example["subscription_status"] is None


async def test_booking_lifecycle_opens_and_closes_the_module(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    assert_problem(await admin.get(ITEMS), 403, "module_not_enabled")

    resp = await admin.post("/api/subscriptions", json={"module": MODULE, "plan": "starter"})
    assert resp.status_code == 201, resp.text
    sub = resp.json()
    assert sub["status"] == "pending" and sub["module"] == MODULE and sub["plan"] == "starter"
    body = assert_problem(await admin.get(ITEMS), 403, "module_not_enabled")
    assert body["module"] == MODULE

    resp = await admin.post(f"/api/subscriptions/{sub['id']}/activate")
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "active" and resp.json()["activated_at"]
    assert (await admin.get(ITEMS)).status_code == 200
    item = await admin.post(ITEMS, json={"title": "kept"})
    assert item.status_code == 201, item.text

    listed = await admin.get("/api/subscriptions")
    assert [s["module"] for s in listed.json()] == [MODULE]
    assert (await admin.get(f"/api/subscriptions/{sub['id']}")).json()["status"] == "active"

    resp = await admin.post(f"/api/subscriptions/{sub['id']}/cancel")
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "cancelled" and resp.json()["cancelled_at"]
    assert_problem(await admin.get(ITEMS), 403, "module_not_enabled")
    assert_problem(await admin.post(f"/api/subscriptions/{sub['id']}/cancel"), 409, "subscription_cancelled")
    assert_problem(await admin.post(f"/api/subscriptions/{sub['id']}/activate"), 409, "subscription_cancelled")

    # booked again: the data is still there
    again = await admin.post("/api/subscriptions", json={"module": MODULE, "trial": True})
    assert again.status_code == 201, again.text
    assert again.json()["id"] == sub["id"] and again.json()["status"] == "trial"
    items = (await admin.get(ITEMS)).json()["items"]
    assert [i["title"] for i in items] == ["kept"]


async def test_trial_opens_immediately(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    resp = await admin.post("/api/subscriptions", json={"module": MODULE, "plan": "business", "trial": True})
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "trial" and resp.json()["trial_ends_at"]
    assert (await admin.get(ITEMS)).status_code == 200
    # a trial can be turned into a paid booking
    activated = await admin.post(f"/api/subscriptions/{resp.json()['id']}/activate")
    assert activated.json()["status"] == "active" and activated.json()["trial_ends_at"] is None


async def test_expired_trial_is_read_only(factory, runtime):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    sub = (await admin.post("/api/subscriptions", json={"module": MODULE, "trial": True})).json()
    created = await admin.post(ITEMS, json={"title": "from the trial"})
    assert created.status_code == 201, created.text
    async with runtime.db.tenant_session(tenant.id) as session:
        row = await session.get(Subscription, uuid.UUID(sub["id"]))
        row.trial_ends_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    runtime.invalidate_tenant(tenant.id)
    listed = await admin.get(ITEMS)
    assert listed.status_code == 200 and [i["title"] for i in listed.json()["items"]] == ["from the trial"]
    assert_problem(await admin.post(ITEMS, json={"title": "no more"}), 403, "module_read_only")
    assert by_slug((await admin.get("/api/modules")).json())[MODULE]["access"] == "read"
    # paying opens it again
    assert (await admin.post(f"/api/subscriptions/{sub['id']}/activate")).json()["status"] == "active"
    assert (await admin.post(ITEMS, json={"title": "paid"})).status_code == 201


async def test_booking_errors(factory):
    tenant = await factory.tenant(modules=(MODULE,))
    admin = await factory.member(tenant, "admin")
    body = assert_problem(await admin.post("/api/subscriptions", json={"module": MODULE}), 409, "already_booked")
    assert body["subscription_id"]
    assert_problem(await admin.post("/api/subscriptions", json={"module": unique("nomod")}), 404, "module_not_found")
    body = assert_problem(await admin.post("/api/subscriptions", json={"module": MODULE, "plan": "platinum"}),
                          422, "validation_error")
    assert {e["field"] for e in body["errors"]} == {"plan"}
    assert_problem(await admin.post("/api/subscriptions", json={"module": MODULE, "billing_cycle": "weekly"}),
                   422, "validation_error")
    assert_problem(await admin.get("/api/subscriptions/00000000-0000-0000-0000-000000000000"),
                   404, "subscription_not_found")
    # booking needs subscriptions:manage; reading needs subscriptions:read
    manager = await factory.member(tenant, "manager")
    assert (await manager.get("/api/subscriptions")).status_code == 200
    assert_problem(await manager.post("/api/subscriptions", json={"module": MODULE}), 403, "permission_denied")
    staff = await factory.member(tenant, "staff")
    assert_problem(await staff.get("/api/subscriptions"), 403, "permission_denied")


async def test_bookings_are_per_tenant(factory):
    a = await factory.tenant(modules=(MODULE,))
    b = await factory.tenant()
    admin_a = await factory.member(a, "admin")
    admin_b = await factory.member(b, "admin")
    sub_a = (await admin_a.get("/api/subscriptions")).json()[0]
    assert (await admin_b.get("/api/subscriptions")).json() == []
    assert_problem(await admin_b.get(f"/api/subscriptions/{sub_a['id']}"), 404, "subscription_not_found")
    assert_problem(await admin_b.post(f"/api/subscriptions/{sub_a['id']}/cancel"), 404, "subscription_not_found")
    assert_problem(await admin_b.get(ITEMS), 403, "module_not_enabled")


async def test_change_plan(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    sub = (await admin.post("/api/subscriptions", json={"module": MODULE, "plan": "starter", "trial": True})).json()
    starter_price = Decimal(str(sub["price"]))
    resp = await admin.post(f"/api/subscriptions/{sub['id']}/change-plan",
                            json={"plan": "enterprise", "billing_cycle": "yearly"})
    assert resp.status_code == 200, resp.text
    changed = resp.json()
    assert changed["plan"] == "enterprise" and changed["billing_cycle"] == "yearly"
    assert Decimal(str(changed["price"])) > starter_price
    assert changed["version"] > sub["version"]
    assert_problem(await admin.post(f"/api/subscriptions/{sub['id']}/change-plan", json={"plan": "gold"}),
                   422, "validation_error")
    assert (await admin.get(ITEMS)).status_code == 200  # still open after the change


async def _set_bundle(runtime, slug: str | None, modules: list[str] | None = None, discount: str = "0") -> None:
    async with runtime.db.platform_session() as session:
        if modules is None:
            await session.execute(delete(Bundle).where(Bundle.slug == slug))
        else:
            session.add(Bundle(slug=slug, name=slug, module_slugs=modules, discount_percent=Decimal(discount)))


async def test_pricing_with_bundle_discount(factory, runtime):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    empty = (await admin.get("/api/subscriptions/pricing")).json()
    assert empty["lines"] == [] and Decimal(str(empty["total_monthly"])) == 0 and empty["bundle"] is None

    sub = (await admin.post("/api/subscriptions", json={"module": MODULE, "plan": "business"})).json()
    pending = (await admin.get("/api/subscriptions/pricing")).json()
    assert pending["lines"] == []  # pending bookings cost nothing yet
    await admin.post(f"/api/subscriptions/{sub['id']}/activate")

    async with runtime.db.platform_session() as session:
        module = await session.scalar(select(ModuleRecord).where(ModuleRecord.slug == MODULE))
        plan = await session.scalar(select(ModulePlan).where(ModulePlan.module_id == module.id,
                                                             ModulePlan.tier == "business"))
        monthly = plan.price_monthly

    slug = unique("bundle-")
    await _set_bundle(runtime, slug, [MODULE], "60")
    try:
        bundles = {b["slug"]: b for b in (await factory.client.get("/api/bundles")).json()}
        assert bundles[slug]["module_slugs"] == [MODULE]
        resp = await admin.get("/api/subscriptions/pricing")
        assert resp.status_code == 200, resp.text
        price = resp.json()
        assert price["lines"] == [{"module": MODULE, "plan": "business", "billing_cycle": "monthly",
                                   "price": price["lines"][0]["price"]}]
        assert Decimal(str(price["lines"][0]["price"])) == monthly
        assert Decimal(str(price["subtotal_monthly"])) == monthly
        assert price["bundle"] == slug and Decimal(str(price["discount_percent"])) == 60
        assert Decimal(str(price["total_monthly"])) == (monthly * Decimal("0.4")).quantize(Decimal("0.01"))
    finally:
        await _set_bundle(runtime, slug)
    # a bundle that needs a module the tenant did not book does not apply
    other = unique("bundle-")
    await _set_bundle(runtime, other, [MODULE, "not-booked-module"], "90")
    try:
        price = (await admin.get("/api/subscriptions/pricing")).json()
        assert price["bundle"] != other
    finally:
        await _set_bundle(runtime, other)


async def test_yearly_price_is_spread_over_months(factory, runtime):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    sub = (await admin.post("/api/subscriptions", json={"module": MODULE, "plan": "starter",
                                                        "billing_cycle": "yearly", "trial": True})).json()
    assert sub["billing_cycle"] == "yearly"
    price = (await admin.get("/api/subscriptions/pricing")).json()
    yearly = Decimal(str(sub["price"]))
    assert Decimal(str(price["lines"][0]["price"])) == (yearly / 12).quantize(Decimal("0.01"))


async def test_platform_admin_changes_plan_prices(factory, client, runtime):
    platform = await factory.platform("admin")
    example = by_slug((await client.get("/api/modules")).json())[MODULE]
    plan = next(p for p in example["plans"] if p["tier"] == "starter")
    old_monthly, old_yearly = plan["price_monthly"], plan["price_yearly"]
    try:
        resp = await platform.patch(f"/api/module-plans/{plan['id']}",
                                    json={"price_monthly": "7.77", "price_yearly": "77.70"})
        assert resp.status_code == 200, resp.text
        assert Decimal(str(resp.json()["price_monthly"])) == Decimal("7.77")
        after = by_slug((await client.get("/api/modules")).json())[MODULE]
        changed = next(p for p in after["plans"] if p["tier"] == "starter")
        assert Decimal(str(changed["price_monthly"])) == Decimal("7.77")
        assert Decimal(str(changed["price_yearly"])) == Decimal("77.70")
        # bookings show the new price
        tenant = await factory.tenant()
        admin = await factory.member(tenant, "admin")
        sub = (await admin.post("/api/subscriptions", json={"module": MODULE, "plan": "starter"})).json()
        assert Decimal(str(sub["price"])) == Decimal("7.77")
        assert_problem(await platform.patch(f"/api/module-plans/{plan['id']}", json={"price_monthly": "-1"}),
                       422, "validation_error")
        assert_problem(await platform.patch("/api/module-plans/00000000-0000-0000-0000-000000000000",
                                            json={"price_monthly": "1"}), 404, "plan_not_found")
        # a tenant admin is not platform staff
        assert_problem(await admin.patch(f"/api/module-plans/{plan['id']}", json={"price_monthly": "0"}),
                       403, "platform_user_required")
        # platform staff without admin rights may not change prices either
        staff = await factory.platform("staff")
        assert_problem(await staff.patch(f"/api/module-plans/{plan['id']}", json={"price_monthly": "0"}),
                       403, "permission_denied")
        assert_problem(await client.patch(f"/api/module-plans/{plan['id']}", json={"price_monthly": "0"}),
                       401, "not_authenticated")
    finally:
        await platform.patch(f"/api/module-plans/{plan['id']}",
                             json={"price_monthly": str(old_monthly), "price_yearly": str(old_yearly)})
    restored = by_slug((await client.get("/api/modules")).json())[MODULE]
    assert next(p for p in restored["plans"] if p["tier"] == "starter")["price_monthly"] == old_monthly


async def test_hidden_module_cannot_be_booked(factory, client):
    platform = await factory.platform("admin")
    example = by_slug((await client.get("/api/modules")).json())[MODULE]
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    try:
        resp = await platform.patch(f"/api/modules/{example['id']}", json={"is_active": False})
        assert resp.status_code == 200, resp.text
        assert MODULE not in by_slug((await client.get("/api/modules")).json())
        assert MODULE in by_slug((await platform.get("/api/modules")).json())  # staff still see it
        assert_problem(await admin.post("/api/subscriptions", json={"module": MODULE}), 404, "module_not_found")
    finally:
        await platform.patch(f"/api/modules/{example['id']}", json={"is_active": True})
    assert MODULE in by_slug((await client.get("/api/modules")).json())
