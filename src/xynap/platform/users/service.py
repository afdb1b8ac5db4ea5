"""Tenant users, teams and roles: the rules (limits, last admin, valid roles and grants)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.errors import AppError, Conflict, NotFound, ValidationFailed
from xynap.core.reads import fetch_record
from xynap.core.security.passwords import MIN_PASSWORD_LENGTH, hash_password
from xynap.core.security.permissions import SCOPE_RANK, merge_grants
from xynap.platform.tenants.models import Tenant
from xynap.platform.users.models import Role, Team, TeamMember, User
from xynap.runtime import Runtime


def user_event(session: AsyncSession, name: str, user: User) -> None:
    """Domain events of users; every colleague who may read users sees them live."""
    from xynap.core.events import publish

    publish(session, name, {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
                            "is_active": user.is_active}, permission="users:read")


def publish_team(session: AsyncSession, name: str, team: Team, member_ids: list[str] | None = None) -> None:
    from xynap.core.events import publish

    payload = {"id": team.id, "name": team.name}
    if member_ids is not None:
        payload["member_ids"] = member_ids
    publish(session, name, payload, permission="teams:read")


def publish_role(session: AsyncSession, name: str, role: Role) -> None:
    """Everyone hears of role changes: a user's own permissions may have changed."""
    from xynap.core.events import publish

    publish(session, name, {"id": role.id, "name": role.name})


def drop_cached(session: AsyncSession, invalidate: Callable[[], None]) -> None:
    """Drop cache entries now and once more after the request's commit (``get_db`` runs the
    ``after_commit`` callbacks): a request running in between could otherwise cache the old
    state again for a whole TTL."""
    invalidate()
    session.sync_session.info.setdefault("after_commit", []).append(invalidate)


def normalize_email(email: str) -> str:
    return email.strip().casefold()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.",
                               code="password_too_short",
                               errors=[{"field": "password", "message": f"min. {MIN_PASSWORD_LENGTH} characters"}])


async def role_names(session: AsyncSession) -> set[str]:
    return set(await session.scalars(select(Role.name)))


async def _check_role(session: AsyncSession, role: str) -> None:
    if role not in await role_names(session):
        raise ValidationFailed(f"There is no role {role!r} in this company.", code="invalid_role",
                               errors=[{"field": "role", "message": "unknown role"}])


async def tenant_of(session: AsyncSession) -> Tenant:
    return await session.get(Tenant, session.sync_session.info["tenant_id"])


async def create_user(session: AsyncSession, runtime: Runtime, *, email: str, name: str, role: str = "staff",
                      password: str | None = None, locale: str = "de") -> User:
    """Create a user of the session's tenant; enforces the plan's user limit."""
    tenant = await tenant_of(session)
    active = await session.scalar(select(func.count()).select_from(User).where(User.is_active.is_(True)))
    if active >= tenant.user_limit:
        raise AppError(f"Your plan allows {tenant.user_limit} active users; deactivate one or book more users.",
                       code="plan_limit_users", status=409, limit=tenant.user_limit)
    email = normalize_email(email)
    if await session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise Conflict(f"A user with the e-mail {email} exists.", code="email_taken",
                       errors=[{"field": "email", "message": "already in use"}])
    await _check_role(session, role)
    if password is not None:
        check_password(password)
    user = User(email=email, name=name.strip(), role=role, locale=locale,
                password_hash=hash_password(password) if password else None)
    session.add(user)
    await session.flush()
    user_event(session, "user.created", user)
    if tenant.owner_id is None and role == "admin":
        tenant.owner_id = user.id
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


async def read_user(session: AsyncSession, user_id: uuid.UUID) -> Any:
    """A user to show (the lean read path of xynap.core.reads); ``get_user`` for one to change."""
    user = await fetch_record(session, User, user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


async def _ensure_other_admin(session: AsyncSession, user: User) -> None:
    others = await session.scalar(
        select(func.count()).select_from(User)
        .where(User.role == "admin", User.is_active.is_(True), User.id != user.id)
    )
    if not others:
        raise Conflict("This is the company's last active administrator; appoint another first.",
                       code="last_admin")


async def update_user(session: AsyncSession, runtime: Runtime, user: User, *, name: str | None = None,
                      role: str | None = None, is_active: bool | None = None, locale: str | None = None) -> User:
    if user.role == "admin" and user.is_active and ((role and role != "admin") or is_active is False):
        await _ensure_other_admin(session, user)
    if role is not None and role != user.role:
        await _check_role(session, role)
        user.role = role
    if is_active is True and not user.is_active:
        tenant = await tenant_of(session)
        active = await session.scalar(select(func.count()).select_from(User).where(User.is_active.is_(True)))
        if active >= tenant.user_limit:
            raise AppError(f"Your plan allows {tenant.user_limit} active users.", code="plan_limit_users",
                           status=409, limit=tenant.user_limit)
    if is_active is not None:
        user.is_active = is_active
    if name is not None:
        user.name = name.strip()
    if locale is not None:
        user.locale = locale
    await session.flush()
    user_event(session, "user.updated", user)
    drop_cached(session, lambda: runtime.principals.invalidate(lambda k: k == (user.tenant_id, user.id)))
    return user


async def delete_user(session: AsyncSession, runtime: Runtime, user: User) -> None:
    if user.role == "admin" and user.is_active:
        await _ensure_other_admin(session, user)
    await session.delete(user)
    user_event(session, "user.deleted", user)
    await session.flush()
    drop_cached(session, lambda: runtime.principals.invalidate(lambda k: k == (user.tenant_id, user.id)))


async def set_password(session: AsyncSession, user: User, password: str) -> None:
    check_password(password)
    user.password_hash = hash_password(password)
    await session.flush()


def generate_password() -> str:
    return secrets.token_urlsafe(12)


# --- teams ------------------------------------------------------------------------------------------


async def team_member_ids(session: AsyncSession, team_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    out: dict[uuid.UUID, list[uuid.UUID]] = {t: [] for t in team_ids}
    if team_ids:
        rows = await session.execute(select(TeamMember.team_id, TeamMember.user_id)
                                     .where(TeamMember.team_id.in_(team_ids)))
        for team_id, user_id in rows:
            out[team_id].append(user_id)
    return out


async def set_team_members(session: AsyncSession, runtime: Runtime, team: Team, user_ids: list[uuid.UUID]) -> None:
    wanted = set(user_ids)
    if wanted:
        found = set(await session.scalars(select(User.id).where(User.id.in_(wanted))))
        missing = wanted - found
        if missing:  # ids of other tenants are "missing" too: the session only sees this tenant
            raise ValidationFailed("Some users do not exist.", code="invalid_reference",
                                   errors=[{"field": "user_ids", "message": f"unknown: {sorted(map(str, missing))}"}])
    current = {m.user_id: m for m in await session.scalars(select(TeamMember).where(TeamMember.team_id == team.id))}
    for user_id in wanted - current.keys():
        session.add(TeamMember(team_id=team.id, user_id=user_id))
    for user_id in current.keys() - wanted:
        await session.delete(current[user_id])
    await session.flush()
    publish_team(session, "team.members_changed", team, sorted(map(str, wanted)))
    drop_cached(session, lambda: runtime.principals.invalidate(lambda k: k[0] == team.tenant_id))


# --- roles -----------------------------------------------------------------------------------------


def known_permissions(runtime: Runtime) -> dict[str, bool]:
    """permission key → whether it supports own/team scopes."""
    return {key: decl.scoped for decl in runtime.all_permissions() for key in decl.keys()}


def validate_grants(runtime: Runtime, grants: dict[str, str | None]) -> None:
    known = known_permissions(runtime)
    errors = []
    for key, scope in grants.items():
        if key not in known:
            errors.append({"field": f"grants.{key}", "message": "unknown permission"})
        elif scope is not None and scope not in SCOPE_RANK:
            errors.append({"field": f"grants.{key}", "message": "scope must be own, team or all"})
        elif scope in ("own", "team") and not known[key]:
            errors.append({"field": f"grants.{key}", "message": "this permission has no owner; use all"})
    if errors:
        raise ValidationFailed("Some grants are invalid.", code="invalid_grants", errors=errors)


def effective_grants(runtime: Runtime, role: Role) -> dict[str, str]:
    base = runtime.default_grants(role.name) if role.is_system else {}
    return merge_grants(base, role.grants or {})


async def update_role(session: AsyncSession, runtime: Runtime, role: Role, *, label: str | None,
                      grants: dict[str, str | None] | None) -> Role:
    if grants:
        validate_grants(runtime, grants)
        if role.name == "admin" and any(k.startswith("roles:") and v is None for k, v in grants.items()):
            raise Conflict("The admin role keeps the right to manage roles (or nobody could undo this).",
                           code="admin_locked")
        merged = dict(role.grants or {})
        merged.update(grants)
        role.grants = merged
    if label is not None:
        role.label = label
    await session.flush()
    publish_role(session, "role.updated", role)
    drop_cached(session, lambda: (runtime.role_grants.invalidate(lambda k: k == (role.tenant_id, role.name)),
                                  runtime.principals.invalidate(lambda k: k[0] == role.tenant_id)))
    return role


async def delete_role(session: AsyncSession, runtime: Runtime, role: Role) -> None:
    if role.is_system:
        raise Conflict("System roles cannot be deleted; change their permissions instead.", code="system_role")
    in_use = await session.scalar(select(func.count()).select_from(User).where(User.role == role.name))
    if in_use:
        raise Conflict(f"{in_use} users have this role; give them another role first.", code="role_in_use")
    await session.delete(role)
    publish_role(session, "role.deleted", role)
    await session.flush()
    # A role re-created under the same name must not inherit the cached grants of this one.
    drop_cached(session, lambda: runtime.role_grants.invalidate(lambda k: k == (role.tenant_id, role.name)))
