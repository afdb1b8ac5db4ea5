"""search: tsvectors of tenant- and shard-qualified lexemes, built in Python (PostgreSQL)

Revision ID: search_0003
Revises: search_0002
Create Date: 2026-11-22 12:00:00

Why: a prefix query walked every tenant's matches of its word before anything narrowed them (see
``xynap.shared.search.lexemes``). Every vector is rewritten in the new format, in batches of 2,000
documents; SQLite (FTS5) is untouched. The rewrite uses the search component's current
``vector_text``, so a later format change brings its own migration.
"""

import sqlalchemy as sa
from alembic import op

revision = "search_0003"
down_revision = "search_0002"
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from xynap.shared.search.service import vector_text

    bind.execute(sa.text("SELECT set_config('xynap.platform', 'on', true)"))  # every tenant's documents
    read = sa.text("SELECT id, tenant_id, type, entity_id, owner_id, title, body FROM search_documents "
                   "WHERE id > :last ORDER BY id LIMIT :batch")
    write = sa.text("UPDATE search_vectors SET tsv = CAST(:tsv AS tsvector) WHERE doc_id = :id")
    last = 0
    while rows := bind.execute(read, {"last": last, "batch": BATCH}).mappings().all():
        bind.execute(write, [{"id": row["id"], "tsv": vector_text(dict(row))} for row in rows])
        last = rows[-1]["id"]


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # the former format: PostgreSQL's simple and german configurations, tenant/type/owner markers
    bind.execute(sa.text("SELECT set_config('xynap.platform', 'on', true)"))
    op.execute(
        "UPDATE search_vectors v SET tsv = "
        "setweight(to_tsvector('simple'::regconfig, d.title), 'A') || "
        "setweight(to_tsvector('german'::regconfig, d.title), 'A') || "
        "setweight(to_tsvector('simple'::regconfig, d.body), 'C') || "
        "setweight(to_tsvector('german'::regconfig, d.body), 'C') || "
        "array_to_tsvector(array_remove(ARRAY['#t' || replace(d.tenant_id::text, '-', ''), '#y' || d.type, "
        "'#o' || replace(d.owner_id::text, '-', '')], NULL)) "
        "FROM search_documents d WHERE d.id = v.doc_id"
    )
