"""search: no single-column tenant index on search_documents

Revision ID: search_0002
Revises: search_0001
Create Date: 2026-11-22 09:00:00

Why: ``ix_search_documents_tenant_type_updated_at`` leads with ``tenant_id`` and serves every lookup the
single-column index served; the duplicate only cost every indexed record (a contact import writes one
document per contact) an extra index insertion.
"""

from alembic import op

revision = "search_0002"
down_revision = "search_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_search_documents_tenant_id", table_name="search_documents")


def downgrade() -> None:
    op.create_index("ix_search_documents_tenant_id", "search_documents", ["tenant_id"])
