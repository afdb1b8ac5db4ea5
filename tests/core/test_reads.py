"""The lean read path: read-only sessions and single-record reads (xynap.core.reads).

On PostgreSQL the app's read-only sessions run in autocommit, remember the RLS context per pooled
connection and read single records through their own asyncpg pool; on SQLite the same calls go
through the ORM. Either way the tenant wall must hold exactly as for the ORM session, including
when one pooled connection serves tenant A and then tenant B.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import select, text

from xynap.core.db import Database, ReadOnlyViolation
from xynap.core.reads import FastReader, RecordSnapshot, fetch_record
from xynap.platform.users.models import User

POSTGRES = os.environ.get("XYNAP_TEST_DB", "sqlite") == "postgresql"


async def test_fetch_record_sees_only_the_sessions_tenant(runtime, factory) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    user_a = await factory.user(a)
    db = runtime.db
    await db.start_fast_reader(2)  # the app's lifespan starts it; another test's app may have stopped it
    async with db.session(tenant_id=a.id, read_only=True) as session:
        mine = await fetch_record(session, User, user_a.id)
        assert mine is not None and mine.email == user_a.email and mine.tenant_id == a.id
        if POSTGRES:
            assert isinstance(mine, RecordSnapshot)  # the fast path, not the ORM
    async with db.session(tenant_id=b.id, read_only=True) as session:
        assert await fetch_record(session, User, user_a.id) is None
    async with db.session(tenant_id=b.id) as session:  # read-write: the ORM path, same answer
        assert await fetch_record(session, User, user_a.id) is None
    async with db.session(platform=True, read_only=True) as session:
        found = await fetch_record(session, User, user_a.id)
        assert found is not None and found.id == user_a.id
    async with db.session(tenant_id=a.id, read_only=True) as session:
        assert await fetch_record(session, User, uuid.uuid4()) is None


async def test_fetch_record_applies_the_record_scope(runtime, factory) -> None:
    tenant = await factory.tenant()
    user = await factory.user(tenant)
    async with runtime.db.session(tenant_id=tenant.id, read_only=True) as session:
        assert await fetch_record(session, User, user.id, owner_column=User.id, owner_ids={user.id}) is not None
        assert await fetch_record(session, User, user.id, owner_column=User.id, owner_ids={uuid.uuid4()}) is None
        assert await fetch_record(session, User, user.id, owner_column=User.id, owner_ids=set()) is None
        assert await fetch_record(session, User, user.id, owner_column=User.id, owner_ids=None) is not None


async def test_read_only_session_refuses_writes(runtime, factory) -> None:
    tenant = await factory.tenant()
    user = await factory.user(tenant)
    async with runtime.db.session(tenant_id=tenant.id, read_only=True) as session:
        found = await session.get(User, user.id)
        found.name = "changed in a read-only session"
        with pytest.raises(ReadOnlyViolation):
            await session.flush()
        await session.rollback()
    async with runtime.db.session(tenant_id=tenant.id) as session:
        assert (await session.get(User, user.id)).name != "changed in a read-only session"


async def test_get_route_reads_the_record_and_hides_other_tenants(factory, client) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    admin_a, admin_b = await factory.member(a), await factory.member(b)
    resp = await client.get(f"/api/users/{admin_a.user_id}", headers=admin_a.headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["id"] == str(admin_a.user_id)
    resp = await client.get(f"/api/users/{admin_a.user_id}", headers=admin_b.headers)
    assert resp.status_code == 404
    assert resp.json()["code"] == "user_not_found"


async def test_one_pooled_connection_serving_two_tenants_keeps_the_wall(runtime, factory) -> None:
    """One connection, tenant A then B then the platform then A: RLS alone (no tenant filter in the
    SQL) must show each context exactly its rows, so the remembered context is never stale.
    SQLite has no RLS and no fast reader: there the reader must stay off and reads use the ORM."""
    a, b = await factory.tenant(), await factory.tenant()
    user_a, user_b = await factory.user(a), await factory.user(b)
    if not POSTGRES:
        assert runtime.db.fast_reader is None
        await runtime.db.start_fast_reader(5)
        assert runtime.db.fast_reader is None
        async with runtime.db.session(tenant_id=b.id, read_only=True) as session:
            assert isinstance(await fetch_record(session, User, user_b.id), User)
            assert await fetch_record(session, User, user_a.id) is None
        return
    reader = FastReader(runtime.db.url, runtime.db.engine.dialect, max_size=1)
    await reader.start()
    try:
        plan = reader.plan(User)
        unfiltered = plan.sql(tenant_filter=False, owner_column=None)  # RLS is the only wall left

        async def visible(tenant_id: uuid.UUID | None, platform: bool, user_id: uuid.UUID) -> bool:
            # Through get() so that the context is set (or reused) as in production ...
            await reader.get(User, uuid.uuid4(), tenant_id=tenant_id, platform=platform)
            async with reader._pool.acquire() as conn:  # ... then the same single connection, unfiltered
                return await conn.fetchrow(unfiltered, user_id) is not None

        assert await visible(a.id, False, user_a.id) and not await visible(a.id, False, user_b.id)
        assert await visible(b.id, False, user_b.id) and not await visible(b.id, False, user_a.id)
        assert await visible(None, True, user_a.id) and await visible(None, True, user_b.id)
        assert not await visible(None, False, user_a.id)
        assert await visible(a.id, False, user_a.id) and not await visible(a.id, False, user_b.id)
    finally:
        await reader.close()


async def test_read_only_and_read_write_sessions_share_a_connection_safely(runtime, factory) -> None:
    """A one-connection engine: a read-only session leaves tenant A's context on the connection
    (session-wide on PostgreSQL); a read-write session of tenant B must then see only B, with raw
    SQL (RLS alone) on PostgreSQL and through the ORM filter on SQLite."""
    a, b = await factory.tenant(), await factory.tenant()
    user_a, user_b = await factory.user(a), await factory.user(b)
    kwargs = {"pool_size": 1, "max_overflow": 0} if POSTGRES else {}
    db = Database(runtime.db.url, **kwargs)
    ids = text("SELECT id FROM users") if POSTGRES else select(User.id)
    try:
        async with db.session(tenant_id=a.id, read_only=True) as session:
            assert (await session.scalar(select(User).where(User.id == user_a.id))) is not None
        async with db.session(tenant_id=b.id) as session:
            rows = set((await session.execute(ids)).scalars().all())
            assert user_b.id in rows and user_a.id not in rows
            await session.rollback()
        async with db.session(tenant_id=a.id, read_only=True) as session:  # the memo is still true after B
            rows = set((await session.execute(ids)).scalars().all())
            assert user_a.id in rows and user_b.id not in rows
    finally:
        await db.dispose()
