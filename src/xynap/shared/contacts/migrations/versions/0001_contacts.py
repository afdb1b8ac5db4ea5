"""contacts: contacts, contact_relations, tags, contact_tags, custom_field_definitions

Revision ID: contacts_0001
Revises:
Create Date: 2026-11-22 01:10:00

The contacts component's own Alembic branch (label ``contacts``). It depends on the kernel's
revision 0002, so ``tenants`` and ``users`` exist before its foreign keys are made.
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from xynap.migrations.helpers import protect_tenant_tables

revision = "contacts_0001"
down_revision = None
branch_labels = ("contacts",)
depends_on = "0002"

TABLES = ("contacts", "contact_relations", "tags", "contact_tags", "custom_field_definitions")


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def _base(table: str) -> list[Any]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def _timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "contacts",
        *_base("contacts"),
        *_timestamps(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("display_name", sa.String(length=300), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("emails", _json(), nullable=True),
        sa.Column("phones", _json(), nullable=True),
        sa.Column("addresses", _json(), nullable=True),
        sa.Column("custom_fields", _json(), nullable=True),
        sa.Column("avatar_url", sa.String(length=1000), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("email_keys", sa.Text(), nullable=False),
        sa.Column("phone_keys", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="fk_contacts_owner_id_users", ondelete="SET NULL"),
    )
    op.create_index("ix_contacts_tenant_id", "contacts", ["tenant_id"])
    op.create_index("ix_contacts_owner_id", "contacts", ["owner_id"])
    op.create_index("ix_contacts_tenant_display_name", "contacts", ["tenant_id", "display_name", "id"])
    op.create_index("ix_contacts_tenant_created_at", "contacts", ["tenant_id", "created_at", "id"])

    op.create_table(
        "contact_relations",
        *_base("contact_relations"),
        *_timestamps(),
        sa.Column("contact_a_id", sa.Uuid(), nullable=False),
        sa.Column("contact_b_id", sa.Uuid(), nullable=False),
        sa.Column("relation_type", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("position", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["contact_a_id"], ["contacts.id"], name="fk_contact_relations_contact_a_id_contacts",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_b_id"], ["contacts.id"], name="fk_contact_relations_contact_b_id_contacts",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_contact_relations_tenant_id", "contact_relations", ["tenant_id"])
    op.create_index("ix_contact_relations_contact_a_id", "contact_relations", ["contact_a_id"])
    op.create_index("ix_contact_relations_contact_b_id", "contact_relations", ["contact_b_id"])

    op.create_table(
        "tags",
        *_base("tags"),
        *_timestamps(),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("color", sa.String(length=20), nullable=False),
        sa.UniqueConstraint("tenant_id", "name", name="uq_tags_tenant_id_name"),
    )
    op.create_index("ix_tags_tenant_id", "tags", ["tenant_id"])

    op.create_table(
        "contact_tags",
        *_base("contact_tags"),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name="fk_contact_tags_contact_id_contacts",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name="fk_contact_tags_tag_id_tags", ondelete="CASCADE"),
        sa.UniqueConstraint("contact_id", "tag_id", name="uq_contact_tags_contact_id_tag_id"),
    )
    op.create_index("ix_contact_tags_tenant_id", "contact_tags", ["tenant_id"])
    op.create_index("ix_contact_tags_contact_id", "contact_tags", ["contact_id"])
    op.create_index("ix_contact_tags_tag_id", "contact_tags", ["tag_id"])

    op.create_table(
        "custom_field_definitions",
        *_base("custom_field_definitions"),
        *_timestamps(),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("options", _json(), nullable=True),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.UniqueConstraint("tenant_id", "entity", "key", name="uq_custom_field_definitions_tenant_id_entity_key"),
    )
    op.create_index("ix_custom_field_definitions_tenant_id", "custom_field_definitions", ["tenant_id"])

    protect_tenant_tables(*TABLES)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
