"""audit_log.entity_id holds composite keys (varchar 64 → 200)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:00:00

Why: rows keyed by their content instead of an id (a contact's tag link: ``contact_id:tag_id``) are
audited with their key parts joined by ``:``, two UUIDs and more — longer than 64 characters.
PostgreSQL widens a varchar in place (no table rewrite); SQLite does not enforce the length, so its
table is left as it is rather than copied (the audit log is the largest table there is).
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("audit_log", "entity_id", type_=sa.String(200), existing_type=sa.String(64),
                        existing_nullable=True)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT set_config('xynap.platform', 'on', true)"))  # every tenant's rows
        op.execute("UPDATE audit_log SET entity_id = left(entity_id, 64) WHERE length(entity_id) > 64")
        op.alter_column("audit_log", "entity_id", type_=sa.String(64), existing_type=sa.String(200),
                        existing_nullable=True)
