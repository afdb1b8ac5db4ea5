"""search: the search_documents index (tsvector + GIN on PostgreSQL, FTS5 on SQLite), backfilled

Revision ID: search_0001
Revises:
Create Date: 2026-11-22 03:00:00

The search component's own branch (label ``search``). It runs after the contacts and worklog
branches' first revisions so that their existing rows can be backfilled into the index.
"""

import logging

import sqlalchemy as sa
import sqlalchemy.exc
import sqlalchemy.orm
from alembic import op
from sqlalchemy.dialects import postgresql

from xynap.migrations.helpers import protect_tenant_tables

revision = "search_0001"
down_revision = None
branch_labels = ("search",)
depends_on = ("0002", "contacts_0001", "worklog_0001")

log = logging.getLogger("alembic.search")

# SQLite: an external-content FTS5 table over search_documents, kept in step by triggers, so every
# write of the index (batched upserts, deletes, rebuilds) updates it without a second code path.
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, content='search_documents', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
    "INSERT INTO search_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO search_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
)


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("subtitle", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_search_documents_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="fk_search_documents_owner_id_users",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_search_documents"),
        sa.UniqueConstraint("type", "entity_id", name="uq_search_documents_type_entity_id"),
    )
    op.create_index("ix_search_documents_tenant_id", "search_documents", ["tenant_id"])
    op.create_index("ix_search_documents_owner_id", "search_documents", ["owner_id"])
    op.create_index("ix_search_documents_tenant_type_updated_at", "search_documents",
                    ["tenant_id", "type", "updated_at"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # The tsvectors live in a side table without RLS: on a table with policies PostgreSQL never uses
        # an index for the (not leakproof) @@ operator. Reads always join search_documents (RLS).
        op.create_table(
            "search_vectors",
            sa.Column("doc_id", sa.BigInteger(), nullable=False),
            sa.Column("tsv", postgresql.TSVECTOR(), nullable=False),
            sa.ForeignKeyConstraint(["doc_id"], ["search_documents.id"], ondelete="CASCADE",
                                    name="fk_search_vectors_doc_id_search_documents"),
            sa.PrimaryKeyConstraint("doc_id", name="pk_search_vectors"),
        )
        op.execute("CREATE INDEX ix_search_vectors_tsv ON search_vectors USING gin (tsv)")
    else:
        for sql in SQLITE_FTS:
            op.execute(sql)
    protect_tenant_tables("search_documents")
    _backfill(bind)


def _backfill(bind: sa.engine.Connection) -> None:
    """Index the rows that exist already, with the sources registered by the installed components.

    It runs the current code's models, so a component whose later revision is still pending may not
    be readable yet: that type is skipped with a warning (``xynap search reindex`` fills it later).
    """
    from xynap.core import search
    from xynap.shared.search.service import IndexWriter

    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT set_config('xynap.platform', 'on', true)"))
    writer = IndexWriter()
    inspector = sa.inspect(bind)
    for source in search.sources():
        table = source.model.__tablename__
        if not inspector.has_table(table) or bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first() is None:
            continue
        try:
            with bind.begin_nested(), sa.orm.Session(bind=bind) as session:
                last = None
                while True:
                    stmt = sa.select(source.model).order_by(source.model.id).limit(1000)
                    if last is not None:
                        stmt = stmt.where(source.model.id > last)
                    objects = list(session.scalars(stmt))
                    if not objects:
                        break
                    writer.upsert(bind, [source.document(o) for o in objects])
                    last = objects[-1].id
                    session.expunge_all()
                # the session holds its own SAVEPOINT around the rows written on `bind`: keep them
                session.commit()
        except sa.exc.DBAPIError as exc:
            log.warning("search backfill of %r skipped (%s); run `xynap search reindex`", source.type, exc)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_table("search_vectors")
    else:
        for name in ("search_documents_ai", "search_documents_ad", "search_documents_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_documents")
