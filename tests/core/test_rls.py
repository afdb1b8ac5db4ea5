"""The two tenant walls, checked on the live database.

1. The ORM wall (both engines): every table with a ``tenant_id`` column is mapped by a model with
   ``TenantMixin``/``TenantOptionalMixin``, so the session filters it and stamps inserts.
2. The database wall (PostgreSQL): every such table has row-level security enabled *and forced*
   with a policy, the application's role can neither bypass RLS nor is it a superuser, and raw
   SQL (which bypasses the ORM filter) in a session bound to tenant B neither sees nor writes
   tenant A's rows. On SQLite, which has no RLS, the same checks assert the ORM filter instead,
   so no check is skipped on either engine.

The audit log refuses UPDATE and DELETE on both engines.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Uuid, bindparam, delete, event, func, inspect, select, text, tuple_, update
from sqlalchemy.exc import DBAPIError

from tests.factories import unique
from xynap.core.db import Base, TenantMixin, TenantOptionalMixin, TenantViolation, XSession, tenant_tables

BACKEND = os.environ.get("XYNAP_TEST_DB", "sqlite")
POSTGRES = BACKEND == "postgresql"


def sql(statement: str) -> Any:
    """Raw SQL whose ``:a`` / ``:id`` parameters are UUIDs (SQLite stores them as hex strings)."""
    clause = text(statement)
    names = [name for name in ("a", "id") if f":{name}" in statement]
    return clause.bindparams(*(bindparam(name, type_=Uuid()) for name in names))


@dataclass
class Walls:
    a: uuid.UUID
    b: uuid.UUID
    a_users: list[uuid.UUID]
    tables: list[str]  # live tables with a tenant_id column


def model_of(table: str) -> type | None:
    return next((m.class_ for m in Base.registry.mappers if getattr(m.class_, "__tablename__", None) == table), None)


async def live_tenant_tables(runtime: Any) -> list[str]:
    def find(conn: Any) -> list[str]:
        insp = inspect(conn)
        return sorted(t for t in insp.get_table_names() if any(c["name"] == "tenant_id" for c in insp.get_columns(t)))

    async with runtime.db.engine.connect() as conn:
        return await conn.run_sync(find)


async def _fill_kernel_tables(runtime: Any, tenant_id: uuid.UUID) -> None:
    """Rows of tenant A in the kernel's tenant tables that demo data does not touch."""
    from xynap.core.kernel_models import AuditRecord, Job, OutboxEvent
    from xynap.platform.catalog.models import TenantAddon
    from xynap.platform.settings.models import TenantSetting

    now = dt.datetime.now(dt.UTC)
    async with runtime.db.tenant_session(tenant_id) as session:
        session.add(AuditRecord(action="rls.probe", actor_kind="system"))
        session.add(OutboxEvent(name="rls.probe", payload={}, dispatched_at=now))  # already dispatched
        session.add(Job(name="rls.probe", status="dead", attempts=1, max_attempts=1, finished_at=now))
        session.add(TenantSetting(key="company.locale", value="en"))
        session.add(TenantAddon(addon_type="storage", quantity=1, price_monthly=Decimal("1.00"), activated_at=now))


@pytest.fixture(scope="module")
async def walls(runtime) -> Walls:
    """Tenant A (the demo company plus kernel rows: a row in every tenant table) and tenant B."""
    from xynap.platform.demo import seed_demo
    from xynap.platform.tenants.service import create_tenant
    from xynap.platform.users.models import User

    result = await seed_demo(runtime, slug=unique("rls-a"), strict=True)
    a = result.tenant_id
    await _fill_kernel_tables(runtime, a)
    async with runtime.db.platform_session() as session:
        b = (await create_tenant(session, slug=unique("rls-b"), name="Tenant B", status="active")).id
    async with runtime.db.tenant_session(b) as session:
        session.add(User(email="b@example.com", name="B", role="admin"))

    tables = await live_tenant_tables(runtime)
    empty = []
    async with runtime.db.platform_session() as session:
        for table in tables:
            count = await session.scalar(sql(f"SELECT count(*) FROM {table} WHERE tenant_id = :a"), {"a": a})
            if not count:
                empty.append(table)
    assert not empty, (f"tenant A has no rows in {empty}, so the walls cannot be shown to hold there: "
                       "add demo data (a module's `demo` hook) or a row in _fill_kernel_tables")
    return Walls(a=a, b=b, a_users=list(result.users.values()), tables=tables)


# --- the ORM wall covers every table ------------------------------------------------------------------


async def test_every_table_with_tenant_id_is_filtered_by_the_session(walls: Walls):
    assert "users" in walls.tables and "example_items" in walls.tables
    registered = set(tenant_tables())
    unfiltered = [t for t in walls.tables if t not in registered]
    assert not unfiltered, (f"tables {unfiltered} have a tenant_id column but no model with TenantMixin or "
                            "TenantOptionalMixin maps them: the session does not filter them")
    for table in walls.tables:
        cls = model_of(table)
        assert issubclass(cls, TenantMixin | TenantOptionalMixin), table
    missing = sorted(registered - set(walls.tables))
    assert not missing, f"tenant models without a table in the migrated database (missing migration?): {missing}"


async def _orm_sees_nothing_of_a(runtime: Any, walls: Walls, viewer: uuid.UUID | None) -> None:
    """In a session bound to ``viewer`` (tenant B, or no tenant at all), the ORM returns none of tenant
    A's rows, in any tenant table."""
    leaks = []
    for table in walls.tables:
        cls = model_of(table)
        mapper = inspect(cls)  # the key is ``id`` mostly; derived rows are keyed by their content
        columns = [mapper.get_property_by_column(c).class_attribute for c in mapper.primary_key]  # ORM: filtered
        key = tuple_(*columns)
        async with runtime.db.session(platform=True) as session:
            a_ids = [tuple(row) for row in await session.execute(select(*columns).where(cls.tenant_id == walls.a))]
        assert a_ids, table
        async with runtime.db.session(tenant_id=viewer) as session:
            seen = list(await session.execute(select(*columns).where(key.in_(a_ids))))
            seen += list(await session.execute(select(*columns).where(cls.tenant_id == walls.a)))
            counted = await session.scalar(select(func.count()).select_from(cls).where(cls.tenant_id == walls.a))
            got = await session.get(cls, a_ids[0])
        if seen or counted or got is not None:
            leaks.append(f"{table}: {len(seen)} rows, count {counted}, get {got is not None}")
    who = "tenant B's session" if viewer else "a session bound to no tenant"
    assert not leaks, f"{who} sees tenant A's rows through the ORM: " + "; ".join(leaks)


async def test_orm_filter_hides_other_tenants_rows(runtime, walls: Walls):
    await _orm_sees_nothing_of_a(runtime, walls, walls.b)


async def test_a_session_bound_to_no_tenant_sees_no_tenant_rows(runtime, walls: Walls):
    # e.g. an anonymous request on the platform host: neither a tenant nor platform staff
    await _orm_sees_nothing_of_a(runtime, walls, None)


async def test_orm_filter_guards_bulk_writes_and_inserts(runtime, walls: Walls):
    from xynap.platform.users.models import Team, User

    async with runtime.db.session(tenant_id=walls.b) as session:
        changed = await session.execute(update(User).where(User.tenant_id == walls.a).values(name="hacked"),
                                        execution_options={"synchronize_session": False})
        removed = await session.execute(delete(User).where(User.id.in_(walls.a_users)),
                                        execution_options={"synchronize_session": False})
        await session.commit()
    assert changed.rowcount == 0 and removed.rowcount == 0

    async with runtime.db.session(tenant_id=walls.b) as session:
        session.add(Team(tenant_id=walls.a, name="Planted by B"))
        with pytest.raises(TenantViolation):
            await session.flush()

    async with runtime.db.session(platform=True) as session:
        names = set(await session.scalars(select(User.name).where(User.tenant_id == walls.a)))
        planted = await session.scalar(select(func.count()).select_from(Team).where(Team.name == "Planted by B"))
    assert "hacked" not in names and len(names) >= len(walls.a_users)
    assert planted == 0


# --- the database wall --------------------------------------------------------------------------------


async def test_row_level_security_is_forced_on_every_tenant_table(runtime, walls: Walls):
    if not POSTGRES:  # SQLite has no RLS: the ORM filter is the wall, and it must hold everywhere
        await _orm_sees_nothing_of_a(runtime, walls, walls.b)
        return
    async with runtime.db.engine.connect() as conn:
        flags = {row.relname: (row.relrowsecurity, row.relforcerowsecurity) for row in await conn.execute(text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"))}
        policies: dict[str, set[str]] = {}
        for row in await conn.execute(text(
                "SELECT tablename, policyname, cmd FROM pg_policies WHERE schemaname = current_schema()")):
            policies.setdefault(row.tablename, set()).add(row.policyname)
    problems = []
    for table in walls.tables:
        enabled, forced = flags.get(table, (False, False))
        if not enabled:
            problems.append(f"{table}: row level security not enabled")
        if not forced:
            problems.append(f"{table}: row level security not forced (the owning role bypasses it)")
        if not policies.get(table):
            problems.append(f"{table}: no policy (call protect_tenant_tables in its migration)")
    assert not problems, "\n".join(problems)


async def test_the_application_role_cannot_bypass_the_wall(runtime):
    if not POSTGRES:
        # SQLite: every session the runtime hands out is an XSession carrying the filter and the stamp
        from xynap.core import db as core_db

        session = runtime.db.session()
        try:
            assert isinstance(session.sync_session, XSession)
        finally:
            await session.close()
        assert event.contains(XSession, "do_orm_execute", core_db._filter_by_tenant)
        assert event.contains(XSession, "before_flush", core_db._stamp_tenant)
        return
    async with runtime.db.engine.connect() as conn:
        role = (await conn.execute(text(
            "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"))).one()
    assert role.rolsuper is False, f"the application connects as superuser {role.rolname!r}: RLS does not apply"
    assert role.rolbypassrls is False, f"the role {role.rolname!r} has BYPASSRLS"


async def test_raw_sql_in_another_tenants_session_sees_nothing(runtime, walls: Walls):
    query = sql("SELECT count(*) FROM users WHERE tenant_id = :a")
    async with runtime.db.session(tenant_id=walls.a) as session:
        own = await session.scalar(query, {"a": walls.a})
    async with runtime.db.session(platform=True) as session:
        everything = await session.scalar(query, {"a": walls.a})
    assert own == everything and own >= len(walls.a_users)  # A's users exist and A sees them

    if not POSTGRES:
        # SQLite has no second wall below the ORM: assert the ORM one for the same question
        from xynap.platform.users.models import User

        async with runtime.db.session(tenant_id=walls.b) as session:
            assert await session.scalar(select(func.count(User.id)).where(User.tenant_id == walls.a)) == 0
        return

    async with runtime.db.session(tenant_id=walls.b) as session:
        assert await session.scalar(query, {"a": walls.a}) == 0
        for table in walls.tables:  # every tenant table, not only users
            count = await session.scalar(sql(f"SELECT count(*) FROM {table} WHERE tenant_id = :a"), {"a": walls.a})
            assert count == 0, f"raw SQL in tenant B's session sees {count} rows of tenant A in {table}"
    async with runtime.db.session() as session:  # bound to no tenant and not platform: sees no tenant rows
        assert await session.scalar(query, {"a": walls.a}) == 0


async def test_raw_sql_in_another_tenants_session_cannot_write(runtime, walls: Walls):
    from xynap.platform.users.models import Team

    name = unique("planted-")
    if not POSTGRES:
        async with runtime.db.session(tenant_id=walls.b) as session:
            session.add(Team(tenant_id=walls.a, name=name))
            with pytest.raises(TenantViolation):
                await session.flush()
    else:
        now = dt.datetime.now(dt.UTC)
        async with runtime.db.session(tenant_id=walls.b) as session:
            with pytest.raises(DBAPIError, match="row-level security"):
                await session.execute(sql(
                    "INSERT INTO teams (id, name, description, created_at, updated_at, version, tenant_id) "
                    "VALUES (:id, :name, NULL, :now, :now, 1, :a)"),
                    {"id": uuid.uuid4(), "name": name, "now": now, "a": walls.a})
        async with runtime.db.session(tenant_id=walls.b) as session:
            changed = await session.execute(sql("UPDATE users SET name = 'hacked' WHERE tenant_id = :a"),
                                            {"a": walls.a})
            removed = await session.execute(sql("DELETE FROM team_members WHERE tenant_id = :a"), {"a": walls.a})
            await session.commit()
        assert changed.rowcount == 0 and removed.rowcount == 0

    async with runtime.db.session(platform=True) as session:
        assert await session.scalar(select(func.count()).select_from(Team).where(Team.name == name)) == 0
        assert await session.scalar(sql("SELECT count(*) FROM users WHERE tenant_id = :a AND name = 'hacked'"),
                                    {"a": walls.a}) == 0
        assert await session.scalar(sql("SELECT count(*) FROM team_members WHERE tenant_id = :a"), {"a": walls.a})


# --- the audit log is append-only ---------------------------------------------------------------------


async def test_audit_log_refuses_update_and_delete(runtime, walls: Walls):
    from xynap.core.audit import audit
    from xynap.core.kernel_models import AuditRecord

    async with runtime.db.platform_session() as session:
        record = audit(session, "rls.append_only_probe", tenant_id=walls.a, actor_kind="system")
        await session.flush()
        record_id = record.id

    for statement in ("UPDATE audit_log SET action = 'tampered' WHERE id = :id",
                      "DELETE FROM audit_log WHERE id = :id"):
        async with runtime.db.session(platform=True) as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(sql(statement), {"id": record_id})
    async with runtime.db.session(platform=True) as session:  # through the ORM as well
        obj = await session.get(AuditRecord, record_id)
        await session.delete(obj)
        with pytest.raises(DBAPIError, match="append-only"):
            await session.flush()

    async with runtime.db.session(platform=True) as session:
        kept = await session.get(AuditRecord, record_id)
        assert kept is not None and kept.action == "rls.append_only_probe"
