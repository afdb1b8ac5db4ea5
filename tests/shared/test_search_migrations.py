"""search_0003 on a database with data, both engines: PostgreSQL's vectors are rewritten into tenant- and
shard-qualified lexemes (and back into the former format by the downgrade); SQLite's FTS5 index is left
as it is."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from alembic import command

from tests.conftest import BACKEND
from tests.shared.contacts.test_contacts_migrations import _fresh_url, _run
from xynap.core.migrate import alembic_config
from xynap.platform.tenants.models import Tenant
from xynap.shared.search import lexemes
from xynap.shared.search.models import SearchDocument


def test_vectors_are_rewritten_with_qualified_lexemes(request, settings, tmp_path):
    url = _fresh_url(request, tmp_path)
    cfg = alembic_config(settings, url)
    command.upgrade(cfg, "heads")
    command.downgrade(cfg, "search_0002")
    tenant, entity = uuid.uuid4(), uuid.uuid4()

    async def fill(conn: Any) -> None:
        await conn.execute(sa.insert(Tenant.__table__).values(id=tenant, slug="mig", name="Mig", settings={}))
        doc = (await conn.execute(sa.insert(SearchDocument.__table__).values(
            tenant_id=tenant, type="contact", entity_id=entity, title="Kappenberg Häuser", subtitle="",
            body="Logistik", updated_at=dt.datetime.now(dt.UTC)).returning(SearchDocument.__table__.c.id))).scalar()
        if conn.dialect.name == "postgresql":  # the former format, as search_0001 wrote it
            await conn.execute(sa.text(
                "INSERT INTO search_vectors (doc_id, tsv) VALUES (:d, to_tsvector('simple', 'kappenberg häuser') "
                "|| array_to_tsvector(ARRAY[:t, '#ycontact']))"), {"d": doc, "t": f"#t{tenant.hex}"})

    async def lexemes_of(conn: Any) -> list[str]:
        if conn.dialect.name != "postgresql":
            rows = await conn.execute(sa.text("SELECT rowid FROM search_fts WHERE search_fts MATCH 'kappenberg'"))
            return [str(r[0]) for r in rows]
        rows = await conn.execute(sa.text("SELECT unnest(tsvector_to_array(tsv)) FROM search_vectors"))
        return sorted(r[0] for r in rows)

    _run(url, fill)
    before = _run(url, lexemes_of)
    command.upgrade(cfg, "heads")
    after = _run(url, lexemes_of)
    if BACKEND == "postgresql":
        head = lexemes.prefix(tenant, lexemes.shard_of(entity))
        assert before != after and all(lexeme.startswith(head) for lexeme in after)
        assert {head + w for w in ("kappenberg", "häuser", "haus", "logistik", "logist", "#ycontact")} <= set(after)
        command.downgrade(cfg, "search_0002")
        former = _run(url, lexemes_of)
        assert {"kappenberg", "logistik", f"#t{tenant.hex}", "#ycontact"} <= set(former)
        assert not any(lexeme.startswith(head) for lexeme in former)
    else:  # FTS5 is not touched: the document is found as before
        assert before == after and len(after) == 1

