"""example: the example_items table

Revision ID: example_0001
Revises:
Create Date: 2026-11-22 10:00:00

The module's own Alembic branch (label ``example``). It starts from nothing but depends on the
kernel's first revision, so ``tenants`` and ``users`` exist before its foreign keys are made.
"""

import sqlalchemy as sa
from alembic import op

from xynap.migrations.helpers import protect_tenant_tables

revision = "example_0001"
down_revision = None
branch_labels = ("example",)
depends_on = "0001"


def upgrade() -> None:
    op.create_table(
        "example_items",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_example_items_owner_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_example_items_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_example_items")),
    )
    with op.batch_alter_table("example_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_example_items_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_example_items_tenant_id"), ["tenant_id"], unique=False)
    protect_tenant_tables("example_items")


def downgrade() -> None:
    with op.batch_alter_table("example_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_example_items_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_example_items_owner_id"))
    op.drop_table("example_items")
