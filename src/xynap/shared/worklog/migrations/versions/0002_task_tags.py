"""worklog: task_tags (tags on tasks)

Revision ID: worklog_0002
Revises: worklog_0001
Create Date: 2026-11-22 03:50:00

Links tasks to the shared tags (table ``tags``, created by the contacts branch, hence the
dependency on ``contacts_0001``).
"""

import sqlalchemy as sa
from alembic import op

from xynap.migrations.helpers import protect_tenant_tables

revision = "worklog_0002"
down_revision = "worklog_0001"
branch_labels = None
depends_on = "contacts_0001"


def upgrade() -> None:
    op.create_table(
        "task_tags",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_tags")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_task_tags_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_task_tags_task_id_tasks"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_task_tags_tag_id_tags"), ondelete="CASCADE"),
        sa.UniqueConstraint("task_id", "tag_id", name=op.f("uq_task_tags_task_id_tag_id")),
    )
    with op.batch_alter_table("task_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_tags_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_task_tags_task_id"), ["task_id"], unique=False)
        batch_op.create_index("ix_task_tags_tag_task", ["tag_id", "task_id"], unique=False)

    protect_tenant_tables("task_tags")


def downgrade() -> None:
    op.drop_table("task_tags")
