"""contacts_0006 on a database with data, both engines: match keys move to the (contact_id, kind, key)
primary key (a duplicate row is dropped, the rest kept), tag links to (contact_id, tag_id), the duplicate
tenant indexes and keys go, and the downgrade restores ids and the old indexes."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import BACKEND
from xynap.core.migrate import alembic_config
from xynap.platform.tenants.models import Tenant
from xynap.shared.contacts.models import Contact
from xynap.shared.tags.models import Tag


def _fresh_url(request: Any, tmp_path: Path) -> str:
    if BACKEND == "postgresql":
        return request.getfixturevalue("pg_server").create_database(f"xynap_mig_{uuid.uuid4().hex[:8]}")
    return f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}"


async def _in_db(url: str, work: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                await conn.execute(sa.text("SELECT set_config('xynap.platform', 'on', true)"))
            return await work(conn)
    finally:
        await engine.dispose()


def _run(url: str, work: Any) -> Any:
    return asyncio.run(_in_db(url, work))


def _inspect(url: str, fn: Any) -> Any:
    async def work(conn: Any) -> Any:
        return await conn.run_sync(lambda sync: fn(sa.inspect(sync)))
    return _run(url, work)


def _keys(url: str) -> list[tuple[str, str]]:
    async def work(conn: Any) -> Any:
        return sorted(tuple(r) for r in await conn.execute(sa.text("SELECT kind, key FROM contact_match_keys")))
    return _run(url, work)


def _links(url: str) -> list[tuple[uuid.UUID, uuid.UUID]]:
    async def work(conn: Any) -> Any:
        rows = await conn.execute(sa.text("SELECT contact_id, tag_id FROM contact_tags"))
        return [tuple(uuid.UUID(str(v)) for v in row) for row in rows]
    return _run(url, work)


def _index_names(inspector: Any, table: str) -> set[str]:
    return {i["name"] for i in inspector.get_indexes(table)}


def test_match_keys_migrate_with_their_rows(request, settings, tmp_path):
    url = _fresh_url(request, tmp_path)
    cfg = alembic_config(settings, url)
    command.upgrade(cfg, "heads")
    command.downgrade(cfg, "contacts_0005")
    tenant, contact, tag = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    async def fill(conn: Any) -> None:
        await conn.execute(sa.insert(Tenant.__table__).values(id=tenant, slug="mig", name="Mig", settings={}))
        await conn.execute(sa.insert(Contact.__table__).values(id=contact, tenant_id=tenant, display_name="Anna"))
        await conn.execute(sa.insert(Tag.__table__).values(id=tag, tenant_id=tenant, name="VIP"))
        hexed = conn.dialect.name == "sqlite"  # SQLAlchemy's Uuid stores 32 hex digits there
        await conn.execute(sa.text("INSERT INTO contact_tags (id, tenant_id, contact_id, tag_id) "
                                   "VALUES (:i, :t, :c, :g)"),
                           {"i": uuid.uuid4().hex if hexed else uuid.uuid4(), "t": tenant.hex if hexed else tenant,
                            "c": contact.hex if hexed else contact, "g": tag.hex if hexed else tag})
        for kind, key in (("email", "anna@example.com"), ("name", "anna"), ("name", "anna")):  # one twice
            await conn.execute(
                sa.text("INSERT INTO contact_match_keys (id, tenant_id, contact_id, kind, key) "
                        "VALUES (:i, :t, :c, :k, :v)"),
                {"i": uuid.uuid4().hex if hexed else uuid.uuid4(), "t": tenant.hex if hexed else tenant,
                 "c": contact.hex if hexed else contact, "k": kind, "v": key})

    _run(url, fill)
    command.upgrade(cfg, "heads")
    pk = _inspect(url, lambda i: i.get_pk_constraint("contact_match_keys")["constrained_columns"])
    assert pk == ["contact_id", "kind", "key"]
    assert "id" not in _inspect(url, lambda i: {c["name"] for c in i.get_columns("contact_match_keys")})
    assert _inspect(url, lambda i: [fk["referred_table"] for fk in i.get_foreign_keys("contact_match_keys")]) \
        == ["contacts"]
    keys_indexes = _inspect(url, lambda i: _index_names(i, "contact_match_keys"))
    assert "ix_contact_match_keys_lookup" in keys_indexes and "ix_contact_match_keys_tenant_id" not in keys_indexes
    assert "ix_contacts_tenant_id" not in _inspect(url, lambda i: _index_names(i, "contacts"))
    assert "ix_search_documents_tenant_id" not in _inspect(url, lambda i: _index_names(i, "search_documents"))
    assert _keys(url) == [("email", "anna@example.com"), ("name", "anna")]  # the duplicate went, nothing else
    pk = _inspect(url, lambda i: i.get_pk_constraint("contact_tags")["constrained_columns"])
    assert pk == ["contact_id", "tag_id"]
    assert sorted(_inspect(url, lambda i: [fk["referred_table"] for fk in i.get_foreign_keys("contact_tags")])) \
        == ["contacts", "tags"]
    assert _inspect(url, lambda i: _index_names(i, "contact_tags")) >= {"ix_contact_tags_tag_tenant_contact"}
    assert _links(url) == [(contact, tag)]

    command.downgrade(cfg, "contacts_0005")
    assert _inspect(url, lambda i: i.get_pk_constraint("contact_match_keys")["constrained_columns"]) == ["id"]
    assert {"ix_contact_match_keys_tenant_id", "ix_contact_match_keys_contact_id"} <= _inspect(
        url, lambda i: _index_names(i, "contact_match_keys"))
    assert _keys(url) == [("email", "anna@example.com"), ("name", "anna")]
    assert _inspect(url, lambda i: i.get_pk_constraint("contact_tags")["constrained_columns"]) == ["id"]
    assert _links(url) == [(contact, tag)]
