"""Request dependencies: tenant, database session, principal, permission and module gates.

The path of a request: host → tenant (middleware, cached) → token → principal (cached
user state + role grants) → module booked? → permission with record scope → handler.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.errors import AppError, Forbidden, Unauthorized
from xynap.core.security.permissions import Access, Principal, merge_grants
from xynap.core.security.tokens import decode_access_token
from xynap.core.tenancy import ACCESS_WRITE, TenantInfo
from xynap.platform.users.models import PlatformUser, Role, TeamMember, User
from xynap.runtime import Runtime

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


async def get_runtime(request: Request) -> Runtime:  # async: a plain def would hop to a thread per request
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def optional_tenant(request: Request) -> TenantInfo | None:
    return getattr(request.state, "tenant", None)


def require_tenant(request: Request) -> TenantInfo:
    tenant = getattr(request.state, "tenant", None)
    if tenant is None:
        raise AppError("This endpoint belongs to a tenant: call it on <slug>.<domain> or send X-Tenant.",
                       code="tenant_required", status=400)
    return tenant


async def current_tenant(request: Request) -> TenantInfo:
    """Dependency form of ``require_tenant`` (async, so FastAPI runs it inline)."""
    return require_tenant(request)


TenantDep = Annotated[TenantInfo, Depends(current_tenant)]


READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, bound to the request's tenant; commits when the handler returns.

    Runs with ``scope="function"`` so that the commit (and any conflict it raises) happens
    before the response is sent.
    """
    runtime: Runtime = request.app.state.runtime
    tenant: TenantInfo | None = getattr(request.state, "tenant", None)
    principal: Principal | None = getattr(request.state, "principal", None)
    if tenant is None and principal is None and _bearer(request):
        # On the platform host the session's scope depends on who calls: resolve that first.
        try:
            principal = await current_principal(request)
        except AppError:
            # A stale or broken token must not block the routes that need none (login, refresh,
            # the public catalog); routes that need a login refuse it with the precise reason.
            principal = None
    platform = tenant is None and principal is not None and principal.is_platform
    # Reads are the bulk of the traffic: GET/HEAD get a read-only session (autocommit on PostgreSQL,
    # see xynap.core.db); a GET that writes is a bug and fails loudly.
    session = runtime.db.session(tenant_id=tenant.id if tenant else None, platform=platform,
                                 read_only=request.method in READ_ONLY_METHODS)
    session.sync_session.info["request"] = request
    if session.sync_session.info["read_only"]:
        # Nothing to flush, audit or commit: the session only reads. A session that never touched
        # the database (single-record reads go through xynap.core.reads) holds nothing to release.
        try:
            yield session
        finally:
            if session.sync_session.in_transaction():
                await session.close()
        return
    try:
        yield session
        await session.flush()
        from xynap.core.audit import write_pending_audit

        write_pending_audit(session, request)
        await session.commit()
        after = session.sync_session.info.get("after_commit")
        if after:
            for callback in after:
                callback()
    except AppError:
        # Some failures must leave a trace (failed logins, a detected token reuse): they mark
        # the session, and only the rows they added before raising are committed.
        if session.sync_session.info.get("commit_on_error"):
            await session.commit()
        else:
            await session.rollback()
        raise
    except BaseException:
        await session.rollback()
        raise
    finally:
        await session.close()


DbDep = Annotated[AsyncSession, Depends(get_db, scope="function")]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


async def load_principal(runtime: Runtime, token: str, tenant: TenantInfo | None) -> Principal:
    """Turn an access token into a principal for this tenant (or the platform host)."""
    claims = decode_access_token(token)
    if claims.kind == "platform":
        if tenant is not None:
            raise Unauthorized("A platform token is not valid on a tenant's address.", code="token_tenant_mismatch")
        return await runtime.principals.get_or_load(
            (None, claims.user_id), lambda: _load_platform_principal(runtime, claims.user_id)
        )
    if tenant is None or claims.tenant_id != tenant.id:
        raise Unauthorized("The token belongs to another tenant.", code="token_tenant_mismatch")
    principal = await runtime.principals.get_or_load(
        (tenant.id, claims.user_id), lambda: _load_tenant_principal(runtime, tenant.id, claims.user_id)
    )
    if principal is None:
        raise Unauthorized("The user no longer exists or is deactivated.", code="user_inactive")
    return principal


async def _load_platform_principal(runtime: Runtime, user_id: uuid.UUID) -> Principal:
    async with runtime.db.session(platform=True) as session:
        user = await session.get(PlatformUser, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("The user no longer exists or is deactivated.", code="user_inactive")
    return Principal(kind="platform", user_id=user.id, tenant_id=None, role=user.role, email=user.email,
                     name=user.name)


async def role_grants(runtime: Runtime, tenant_id: uuid.UUID, role_name: str) -> dict[str, str]:
    async def load() -> dict[str, str]:
        async with runtime.db.session(tenant_id=tenant_id) as session:
            role = await session.scalar(select(Role).where(Role.name == role_name))
        if role is None:
            return {}
        base = runtime.default_grants(role_name) if role.is_system else {}
        return merge_grants(base, role.grants or {})

    return await runtime.role_grants.get_or_load((tenant_id, role_name), load)


async def _load_tenant_principal(runtime: Runtime, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Principal | None:
    async with runtime.db.session(tenant_id=tenant_id) as session:
        user = await session.get(User, user_id)
        if user is None or not user.is_active:
            return None
        teams = select(TeamMember.team_id).where(TeamMember.user_id == user_id)
        mates = set(await session.scalars(select(TeamMember.user_id).where(TeamMember.team_id.in_(teams))))
    grants = await role_grants(runtime, tenant_id, user.role)
    return Principal(kind="tenant", user_id=user.id, tenant_id=tenant_id, role=user.role, email=user.email,
                     name=user.name, grants=grants, team_member_ids=frozenset(mates | {user.id}))


async def current_principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = _bearer(request)
    if not token:
        raise Unauthorized("Log in and send the access token as 'Authorization: Bearer <token>'.",
                           code="not_authenticated", headers={"WWW-Authenticate": "Bearer"})
    principal = await load_principal(request.app.state.runtime, token, getattr(request.state, "tenant", None))
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def current_user(request: Request, principal: PrincipalDep) -> Principal:
    if principal.is_platform:
        raise Forbidden("This endpoint is for the people of a tenant.", code="tenant_user_required")
    return principal


UserDep = Annotated[Principal, Depends(current_user)]


def require(permission: str) -> Any:
    """Dependency: the caller holds ``permission`` (``entity:action``); yields its ``Access`` scope."""

    async def dependency(principal: UserDep) -> Access:
        scope = principal.scope_for(permission)
        if scope is None:
            raise Forbidden(f"Your role lacks the permission {permission!r}.", code="permission_denied",
                            permission=permission)
        return Access(principal, permission, scope)

    dependency.__name__ = f"require_{permission.replace(':', '_').replace('.', '_')}"
    return Depends(dependency)


def require_platform(*roles: str) -> Any:
    """Dependency: a platform user (optionally one of ``roles``) on the platform host."""

    async def dependency(principal: PrincipalDep) -> Principal:
        if not principal.is_platform:
            raise Forbidden("This endpoint is for platform staff.", code="platform_user_required")
        if roles and principal.role not in roles:
            raise Forbidden(f"This needs one of the platform roles: {', '.join(roles)}.", code="permission_denied")
        return principal

    return Depends(dependency)


def module_gate(slug: str, kind: str = "module") -> Any:
    """Dependency on every route of a module: the tenant has booked it (and may write to it)."""

    async def dependency(request: Request) -> None:
        tenant = require_tenant(request)
        if kind == "shared":
            levels = set(tenant.modules.values())
            access = ACCESS_WRITE if ACCESS_WRITE in levels else ("read" if levels else None)
            if access is None:
                raise Forbidden("Shared components come with the first booked module.", code="module_not_enabled",
                                module=slug)
        else:
            access = tenant.modules.get(slug)
            if access is None:
                raise Forbidden(f"Your company has not booked the module {slug!r}.", code="module_not_enabled",
                                module=slug)
        if access != ACCESS_WRITE and request.method not in READ_METHODS:
            raise Forbidden(f"The module {slug!r} is read-only (subscription suspended or licence invalid); "
                            "your data is kept and readable.", code="module_read_only", module=slug)

    dependency.__name__ = f"module_gate_{slug}"
    return Depends(dependency)
