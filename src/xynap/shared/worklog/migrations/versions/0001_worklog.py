"""worklog: tasks, notes and activities

Revision ID: worklog_0001
Revises:
Create Date: 2026-11-22 01:10:00

The branch ``worklog`` of the shared tasks component (it also holds the tables of the notes and
activities components). It starts from nothing and depends on the kernel's revision 0002, so
``tenants`` and ``users`` exist before its foreign keys are made.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from xynap.migrations.helpers import protect_tenant_tables

revision = "worklog_0001"
down_revision = None
branch_labels = ("worklog",)
depends_on = "0002"

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete=ondelete)


def _base(table: str) -> list:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        _fk(table, "tenant_id", "tenants", "CASCADE"),
    ]


def _indexes(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in ("tenant_id", *columns):
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "tasks",
        *_base("tasks"),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("assigned_to", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("linked_contact_id", sa.Uuid(), nullable=True),
        sa.Column("linked_entity_type", sa.String(length=50), nullable=True),
        sa.Column("linked_entity_id", sa.Uuid(), nullable=True),
        sa.Column("subtasks", JSON, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("tasks", "assigned_to", "users", "SET NULL"),
        _fk("tasks", "created_by", "users", "SET NULL"),
    )
    _indexes("tasks", "status", "due_date", "assigned_to", "linked_contact_id", "linked_entity_id")

    op.create_table(
        "notes",
        *_base("notes"),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("linked_contact_id", sa.Uuid(), nullable=True),
        sa.Column("linked_entity_type", sa.String(length=50), nullable=True),
        sa.Column("linked_entity_id", sa.Uuid(), nullable=True),
        sa.Column("is_pinned", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("notes", "author_id", "users", "SET NULL"),
    )
    _indexes("notes", "author_id", "linked_contact_id", "linked_entity_id")

    op.create_table(
        "activities",
        *_base("activities"),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("entity_type", sa.String(length=50), nullable=True),
        sa.Column("entity_id", sa.Uuid(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_event_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("activities", "user_id", "users", "SET NULL"),
        sa.UniqueConstraint("source_event_id", name=op.f("uq_activities_source_event_id")),
    )
    _indexes("activities", "user_id", "contact_id", "entity_id", "occurred_at")

    protect_tenant_tables("tasks", "notes", "activities")


def downgrade() -> None:
    op.drop_table("activities")
    op.drop_table("notes")
    op.drop_table("tasks")
