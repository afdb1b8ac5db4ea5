"""RLS policies read the tenant settings once per statement; single-use refresh tokens

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 07:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# The predicate before this revision (kept here: downgrade restores it).
OLD_PREDICATE = (
    "(current_setting('xynap.platform', true) = 'on' "
    "OR tenant_id IS NOT DISTINCT FROM NULLIF(current_setting('xynap.tenant_id', true), '')::uuid)"
)
NEW_PREDICATE = (
    "((SELECT current_setting('xynap.platform', true)) = 'on' "
    "OR tenant_id IS NOT DISTINCT FROM (SELECT NULLIF(current_setting('xynap.tenant_id', true), '')::uuid))"
)


def _set_policies(predicate: str) -> None:
    """Every tenant_isolation policy that exists now (tables of modules migrated later are created with the
    current predicate by `protect_tenant_tables`)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    tables = bind.execute(sa.text(
        "SELECT tablename FROM pg_policies WHERE schemaname = current_schema() AND policyname = 'tenant_isolation'"
    )).scalars().all()
    for table in tables:
        op.execute(f"ALTER POLICY tenant_isolation ON {table} USING {predicate} WITH CHECK {predicate}")


def upgrade() -> None:
    _set_policies(NEW_PREDICATE)
    # hand-over links (sign-up, first-run setup) carry a refresh token that must work exactly once, even for
    # the same browser within the reload grace period of ordinary refresh tokens
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('single_use', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_column('single_use')
    _set_policies(OLD_PREDICATE)
