"""contacts: contact_imports.files_removed_at (import files are deleted after the retention period)

Revision ID: contacts_0005
Revises: contacts_0004
Create Date: 2026-11-22 08:30:00

Why: the daily ``contacts.imports.cleanup`` job deletes the uploaded file, the spool and the error report of
imports that ended (or were abandoned) more than the retention period ago, but keeps the import row and its
counts; the column records when, so the API can answer "error report no longer available" (410) instead of
failing on a missing file. A nullable column: added in place on both engines.
"""

import sqlalchemy as sa
from alembic import op

revision = "contacts_0005"
down_revision = "contacts_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contact_imports", sa.Column("files_removed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact_imports") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("files_removed_at")
