"""The module contract: the registry's dependency graph, discovery of a third-party module through
its entry point, its migration branch, and what booking does to its routes (the module gate) and
its records (scopes, versions, validation) through the HTTP API.

The third-party module is ``xynap-example`` (``tests/example_module``), installed into the test
environment as an editable package; the platform only finds it through the ``xynap.modules``
entry point.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import inspect, select

from xynap.core.modules import Module, ModuleRegistry, PermissionDecl
from xynap.platform.catalog.models import ModuleRecord, Subscription
from xynap.platform.tenants.models import Tenant

# --- the registry, with hand-built manifests ------------------------------------------------------


def manifest(slug: str, *depends: str, kind: str = "module", sort_order: int = 100) -> Module:
    return Module(slug=slug, name=slug.title(), depends=list(depends), kind=kind, sort_order=sort_order)


def registry_of(*modules: Module) -> ModuleRegistry:
    return ModuleRegistry([(m, "test") for m in modules])


def assert_topological(registry: ModuleRegistry) -> None:
    position = {slug: i for i, slug in enumerate(registry.order)}
    for slug in registry.order:
        for dep in registry.entries[slug].module.depends:
            assert position[dep] < position[slug], f"{slug} is loaded before its dependency {dep}"


def test_modules_load_after_their_dependencies():
    registry = registry_of(
        manifest("billing", "crm", "contacts"),
        manifest("crm", "contacts"),
        manifest("helpdesk", "contacts", "mail"),
        manifest("contacts", kind="shared"),
        manifest("mail"),
        manifest("cloud", sort_order=10),
    )
    assert registry.problems == []
    assert set(registry.order) == {"billing", "crm", "helpdesk", "contacts", "mail", "cloud"}
    assert_topological(registry)
    assert registry.order[0] == "cloud"  # among modules free to go, sort_order decides
    assert [m.slug for m in registry.enabled()] == registry.order
    assert {m.slug for m in registry.bookable()} == {"billing", "crm", "helpdesk", "mail", "cloud"}
    assert [m.slug for m in registry.shared()] == ["contacts"]
    assert all(e.enabled and e.reason == "" for e in registry.all_entries())


def test_missing_dependency_disables_the_module_and_everything_behind_it():
    # dependents are listed before what they depend on: the result must not depend on that order
    registry = registry_of(
        manifest("reports", "billing"),
        manifest("billing", "crm"),
        manifest("crm", "contacts"),  # contacts is not installed
        manifest("mail"),
        manifest("newsletter", "mail"),
    )
    assert registry.order == ["mail", "newsletter"]
    crm, billing, reports = (registry.entries[s] for s in ("crm", "billing", "reports"))
    assert not crm.enabled and crm.reason == "depends on 'contacts', which is not installed"
    assert not billing.enabled and billing.reason == "depends on 'crm', which is disabled"
    assert not reports.enabled and reports.reason == "depends on 'billing', which is disabled"
    for slug in ("crm", "billing", "reports"):
        assert registry.get(slug) is None
        assert any(p.startswith(f"module {slug!r} disabled") for p in registry.problems), registry.problems
    assert registry.get("newsletter") is not None
    # disabled modules are listed after the enabled ones, with their reasons
    assert [e.module.slug for e in registry.all_entries()] == ["mail", "newsletter", "billing", "crm", "reports"]
    assert {p.entity for p in registry.permissions()} == set()


def test_dependency_cycle_disables_its_members_and_their_dependents():
    registry = registry_of(
        manifest("a", "c"),
        manifest("b", "a"),
        manifest("c", "b"),
        manifest("d", "a"),  # behind the cycle
        manifest("selfish", "selfish"),
        manifest("e"),
        manifest("f", "e"),
    )
    assert registry.order == ["e", "f"]
    for slug in ("a", "b", "c", "d", "selfish"):
        entry = registry.entries[slug]
        assert not entry.enabled, slug
        assert "dependency cycle" in entry.reason, entry.reason
        assert registry.get(slug) is None
    for slug in ("a", "b", "c"):  # the reason names the members of the cycle
        assert all(member in registry.entries[slug].reason for member in ("a", "b", "c"))
    assert "selfish" in registry.entries["selfish"].reason


def test_a_slug_provided_twice_keeps_the_first():
    first = manifest("crm")
    second = Module(slug="crm", name="Another CRM")
    registry = ModuleRegistry([(first, "pkg-one:module"), (second, "pkg-two:module")])
    assert registry.order == ["crm"]
    assert registry.get("crm") is first
    assert registry.entries["crm"].source == "pkg-one:module"
    assert registry.problems == ["module 'crm' is provided twice (pkg-two:module); the first one wins"]


def test_discover_finds_the_example_module_through_its_entry_point():
    registry = ModuleRegistry.discover()
    module = registry.get("example")
    assert module is not None, registry.problems
    entry = registry.entries["example"]
    assert entry.enabled and entry.source == "xynap_example:module"
    assert module.kind == "module" and module.depends == []
    assert module in registry.bookable()
    assert module.migrations is not None and (module.migrations / "0001_example.py").is_file()
    assert [p.tier for p in module.plans] == ["starter", "business", "enterprise"]
    assert module.jobs and module.schedules and module.settings and module.ui is not None
    assert callable(getattr(module, "demo", None))
    [decl] = [p for p in module.permissions if p.entity == "example.item"]
    assert isinstance(decl, PermissionDecl)
    assert decl.default_grants("staff") == {"example.item:read": "team", "example.item:create": "own",
                                            "example.item:update": "own", "example.item:delete": "own"}
    assert set(decl.default_grants("manager").values()) == {"all"}
    assert decl.default_grants("external") == {}
    # an extra module with the same slug does not replace the installed one
    dup = ModuleRegistry.discover(extra=[Module(slug="example", name="Impostor")])
    assert dup.get("example") is module
    assert any("provided twice (extra)" in p for p in dup.problems)


def test_a_fresh_migration_creates_the_module_table(settings, tmp_path: Path):
    from xynap.core.migrate import upgrade

    db_file = tmp_path / "fresh.db"
    upgrade(settings, url=f"sqlite+aiosqlite:///{db_file}")
    with sqlite3.connect(db_file) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        heads = {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
        columns = {row[1] for row in conn.execute("PRAGMA table_info(example_items)")}
    assert {"tenants", "users", "example_items"} <= tables
    assert "example_0001" in heads
    assert {"id", "tenant_id", "owner_id", "title", "body", "size_bytes", "version", "created_at",
            "updated_at"} <= columns


async def test_the_test_database_has_the_module_table(runtime):
    async with runtime.db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert "example_items" in tables


# --- booking opens and closes the module's routes --------------------------------------------------


async def _book(admin, module: str = "example", plan: str = "starter") -> dict:
    resp = await admin.post("/api/subscriptions", json={"module": module, "plan": plan})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _problem(resp, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == code, resp.text


async def test_unbooked_module_is_closed(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    resp = await admin.get("/api/example/items")
    _problem(resp, 403, "module_not_enabled")
    assert resp.json()["module"] == "example"
    _problem(await admin.post("/api/example/items", json={"title": "x"}), 403, "module_not_enabled")


async def test_booking_opens_the_routes_and_cancelling_closes_them_keeping_the_data(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")

    sub = await _book(admin)
    assert sub["module"] == "example" and sub["status"] == "pending" and sub["plan"] == "starter"
    _problem(await admin.get("/api/example/items"), 403, "module_not_enabled")  # pending is not open yet

    resp = await admin.post(f"/api/subscriptions/{sub['id']}/activate")
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "active"
    resp = await admin.get("/api/example/items")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"items": [], "next_cursor": None}
    catalog = {m["slug"]: m for m in (await admin.get("/api/modules")).json()}
    assert catalog["example"]["access"] == "write"
    assert catalog["example"]["ui"]["path"] == "/example"

    resp = await admin.post("/api/example/items", json={"title": "Keep me", "body": "through a cancellation"})
    assert resp.status_code == 201, resp.text
    item = resp.json()

    resp = await admin.post(f"/api/subscriptions/{sub['id']}/cancel")
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled", resp.text
    _problem(await admin.get("/api/example/items"), 403, "module_not_enabled")
    _problem(await admin.get(f"/api/example/items/{item['id']}"), 403, "module_not_enabled")
    _problem(await admin.delete(f"/api/example/items/{item['id']}"), 403, "module_not_enabled")

    again = await _book(admin, plan="business")
    assert again["id"] == sub["id"] and again["status"] == "pending"
    resp = await admin.post(f"/api/subscriptions/{again['id']}/activate")
    assert resp.status_code == 200, resp.text
    resp = await admin.get(f"/api/example/items/{item['id']}")
    assert resp.status_code == 200, resp.text
    assert resp.json()["title"] == "Keep me" and resp.json()["version"] == item["version"]
    assert [i["id"] for i in (await admin.get("/api/example/items")).json()["items"]] == [item["id"]]


async def test_a_suspended_subscription_makes_the_module_read_only(factory, runtime):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    resp = await admin.post("/api/example/items", json={"title": "Still readable"})
    assert resp.status_code == 201, resp.text
    item = resp.json()

    async with runtime.db.platform_session() as session:
        sub = await session.scalar(
            select(Subscription).join(ModuleRecord, Subscription.module_id == ModuleRecord.id)
            .where(ModuleRecord.slug == "example", Subscription.tenant_id == tenant.id)
        )
        sub.status = "suspended"
    runtime.invalidate_tenant(tenant.id)

    resp = await admin.get("/api/example/items")
    assert resp.status_code == 200, resp.text
    assert [i["id"] for i in resp.json()["items"]] == [item["id"]]
    assert (await admin.get(f"/api/example/items/{item['id']}")).status_code == 200
    _problem(await admin.post("/api/example/items", json={"title": "new"}), 403, "module_read_only")
    _problem(await admin.patch(f"/api/example/items/{item['id']}", json={"version": item["version"], "title": "y"}),
             403, "module_read_only")
    _problem(await admin.delete(f"/api/example/items/{item['id']}"), 403, "module_read_only")
    catalog = {m["slug"]: m for m in (await admin.get("/api/modules")).json()}
    assert catalog["example"]["access"] == "read"


# --- records: scopes, versions, validation -----------------------------------------------------------


async def test_record_scopes_own_team_all(factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    julia = await factory.member(tenant, "staff")
    markus = await factory.member(tenant, "staff")  # Julia's team-mate
    sabine = await factory.member(tenant, "staff")  # in no team with Julia
    resp = await admin.post("/api/teams", json={"name": "Sales", "member_ids": [str(julia.user_id),
                                                                                 str(markus.user_id)]})
    assert resp.status_code == 201, resp.text

    items = {}
    for who, session in (("julia", julia), ("markus", markus), ("sabine", sabine), ("admin", admin)):
        resp = await session.post("/api/example/items", json={"title": f"{who}'s item"})
        assert resp.status_code == 201, resp.text
        assert resp.json()["owner_id"] == str(session.user_id)  # the owner is always the caller
        items[who] = resp.json()

    def ids(resp) -> set[str]:
        assert resp.status_code == 200, resp.text
        return {i["id"] for i in resp.json()["items"]}

    # staff reads own + team (read: team), admin and nobody else sees everything
    assert ids(await julia.get("/api/example/items")) == {items["julia"]["id"], items["markus"]["id"]}
    assert ids(await sabine.get("/api/example/items")) == {items["sabine"]["id"]}
    assert ids(await admin.get("/api/example/items")) == {i["id"] for i in items.values()}
    assert ids(await admin.get("/api/example/items", params={"owner_id": str(julia.user_id)})) == {
        items["julia"]["id"]}

    # a team-mate's item: visible, but staff may change only their own (update/delete: own)
    mate = items["markus"]
    assert (await julia.get(f"/api/example/items/{mate['id']}")).status_code == 200
    _problem(await julia.patch(f"/api/example/items/{mate['id']}", json={"version": mate["version"], "title": "x"}),
             403, "permission_scope")
    _problem(await julia.delete(f"/api/example/items/{mate['id']}"), 403, "permission_scope")

    # an item outside the team: invisible, so 404 on every single-record route
    other = items["sabine"]
    _problem(await julia.get(f"/api/example/items/{other['id']}"), 404, "item_not_found")
    _problem(await julia.patch(f"/api/example/items/{other['id']}", json={"version": other["version"], "title": "x"}),
             404, "item_not_found")
    _problem(await julia.delete(f"/api/example/items/{other['id']}"), 404, "item_not_found")
    _problem(await julia.get(f"/api/example/items/{items['admin']['id']}"), 404, "item_not_found")

    # own items can be changed and deleted
    own = items["julia"]
    resp = await julia.patch(f"/api/example/items/{own['id']}", json={"version": own["version"], "title": "mine"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["title"] == "mine" and resp.json()["version"] == own["version"] + 1
    assert (await julia.delete(f"/api/example/items/{own['id']}")).status_code == 204
    _problem(await julia.get(f"/api/example/items/{own['id']}"), 404, "item_not_found")

    # admin (all) changes anybody's item; the owner stays
    resp = await admin.patch(f"/api/example/items/{other['id']}", json={"version": other["version"], "body": "ok"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["owner_id"] == str(sabine.user_id)
    assert (await markus.get(f"/api/example/items/{items['julia']['id']}")).status_code == 404  # deleted


async def test_an_outdated_version_gives_409(factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    item = (await admin.post("/api/example/items", json={"title": "v1"})).json()
    first = await admin.patch(f"/api/example/items/{item['id']}", json={"version": item["version"], "title": "v2"})
    assert first.status_code == 200, first.text
    stale = await admin.patch(f"/api/example/items/{item['id']}", json={"version": item["version"], "title": "v2b"})
    _problem(stale, 409, "version_conflict")
    assert stale.json()["current_version"] == first.json()["version"]
    assert (await admin.get(f"/api/example/items/{item['id']}")).json()["title"] == "v2"


async def test_validation_errors_name_the_field(factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    resp = await admin.post("/api/example/items", json={"title": ""})
    _problem(resp, 422, "validation_error")
    assert [e["field"] for e in resp.json()["errors"]] == ["title"]
    assert "title" in resp.json()["detail"]

    resp = await admin.post("/api/example/items", json={"title": "ok", "size_bytes": -1})
    _problem(resp, 422, "validation_error")
    assert [e["field"] for e in resp.json()["errors"]] == ["size_bytes"]

    item = (await admin.post("/api/example/items", json={"title": "ok"})).json()
    resp = await admin.patch(f"/api/example/items/{item['id']}", json={"title": "no version"})
    _problem(resp, 422, "validation_error")
    assert [e["field"] for e in resp.json()["errors"]] == ["version"]

    resp = await admin.get("/api/example/items/not-a-uuid")
    _problem(resp, 422, "validation_error")
    assert resp.json()["errors"][0]["field"] == "item_id"

    resp = await admin.get("/api/example/items", params={"sort": "owner"})
    _problem(resp, 422, "invalid_sort")


async def test_items_paginate_with_a_cursor(factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    created = []
    for n in range(5):
        resp = await admin.post("/api/example/items", json={"title": f"item {n}"})
        assert resp.status_code == 201, resp.text
        created.append(resp.json()["id"])
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "sort": "title"} | ({"cursor": cursor} if cursor else {})
        page = (await admin.get("/api/example/items", params=params)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == created


async def test_creating_an_item_reserves_storage(factory, runtime):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")

    async def used() -> int:
        async with runtime.db.platform_session() as session:
            return (await session.get(Tenant, tenant.id, populate_existing=True)).storage_used_bytes

    before = await used()
    resp = await admin.post("/api/example/items", json={"title": "scan.pdf", "size_bytes": 5_000})
    assert resp.status_code == 201, resp.text
    item = resp.json()
    assert item["size_bytes"] == 5_000
    assert await used() == before + 5_000

    too_big = 11 * 1024**3  # the default quota is 10 GB
    resp = await admin.post("/api/example/items", json={"title": "backup.tar", "size_bytes": too_big})
    _problem(resp, 409, "storage_quota_exceeded")
    assert await used() == before + 5_000
    titles = [i["title"] for i in (await admin.get("/api/example/items")).json()["items"]]
    assert titles == ["scan.pdf"]

    assert (await admin.delete(f"/api/example/items/{item['id']}")).status_code == 204
    assert await used() == before


# --- the rest of the manifest: settings, job, schedule ----------------------------------------------


async def test_module_setting_job_and_schedule_are_registered(factory, runtime, app):
    from xynap_example import STATS_JOB, count_items

    from xynap.core.kernel_models import JobSchedule

    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    settings = {s["key"]: s for s in (await admin.get("/api/settings")).json()}
    assert settings["example.items_per_page"]["value"] == 25
    assert settings["example.items_per_page"]["module"] == "example"
    permissions = {p["permission"]: p for p in (await admin.get("/api/permissions")).json()}
    assert permissions["example.item:update"]["module"] == "example"

    assert STATS_JOB in runtime.extras["job_registry"]
    async with runtime.db.platform_session() as session:
        schedule = await session.scalar(select(JobSchedule).where(JobSchedule.name == "example.nightly_count"))
    assert schedule is not None and schedule.job_name == STATS_JOB and schedule.cron == "15 3 * * *"

    assert (await admin.post("/api/example/items", json={"title": "counted"})).status_code == 201
    async with runtime.db.tenant_session(tenant.id) as session:
        assert await count_items(SimpleNamespace(session=session)) == {"items": 1}


@pytest.mark.parametrize("role", ["external"])
async def test_a_role_without_grants_is_refused(factory, role):
    tenant = await factory.tenant(modules=("example",))
    outsider = await factory.member(tenant, role)
    _problem(await outsider.get("/api/example/items"), 403, "permission_denied")


def test_a_module_behind_a_cycle_is_named_as_blocked_not_as_a_member():
    from xynap.core.modules import Module, ModuleRegistry

    a = Module(slug="cyc_a", name="A", depends=["cyc_b"])
    b = Module(slug="cyc_b", name="B", depends=["cyc_a"])
    c = Module(slug="cyc_c", name="C", depends=["cyc_a"])
    registry = ModuleRegistry([(a, "t"), (b, "t"), (c, "t")])
    reasons = {e.module.slug: e.reason for e in registry.all_entries()}
    assert reasons["cyc_a"] == reasons["cyc_b"] == "dependency cycle among cyc_a, cyc_b"
    assert "cyc_c" not in reasons["cyc_c"].split("among")[-1]
    assert reasons["cyc_c"].startswith("depends on 'cyc_a'")
