"""contacts: match keys for the duplicate finder, segments, indexes for segment filters

Revision ID: contacts_0002
Revises: contacts_0001
Create Date: 2026-11-22 03:00:00

* ``contact_match_keys`` (tenant, kind, key, contact) — the duplicate finder's blocking keys and the
  custom field values (kind ``cf``, ``branche=IT``) for indexed filters, backfilled here;
* ``contact_segments`` — saved dynamic filters;
* ``contact_tags (tag_id, contact_id)`` replaces the single-column tag index ("contacts with tag X");

No GIN index on ``contacts.custom_fields``: under row-level security PostgreSQL turns only leakproof
operators into index conditions, and jsonb ``@>`` is not one, so custom field filters use the ``cf``
keys instead.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from xynap.core.ids import uuid7
from xynap.migrations.helpers import protect_tenant_tables

revision = "contacts_0002"
down_revision = "contacts_0001"
branch_labels = None
depends_on = None

TABLES = ("contact_match_keys", "contact_segments")


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def _backfill() -> None:
    """Match keys of the contacts that exist already (all tenants; RLS opened for this transaction)."""
    from types import SimpleNamespace

    from xynap.shared.contacts.duplicates import all_keys

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT set_config('xynap.platform', 'on', true)"))
    contacts = sa.table("contacts", sa.column("id", sa.Uuid()), sa.column("tenant_id", sa.Uuid()),
                        sa.column("display_name", sa.String()), sa.column("emails", _json()),
                        sa.column("phones", _json()), sa.column("custom_fields", _json()))
    keys = sa.table("contact_match_keys", sa.column("id", sa.Uuid()), sa.column("tenant_id", sa.Uuid()),
                    sa.column("contact_id", sa.Uuid()), sa.column("kind", sa.String()), sa.column("key", sa.String()))
    last = None
    while True:  # in pages by id, so that a million contacts do not sit in memory at once
        stmt = sa.select(contacts).order_by(contacts.c.id).limit(2000)
        if last is not None:
            stmt = stmt.where(contacts.c.id > last)
        rows = bind.execute(stmt).mappings().all()
        if not rows:
            break
        batch: list[dict] = []
        for row in rows:
            contact = SimpleNamespace(display_name=row["display_name"], emails=row["emails"] or [],
                                      phones=row["phones"] or [], custom_fields=row["custom_fields"] or {})
            for kind, key in all_keys(contact):  # type: ignore[arg-type]
                batch.append({"id": uuid7(), "tenant_id": row["tenant_id"], "contact_id": row["id"],
                              "kind": kind, "key": key})
        if batch:
            bind.execute(keys.insert(), batch)
        last = rows[-1]["id"]


def upgrade() -> None:
    op.create_table(
        "contact_match_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_contact_match_keys_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name="fk_contact_match_keys_contact_id_contacts",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_contact_match_keys"),
    )
    op.create_index("ix_contact_match_keys_tenant_id", "contact_match_keys", ["tenant_id"])
    op.create_index("ix_contact_match_keys_contact_id", "contact_match_keys", ["contact_id"])
    op.create_index("ix_contact_match_keys_lookup", "contact_match_keys", ["tenant_id", "kind", "key", "contact_id"])

    op.create_table(
        "contact_segments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("filter", _json(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_contact_segments_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="fk_contact_segments_owner_id_users",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_contact_segments"),
    )
    op.create_index("ix_contact_segments_tenant_id", "contact_segments", ["tenant_id"])
    op.create_index("ix_contact_segments_owner_id", "contact_segments", ["owner_id"])

    op.drop_index("ix_contact_tags_tag_id", table_name="contact_tags")
    op.create_index("ix_contact_tags_tag_contact", "contact_tags", ["tag_id", "contact_id"])

    protect_tenant_tables(*TABLES)
    _backfill()


def downgrade() -> None:
    op.drop_index("ix_contact_tags_tag_contact", table_name="contact_tags")
    op.create_index("ix_contact_tags_tag_id", "contact_tags", ["tag_id"])
    for table in reversed(TABLES):
        op.drop_table(table)
