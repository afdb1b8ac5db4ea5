"""Database engine, sessions, the declarative base and the tenant wall.

Every tenant-owned model inherits ``TenantMixin``. The session filters every ORM
SELECT/UPDATE/DELETE on such models by the session's tenant (``do_orm_execute``
with ``with_loader_criteria``) and stamps the tenant on inserts (``before_flush``),
so handlers never filter by tenant themselves. On PostgreSQL every session also
sets ``xynap.tenant_id`` / ``xynap.platform`` so that row-level-security policies
(see ``rls_policy_sql``) enforce the same rule a second time.

Lean read path (PostgreSQL): a *read-only* session (``Database.session(read_only=True)``, used
for GET/HEAD requests) runs in autocommit — one round trip per SELECT instead of BEGIN, SELECT,
COMMIT — and may not write (``ReadOnlyViolation``). The RLS context is remembered per pooled
connection: a read-only session sets it session-wide (outside any transaction, so no rollback can
undo it) only when the connection last served another context; a transactional session skips it
when the connection already carries the right context and otherwise sets it transaction-locally.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, MetaData, Uuid, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.types import TypeDecorator

from xynap.core.config import get_settings
from xynap.core.ids import uuid7

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both engines (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class VersionMixin:
    """Optimistic locking: the ORM adds ``WHERE version = <loaded>`` to every UPDATE."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.__table__.c.version}


class TenantMixin:
    """Marks a model as tenant-owned: filtered by the session, guarded by RLS on PostgreSQL.

    Routes address such a record as ``{<entity>_id}``; the entity name is ``__entity_name__``
    or the table name without its plural "s" (the route-wide isolation test relies on it).
    """

    __tenant_owned__ = True
    # A table whose own index already leads with ``tenant_id`` sets ``__tenant_index__ = False``: the
    # single-column index would be a duplicate that every insert pays for. A table whose rows go with
    # a parent's (ON DELETE CASCADE) sets ``__tenant_foreign_key__ = False``: the parent's tenant key
    # already removes them with the tenant, and the check per inserted row is not free.
    __tenant_index__ = True
    __tenant_foreign_key__ = True

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805
        if not cls.__tenant_foreign_key__:
            return mapped_column(Uuid, index=cls.__tenant_index__, nullable=False)
        return mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), index=cls.__tenant_index__,
                             nullable=False)


class TenantOptionalMixin:
    """Kernel tables whose rows belong to a tenant or, with NULL, to the platform (audit, outbox, jobs).

    Filtered like tenant-owned tables: a tenant session sees only its own rows, never the
    platform's; the platform session sees all.
    """

    __tenant_optional__ = True

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID | None]:  # noqa: N805
        return mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=True)


def tenant_tables() -> list[str]:
    """Names of all tables whose rows belong to a tenant (the RLS test walks these)."""
    return sorted(
        m.class_.__tablename__
        for m in Base.registry.mappers
        if getattr(m.class_, "__tenant_owned__", False) or getattr(m.class_, "__tenant_optional__", False)
    )


# --- RLS -----------------------------------------------------------------------------------------

# A session bound to no tenant may only touch rows without tenant (platform rows of the optional
# tables); tenant-owned tables have NOT NULL tenant_id, so for them this is plain equality.
# The settings sit in scalar sub-selects so PostgreSQL evaluates them once per statement (an InitPlan)
# instead of twice per row plus a text-to-uuid cast: a 100,000-deal forecast spent 44 % of its time there.
RLS_PREDICATE = (
    "((SELECT current_setting('xynap.platform', true)) = 'on' "
    "OR tenant_id IS NOT DISTINCT FROM (SELECT NULLIF(current_setting('xynap.tenant_id', true), '')::uuid))"
)


def rls_policy_sql(table: str) -> list[str]:
    """SQL that puts a table behind the tenant wall on PostgreSQL (used by migrations)."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"CREATE POLICY tenant_isolation ON {table} USING {RLS_PREDICATE} WITH CHECK {RLS_PREDICATE}",
    ]


# --- session and tenant context ------------------------------------------------------------------


class TenantViolation(RuntimeError):
    """A write tried to cross the tenant wall; a programming error, never user input."""


class ReadOnlyViolation(RuntimeError):
    """A read-only (autocommit) session was asked to write; a programming error, never user input."""


class XSession(Session):
    """Session that knows its tenant (``info['tenant_id']``) or platform scope (``info['platform']``)."""


@functools.lru_cache(maxsize=4096)
def _tenant_criteria(tenant_id: uuid.UUID | None) -> tuple[Any, Any]:
    """The two loader-criteria options for one tenant, built once: building them costs ~60 µs each,
    and they are immutable, so every statement of that tenant can share them."""
    return (
        with_loader_criteria(TenantMixin, lambda cls: cls.tenant_id == tenant_id, include_aliases=True),
        with_loader_criteria(TenantOptionalMixin, lambda cls: cls.tenant_id == tenant_id, include_aliases=True),
    )


@event.listens_for(XSession, "do_orm_execute")
def _filter_by_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.execution_options.get("skip_tenant_filter", False):
        return
    info = state.session.info
    if info.get("platform"):
        return
    if info.get("read_only") and not state.is_select:
        raise ReadOnlyViolation("UPDATE/DELETE in a read-only session")
    state.statement = state.statement.options(*_tenant_criteria(info.get("tenant_id")))


@event.listens_for(XSession, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    if session.info.get("read_only") and (session.new or session.deleted or session.dirty):
        raise ReadOnlyViolation("a read-only session cannot write; open a read-write session for this route")
    tenant_id = session.info.get("tenant_id")
    platform = session.info.get("platform", False)
    for obj in session.new:
        if isinstance(obj, TenantOptionalMixin):
            if obj.tenant_id is None and not platform:
                obj.tenant_id = tenant_id
            elif obj.tenant_id != tenant_id and not platform:
                raise TenantViolation(f"{type(obj).__name__} written into another tenant")
            continue
        if not isinstance(obj, TenantMixin):
            continue
        if obj.tenant_id is None:
            if tenant_id is None:
                raise TenantViolation(f"{type(obj).__name__} created outside a tenant context")
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id and not platform:
            raise TenantViolation(f"{type(obj).__name__} written into another tenant")


# Key in the pooled connection's ``info`` (which lives exactly as long as the DBAPI connection) of the
# RLS context that the connection carries session-wide.
_RLS_CONTEXT = "xynap_rls_context"
_SET_RLS = text("SELECT set_config('xynap.tenant_id', :t, :local), set_config('xynap.platform', :p, :local)")


@event.listens_for(XSession, "after_begin")
def _set_rls_context(session: Session, transaction: Any, connection: Any) -> None:
    if connection.dialect.name != "postgresql":
        return
    tenant_id = session.info.get("tenant_id")
    wanted = (str(tenant_id) if tenant_id else "", "on" if session.info.get("platform") else "off")
    remembered = connection.connection.info
    if remembered.get(_RLS_CONTEXT) == wanted:
        return
    if session.info.get("read_only"):
        # Autocommit: set_config(..., false) takes effect at once and for the connection's life, and
        # there is no transaction whose rollback could revert it, so the memo stays true.
        remembered.pop(_RLS_CONTEXT, None)
        connection.execute(_SET_RLS, {"t": wanted[0], "p": wanted[1], "local": False})
        remembered[_RLS_CONTEXT] = wanted
    else:
        # Inside a transaction: transaction-local, so the connection's session-wide context (and the
        # memo of it) is untouched whether this commits or rolls back.
        connection.execute(_SET_RLS, {"t": wanted[0], "p": wanted[1], "local": True})


# --- engine ------------------------------------------------------------------------------------


# Every PostgreSQL connection: no JIT. PostgreSQL compiles a plan once its estimated cost passes
# jit_above_cost, and a search over 16 index shards is estimated high (each shard's matches, before the
# LIMIT that stops after one or two): 154 ms of compiling (inlining, optimisation) measured for a
# statement that runs in 20 ms. Short OLTP statements never win that back.
PG_SETTINGS = {"jit": "off"}


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"pool_pre_ping": False}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=20, max_overflow=20, connect_args={"server_settings": dict(PG_SETTINGS)})
        kwargs.update(engine_kwargs)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessionmaker = async_sessionmaker(
            self.engine, sync_session_class=XSession, expire_on_commit=False, autoflush=True
        )
        # Read-only sessions on PostgreSQL skip BEGIN/COMMIT. SQLite keeps its (local, cheap)
        # transactions, which also give a multi-statement read one snapshot.
        self.read_engine: AsyncEngine | None = None
        if self.dialect == "postgresql":
            # A pool of its own, in autocommit. Its connections plan every statement with its values:
            # tenants differ in size by orders of magnitude (1,000 vs 1,000,000 contacts), and a cached
            # generic plan, chosen without the tenant id and the LIMIT (asyncpg prepares statements), can
            # be catastrophic for one of them — sorting a million rows for a 50-row page. Writes (imports:
            # one statement executed a thousand times) keep the plan cache on the main pool.
            read_kwargs: dict[str, Any] = {"pool_pre_ping": False, "pool_size": 10, "max_overflow": 10}
            read_kwargs.update(engine_kwargs)
            settings = {**PG_SETTINGS, "plan_cache_mode": "force_custom_plan"}
            read_kwargs.update(isolation_level="AUTOCOMMIT", connect_args={"server_settings": settings})
            self.read_engine = create_async_engine(url, **read_kwargs)
        # Single-record reads of read-only sessions bypass the ORM on PostgreSQL (xynap.core.reads);
        # started by start_fast_reader() so that plain scripts and tests need no extra pool.
        self.fast_reader: Any = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self, *, tenant_id: uuid.UUID | None = None, platform: bool = False,
                read_only: bool = False) -> AsyncSession:
        """A session for one tenant (or the platform). ``read_only`` sessions refuse to write and, on
        PostgreSQL, run each SELECT in autocommit (see the module docstring)."""
        if read_only and self.read_engine is not None:
            session = self.sessionmaker(bind=self.read_engine)
        else:
            session = self.sessionmaker()
        session.sync_session.info.update(tenant_id=tenant_id, platform=platform, read_only=read_only,
                                         fast_reader=self.fast_reader)
        return session

    async def start_fast_reader(self, max_size: int = 10) -> None:
        """Open the asyncpg pool for single-record reads (PostgreSQL only; a no-op elsewhere)."""
        if self.dialect != "postgresql" or self.fast_reader is not None or max_size <= 0:
            return
        from xynap.core.reads import FastReader

        reader = FastReader(self.url, self.engine.dialect, max_size=max_size)
        await reader.start()
        self.fast_reader = reader

    @asynccontextmanager
    async def tenant_session(self, tenant_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
        """A session that sees and writes only ``tenant_id``'s rows; commits on success."""
        async with self.session(tenant_id=tenant_id) as session:
            yield session
            await session.commit()

    @asynccontextmanager
    async def platform_session(self, tenant_id: uuid.UUID | None = None) -> AsyncIterator[AsyncSession]:
        """A session for platform work across tenants (workers, platform console); commits on success."""
        async with self.session(tenant_id=tenant_id, platform=True) as session:
            yield session
            await session.commit()

    async def dispose(self) -> None:
        if self.fast_reader is not None:
            reader, self.fast_reader = self.fast_reader, None
            await reader.close()
        if self.read_engine is not None:
            await self.read_engine.dispose()
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


_database: Database | None = None


def get_database() -> Database:
    global _database
    if _database is None:
        settings = get_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        _database = Database(settings.effective_database_url)
    return _database


def set_database(db: Database | None) -> None:
    global _database
    _database = db


def sync_engine_of(db: Database) -> Engine:
    return db.engine.sync_engine
