"""worklog: note_tags (tags on notes)

Revision ID: worklog_0003
Revises: worklog_0002
Create Date: 2026-11-22 05:40:00

Links notes to the shared tags, the same way ``task_tags`` links tasks (the table ``tags`` comes from
the contacts branch, which worklog_0002 already depends on).
"""

import sqlalchemy as sa
from alembic import op

from xynap.migrations.helpers import protect_tenant_tables

revision = "worklog_0003"
down_revision = "worklog_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "note_tags",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("note_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_tags")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_note_tags_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["note_id"], ["notes.id"], name=op.f("fk_note_tags_note_id_notes"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_note_tags_tag_id_tags"), ondelete="CASCADE"),
        sa.UniqueConstraint("note_id", "tag_id", name=op.f("uq_note_tags_note_id_tag_id")),
    )
    with op.batch_alter_table("note_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_tags_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_note_tags_note_id"), ["note_id"], unique=False)
        batch_op.create_index("ix_note_tags_tag_note", ["tag_id", "note_id"], unique=False)

    protect_tenant_tables("note_tags")


def downgrade() -> None:
    op.drop_table("note_tags")
