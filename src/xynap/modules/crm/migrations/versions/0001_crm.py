"""crm: pipelines, stages, deals, deal line items, stage history, deal tags

Revision ID: crm_0001
Revises:
Create Date: 2026-11-22 03:00:00

The CRM module's own Alembic branch (label ``crm``). It depends on the kernel's revision 0002
(tenants, users) and on the contacts branch (the ``tags`` table the deal tags point at).
Indexes: ``ix_crm_deals_board`` serves the board (counts, sums and first cards per stage),
``ix_crm_deals_forecast`` the forecast over open deals.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from xynap.migrations.helpers import protect_tenant_tables

revision = "crm_0001"
down_revision = None
branch_labels = ("crm",)
depends_on = ("0002", "contacts_0003")

TABLES = ("crm_pipelines", "crm_stages", "crm_deals", "crm_deal_items", "crm_deal_stage_history", "crm_deal_tags")


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "crm_pipelines",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_pipelines_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_pipelines")),
    )
    op.create_index(op.f("ix_crm_pipelines_tenant_id"), "crm_pipelines", ["tenant_id"], unique=False)
    op.create_table(
        "crm_stages",
        sa.Column("pipeline_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("color", sa.String(length=20), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("rotting_days", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["crm_pipelines.id"],
            name=op.f("fk_crm_stages_pipeline_id_crm_pipelines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_stages_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_stages")),
    )
    op.create_index("ix_crm_stages_pipeline_position", "crm_stages", ["pipeline_id", "position"], unique=False)
    op.create_index(op.f("ix_crm_stages_tenant_id"), "crm_stages", ["tenant_id"], unique=False)
    op.create_table(
        "crm_deals",
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("pipeline_id", sa.Uuid(), nullable=False),
        sa.Column("stage_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("value", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("expected_close_date", sa.Date(), nullable=True),
        sa.Column("probability", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("lost_reason", sa.Text(), nullable=True),
        sa.Column("won_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lost_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("custom_fields", _json(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("stage_entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotting_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_crm_deals_owner_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["crm_pipelines.id"],
            name=op.f("fk_crm_deals_pipeline_id_crm_pipelines"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["stage_id"], ["crm_stages.id"], name=op.f("fk_crm_deals_stage_id_crm_stages"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_deals_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_deals")),
    )
    op.create_index(
        "ix_crm_deals_board",
        "crm_deals",
        ["tenant_id", "pipeline_id", "stage_id", "status", "position"],
        unique=False,
        postgresql_include=["currency", "value", "probability"],
    )
    op.create_index(op.f("ix_crm_deals_contact_id"), "crm_deals", ["contact_id"], unique=False)
    op.create_index(
        "ix_crm_deals_forecast",
        "crm_deals",
        ["tenant_id", "status", "expected_close_date"],
        unique=False,
        postgresql_include=["stage_id", "currency", "value", "probability", "owner_id", "pipeline_id"],
    )
    op.create_index(op.f("ix_crm_deals_organization_id"), "crm_deals", ["organization_id"], unique=False)
    op.create_index(op.f("ix_crm_deals_owner_id"), "crm_deals", ["owner_id"], unique=False)
    op.create_index(op.f("ix_crm_deals_stage_id"), "crm_deals", ["stage_id"], unique=False)
    op.create_index("ix_crm_deals_tenant_created", "crm_deals", ["tenant_id", "created_at", "id"], unique=False)
    op.create_index(op.f("ix_crm_deals_tenant_id"), "crm_deals", ["tenant_id"], unique=False)
    op.create_table(
        "crm_deal_items",
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("discount_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("total", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["crm_deals.id"], name=op.f("fk_crm_deal_items_deal_id_crm_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_deal_items_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_deal_items")),
    )
    op.create_index(op.f("ix_crm_deal_items_deal_id"), "crm_deal_items", ["deal_id"], unique=False)
    op.create_index(op.f("ix_crm_deal_items_tenant_id"), "crm_deal_items", ["tenant_id"], unique=False)
    op.create_table(
        "crm_deal_stage_history",
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("pipeline_id", sa.Uuid(), nullable=False),
        sa.Column("stage_id", sa.Uuid(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("moved_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["crm_deals.id"], name=op.f("fk_crm_deal_stage_history_deal_id_crm_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["moved_by"], ["users.id"], name=op.f("fk_crm_deal_stage_history_moved_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_deal_stage_history_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_deal_stage_history")),
    )
    op.create_index("ix_crm_deal_stage_history_deal", "crm_deal_stage_history", ["deal_id", "entered_at"], unique=False)
    op.create_index(op.f("ix_crm_deal_stage_history_stage_id"), "crm_deal_stage_history", ["stage_id"], unique=False)
    op.create_index(op.f("ix_crm_deal_stage_history_tenant_id"), "crm_deal_stage_history", ["tenant_id"], unique=False)
    op.create_table(
        "crm_deal_tags",
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["crm_deals.id"], name=op.f("fk_crm_deal_tags_deal_id_crm_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_crm_deal_tags_tag_id_tags"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_deal_tags_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_deal_tags")),
        sa.UniqueConstraint("deal_id", "tag_id", name=op.f("uq_crm_deal_tags_deal_id_tag_id")),
    )
    op.create_index(op.f("ix_crm_deal_tags_deal_id"), "crm_deal_tags", ["deal_id"], unique=False)
    op.create_index("ix_crm_deal_tags_tag_deal", "crm_deal_tags", ["tag_id", "deal_id"], unique=False)
    op.create_index(op.f("ix_crm_deal_tags_tenant_id"), "crm_deal_tags", ["tenant_id"], unique=False)
    protect_tenant_tables(*TABLES)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
