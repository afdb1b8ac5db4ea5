"""Building blocks that migrations of the kernel and of modules share."""

from __future__ import annotations

from alembic import op

from xynap.core.db import rls_policy_sql


def protect_tenant_tables(*tables: str) -> None:
    """Put tables behind PostgreSQL row-level security (a no-op on SQLite, where the session filter rules)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        for sql in rls_policy_sql(table):
            op.execute(sql)


def make_append_only(table: str) -> None:
    """Refuse UPDATE and DELETE on a table (the audit log) on both engines."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION xynap_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; "
            "END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION xynap_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
