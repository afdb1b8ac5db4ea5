"""crm: leads, lead tags, web forms, scoring rules and history, lead settings (routing, threshold)

Revision ID: crm_0002
Revises: crm_0001
Create Date: 2026-11-22 03:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from xynap.migrations.helpers import protect_tenant_tables

revision = "crm_0002"
down_revision = "crm_0001"
branch_labels = None
depends_on = None

TABLES = (
    "crm_lead_forms",
    "crm_lead_score_rules",
    "crm_lead_settings",
    "crm_leads",
    "crm_lead_score_events",
    "crm_lead_tags",
)


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "crm_lead_forms",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("form_key", sa.String(length=40), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("extra_fields", _json(), nullable=False),
        sa.Column("tag_ids", _json(), nullable=False),
        sa.Column("redirect_url", sa.String(length=1000), nullable=True),
        sa.Column("success_message", sa.String(length=500), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_lead_forms_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_lead_forms")),
        sa.UniqueConstraint("form_key", name=op.f("uq_crm_lead_forms_form_key")),
    )
    op.create_index(op.f("ix_crm_lead_forms_tenant_id"), "crm_lead_forms", ["tenant_id"], unique=False)
    op.create_table(
        "crm_lead_score_rules",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=80), nullable=False),
        sa.Column("operator", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_lead_score_rules_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_lead_score_rules")),
    )
    op.create_index(op.f("ix_crm_lead_score_rules_tenant_id"), "crm_lead_score_rules", ["tenant_id"], unique=False)
    op.create_table(
        "crm_lead_settings",
        sa.Column("score_threshold", sa.Integer(), nullable=False),
        sa.Column("routing_rules", _json(), nullable=False),
        sa.Column("round_robin_user_ids", _json(), nullable=False),
        sa.Column("fallback_owner_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fallback_owner_id"],
            ["users.id"],
            name=op.f("fk_crm_lead_settings_fallback_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_lead_settings_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_lead_settings")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_crm_lead_settings_tenant_id")),
    )
    op.create_index(op.f("ix_crm_lead_settings_tenant_id"), "crm_lead_settings", ["tenant_id"], unique=False)
    op.create_table(
        "crm_leads",
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("form_id", sa.Uuid(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("matched_rules", _json(), nullable=False),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("converted_contact_id", sa.Uuid(), nullable=True),
        sa.Column("converted_organization_id", sa.Uuid(), nullable=True),
        sa.Column("converted_deal_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_id"], ["crm_lead_forms.id"], name=op.f("fk_crm_leads_form_id_crm_lead_forms"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_crm_leads_owner_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_leads_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_leads")),
    )
    op.create_index(op.f("ix_crm_leads_email"), "crm_leads", ["email"], unique=False)
    op.create_index(op.f("ix_crm_leads_owner_id"), "crm_leads", ["owner_id"], unique=False)
    op.create_index(op.f("ix_crm_leads_tenant_id"), "crm_leads", ["tenant_id"], unique=False)
    op.create_index(
        "ix_crm_leads_tenant_owner_routed", "crm_leads", ["tenant_id", "owner_id", "routed_at"], unique=False
    )
    op.create_index(
        "ix_crm_leads_tenant_status_created", "crm_leads", ["tenant_id", "status", "created_at", "id"], unique=False
    )
    op.create_table(
        "crm_lead_score_events",
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=True),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["crm_leads.id"], name=op.f("fk_crm_lead_score_events_lead_id_crm_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_lead_score_events_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_lead_score_events")),
    )
    op.create_index("ix_crm_lead_score_events_lead", "crm_lead_score_events", ["lead_id", "created_at"], unique=False)
    op.create_index(op.f("ix_crm_lead_score_events_tenant_id"), "crm_lead_score_events", ["tenant_id"], unique=False)
    op.create_table(
        "crm_lead_tags",
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["crm_leads.id"], name=op.f("fk_crm_lead_tags_lead_id_crm_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_crm_lead_tags_tag_id_tags"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_lead_tags_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_lead_tags")),
        sa.UniqueConstraint("lead_id", "tag_id", name=op.f("uq_crm_lead_tags_lead_id_tag_id")),
    )
    op.create_index(op.f("ix_crm_lead_tags_lead_id"), "crm_lead_tags", ["lead_id"], unique=False)
    op.create_index("ix_crm_lead_tags_tag_lead", "crm_lead_tags", ["tag_id", "lead_id"], unique=False)
    op.create_index(op.f("ix_crm_lead_tags_tenant_id"), "crm_lead_tags", ["tenant_id"], unique=False)
    protect_tenant_tables(*TABLES)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
