"""Lean single-record reads: ``fetch_record(session, Model, id)``.

Reading one record by id is the most frequent query there is (every detail page, every API
``GET /…/{id}``). Through the ORM it costs a pooled SQLAlchemy connection, statement compilation
with the tenant criteria and instance loading: about half a millisecond of CPU, several times the
cost of the database's own work. On PostgreSQL a *read-only* session (GET/HEAD requests) therefore
reads single records through a small asyncpg pool of its own with one prepared statement per
model — one round trip, no transaction — and returns a :class:`RecordSnapshot` (attribute access
to the columns, which is all a response model needs). Everywhere else (SQLite, read-write sessions)
the same call goes through the ORM session, so callers never choose.

The tenant wall is applied here, not by callers, exactly as the session applies it: the statement
of a tenant-owned model always carries ``tenant_id = <the session's tenant>`` unless the session is
the platform's, and row-level security is set up the same way the session sets it — the RLS context
is remembered per pooled connection and only re-set when that connection last served another one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.db import TenantMixin, TenantOptionalMixin


class RecordSnapshot:
    """A read-only view of one row: ``snapshot.<column>`` like the ORM object, nothing else."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"RecordSnapshot({self._values!r})"


class _ModelPlan:
    """The SQL and the column converters for reading one model by id."""

    def __init__(self, model: type, dialect: Any) -> None:
        table = model.__table__  # type: ignore[attr-defined]
        quote = self.quote = dialect.identifier_preparer.quote
        self.columns = [c.key for c in table.columns]
        names = [c.name for c in table.columns]
        self.processors = [c.type._cached_result_processor(dialect, None) for c in table.columns]
        self.tenant_scoped = issubclass(model, (TenantMixin, TenantOptionalMixin))
        self.select = f"SELECT {', '.join(quote(n) for n in names)} FROM {quote(table.name)} WHERE id = $1"

    def sql(self, tenant_filter: bool, owner_column: str | None) -> str:
        sql = self.select
        n = 1
        if tenant_filter:
            n += 1
            sql += f" AND tenant_id IS NOT DISTINCT FROM ${n}"
        if owner_column is not None:
            n += 1
            sql += f" AND {self.quote(owner_column)} = ANY(${n}::uuid[])"
        return sql

    def snapshot(self, row: Any) -> RecordSnapshot:
        values = {}
        for key, processor, value in zip(self.columns, self.processors, row, strict=True):
            values[key] = processor(value) if processor is not None and value is not None else value
        return RecordSnapshot(values)


class FastReader:
    """A small asyncpg pool for single-record reads on PostgreSQL (see the module docstring)."""

    def __init__(self, url: str, dialect: Any, *, max_size: int = 10) -> None:
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.dialect = dialect
        self.max_size = max_size
        self._pool: Any = None
        self._plans: dict[type, _ModelPlan] = {}
        # RLS context each backend currently carries, by backend pid (a new connection has a new pid).
        self._contexts: dict[int, tuple[str, str]] = {}

    async def start(self) -> None:
        import asyncpg

        async def init(conn: Any) -> None:
            for kind in ("json", "jsonb"):
                await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")

        async def keep_context(conn: Any) -> None:
            # asyncpg's default reset runs RESET ALL (a round trip that also drops the RLS context
            # we remember); our connections run single SELECTs outside transactions, nothing to reset.
            return None

        self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.max_size, init=init,
                                               reset=keep_context)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
        self._contexts.clear()

    @property
    def started(self) -> bool:
        return self._pool is not None

    def plan(self, model: type) -> _ModelPlan:
        plan = self._plans.get(model)
        if plan is None:
            plan = self._plans[model] = _ModelPlan(model, self.dialect)
        return plan

    async def get(self, model: type, record_id: uuid.UUID, *, tenant_id: uuid.UUID | None, platform: bool,
                  owner_column: str | None = None, owner_ids: Iterable[uuid.UUID] | None = None,
                  ) -> RecordSnapshot | None:
        plan = self.plan(model)
        tenant_filter = plan.tenant_scoped and not platform
        args: list[Any] = [record_id]
        if tenant_filter:
            args.append(tenant_id)
        if owner_column is not None:
            args.append(list(owner_ids or ()))
        wanted = (str(tenant_id) if tenant_id else "", "on" if platform else "off")
        async with self._pool.acquire() as conn:
            pid = conn.get_server_pid()
            if self._contexts.get(pid) != wanted:
                self._contexts.pop(pid, None)
                await conn.execute("SELECT set_config('xynap.tenant_id', $1, false), "
                                   "set_config('xynap.platform', $2, false)", *wanted)
                self._contexts[pid] = wanted
            row = await conn.fetchrow(plan.sql(tenant_filter, owner_column), *args)
        return None if row is None else plan.snapshot(row)


async def fetch_record(session: AsyncSession, model: type, record_id: uuid.UUID, *,
                       owner_column: Any = None, owner_ids: Iterable[uuid.UUID] | None = None) -> Any | None:
    """One record by id in the session's tenant, or ``None``.

    With ``owner_column`` (e.g. ``Contact.owner_id``) and ``owner_ids`` (``Access.owner_ids()``; ``None``
    means every owner) the record must also belong to one of those owners — the record scope.
    Returns the ORM object in read-write sessions and on SQLite, a :class:`RecordSnapshot` on the
    PostgreSQL read path; use the result for reading only.
    """
    info = session.sync_session.info
    reader: FastReader | None = info.get("fast_reader")
    scoped = owner_column is not None and owner_ids is not None
    owner_ids = frozenset(owner_ids) if scoped and owner_ids is not None else None
    if info.get("read_only") and reader is not None and reader.started:
        return await reader.get(model, record_id, tenant_id=info.get("tenant_id"), platform=bool(info.get("platform")),
                                owner_column=owner_column.name if scoped else None, owner_ids=owner_ids)
    stmt = select(model).where(model.id == record_id)  # type: ignore[attr-defined]
    if scoped:
        stmt = stmt.where(owner_column.in_(owner_ids or ()))
    return await session.scalar(stmt)
