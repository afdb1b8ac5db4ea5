"""Tenant users, teams, roles and the permission catalog."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import or_, select

from xynap.core.errors import Forbidden, NotFound, Unauthorized, check_version
from xynap.core.pagination import Page, paginate
from xynap.core.security.passwords import verify_password
from xynap.core.security.permissions import Access
from xynap.platform.auth.deps import DbDep, RuntimeDep, UserDep, require
from xynap.platform.users import service
from xynap.platform.users.models import Role, Team, User
from xynap.platform.users.schemas import (
    PasswordChange,
    PermissionInfo,
    RoleCreate,
    RoleRead,
    RoleUpdate,
    TeamCreate,
    TeamMembers,
    TeamRead,
    TeamUpdate,
    UserCreate,
    UserRead,
    UserUpdate,
)

router = APIRouter(tags=["users"])

USER_SORTS = {"name": User.name, "email": User.email, "created_at": User.created_at, "role": User.role}


@router.get("/api/users", response_model=Page[UserRead], summary="List the company's users")
async def list_users(
    db: DbDep,
    access: Annotated[Access, require("users:read")],
    q: Annotated[str | None, Query(max_length=100, description="Part of name or e-mail")] = None,
    role: Annotated[str | None, Query(max_length=50)] = None,
    is_active: bool | None = None,
    sort: Annotated[str, Query(description="name, email, role, created_at; prefix - for descending")] = "name",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[UserRead]:
    stmt = select(User)
    if q:
        # autoescape: "%" and "_" in the search text are searched for, not wildcards
        stmt = stmt.where(or_(User.email.contains(q.casefold(), autoescape=True),
                              User.name.icontains(q, autoescape=True)))
    if role:
        stmt = stmt.where(User.role == role)
    if is_active is not None:
        stmt = stmt.where(User.is_active.is_(is_active))
    rows, next_cursor = await paginate(db, stmt, model=User, sort=sort, sortable=USER_SORTS, limit=limit,
                                       cursor=cursor)
    return Page(items=[UserRead.model_validate(u) for u in rows], next_cursor=next_cursor)


@router.post("/api/users", response_model=UserRead, status_code=201, summary="Create a user")
async def create_user(body: UserCreate, db: DbDep, runtime: RuntimeDep,
                      access: Annotated[Access, require("users:create")]) -> UserRead:
    user = await service.create_user(db, runtime, email=body.email, name=body.name, role=body.role,
                                     password=body.password, locale=body.locale)
    return UserRead.model_validate(user)


@router.get("/api/users/{user_id}", response_model=UserRead, summary="One user")
async def get_user(user_id: uuid.UUID, db: DbDep, access: Annotated[Access, require("users:read")]) -> UserRead:
    return UserRead.model_validate(await service.read_user(db, user_id))


@router.patch("/api/users/{user_id}", response_model=UserRead, summary="Change a user (role, name, active)")
async def update_user(user_id: uuid.UUID, body: UserUpdate, db: DbDep, runtime: RuntimeDep,
                      access: Annotated[Access, require("users:update")]) -> UserRead:
    user = await service.get_user(db, user_id)
    check_version(user, body.version)
    user = await service.update_user(db, runtime, user, name=body.name, role=body.role, is_active=body.is_active,
                                     locale=body.locale)
    return UserRead.model_validate(user)


@router.delete("/api/users/{user_id}", status_code=204, summary="Delete a user")
async def delete_user(user_id: uuid.UUID, db: DbDep, runtime: RuntimeDep,
                      access: Annotated[Access, require("users:delete")]) -> Response:
    user = await service.get_user(db, user_id)
    if user.id == access.principal.user_id:
        raise Forbidden("You cannot delete yourself.", code="cannot_delete_self")
    await service.delete_user(db, runtime, user)
    return Response(status_code=204)


@router.put("/api/users/{user_id}/password", status_code=204, summary="Set a user's password")
async def set_password(user_id: uuid.UUID, body: PasswordChange, db: DbDep, principal: UserDep) -> Response:
    """Users change their own password (with the current one); admins (users:update) set anyone's."""
    user = await service.get_user(db, user_id)
    if user.id == principal.user_id:
        if not verify_password(user.password_hash, body.current_password or ""):
            raise Unauthorized("The current password is wrong.", code="invalid_credentials")
    elif not principal.can("users:update"):
        raise Forbidden("Your role lacks the permission 'users:update'.", code="permission_denied")
    await service.set_password(db, user, body.password)
    return Response(status_code=204)


# --- teams ----------------------------------------------------------------------------------------


async def _team_read(db, team: Team) -> TeamRead:
    members = await service.team_member_ids(db, [team.id])
    return TeamRead(id=team.id, name=team.name, description=team.description, version=team.version,
                    member_ids=members[team.id], created_at=team.created_at)


async def _get_team(db, team_id: uuid.UUID) -> Team:
    team = await db.get(Team, team_id)
    if team is None:
        raise NotFound("No such team.", code="team_not_found")
    return team


@router.get("/api/teams", response_model=Page[TeamRead], tags=["teams"], summary="List teams")
async def list_teams(db: DbDep, access: Annotated[Access, require("teams:read")],
                     limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
                     sort: str = "name") -> Page[TeamRead]:
    rows, next_cursor = await paginate(db, select(Team), model=Team, sort=sort,
                                       sortable={"name": Team.name, "created_at": Team.created_at},
                                       limit=limit, cursor=cursor)
    members = await service.team_member_ids(db, [t.id for t in rows])
    return Page(items=[TeamRead(id=t.id, name=t.name, description=t.description, version=t.version,
                                member_ids=members[t.id], created_at=t.created_at) for t in rows],
                next_cursor=next_cursor)


@router.post("/api/teams", response_model=TeamRead, status_code=201, tags=["teams"], summary="Create a team")
async def create_team(body: TeamCreate, db: DbDep, runtime: RuntimeDep,
                      access: Annotated[Access, require("teams:create")]) -> TeamRead:
    team = Team(name=body.name.strip(), description=body.description)
    db.add(team)
    await db.flush()
    service.publish_team(db, "team.created", team)
    await service.set_team_members(db, runtime, team, body.member_ids)
    return await _team_read(db, team)


@router.get("/api/teams/{team_id}", response_model=TeamRead, tags=["teams"], summary="One team")
async def get_team(team_id: uuid.UUID, db: DbDep, access: Annotated[Access, require("teams:read")]) -> TeamRead:
    return await _team_read(db, await _get_team(db, team_id))


@router.patch("/api/teams/{team_id}", response_model=TeamRead, tags=["teams"], summary="Rename a team")
async def update_team(team_id: uuid.UUID, body: TeamUpdate, db: DbDep,
                      access: Annotated[Access, require("teams:update")]) -> TeamRead:
    team = await _get_team(db, team_id)
    check_version(team, body.version)
    if body.name is not None:
        team.name = body.name.strip()
    if body.description is not None:
        team.description = body.description
    await db.flush()
    service.publish_team(db, "team.updated", team)
    return await _team_read(db, team)


@router.put("/api/teams/{team_id}/members", response_model=TeamRead, tags=["teams"], summary="Set members")
async def set_members(team_id: uuid.UUID, body: TeamMembers, db: DbDep, runtime: RuntimeDep,
                      access: Annotated[Access, require("teams:update")]) -> TeamRead:
    team = await _get_team(db, team_id)
    await service.set_team_members(db, runtime, team, body.user_ids)
    return await _team_read(db, team)


@router.delete("/api/teams/{team_id}", status_code=204, tags=["teams"], summary="Delete a team")
async def delete_team(team_id: uuid.UUID, db: DbDep, runtime: RuntimeDep,
                      access: Annotated[Access, require("teams:delete")]) -> Response:
    team = await _get_team(db, team_id)
    service.publish_team(db, "team.deleted", team)
    await db.delete(team)
    await db.flush()
    service.drop_cached(db, lambda: runtime.principals.invalidate(lambda k: k[0] == team.tenant_id))
    return Response(status_code=204)


# --- roles ----------------------------------------------------------------------------------------


def _role_read(runtime, role: Role) -> RoleRead:
    return RoleRead(id=role.id, name=role.name, label=role.label, is_system=role.is_system, version=role.version,
                    grants=service.effective_grants(runtime, role), overrides=dict(role.grants or {}))


async def _get_role(db, role_id: uuid.UUID) -> Role:
    role = await db.get(Role, role_id)
    if role is None:
        raise NotFound("No such role.", code="role_not_found")
    return role


@router.get("/api/permissions", response_model=list[PermissionInfo], tags=["roles"],
            summary="Every permission the platform and the installed modules declare")
async def list_permissions(runtime: RuntimeDep, access: Annotated[Access, require("roles:read")]) -> list:
    owners = {id(p): m.slug for m in runtime.registry.enabled() for p in m.permissions}
    return [PermissionInfo(permission=f"{p.entity}:{a}", entity=p.entity, action=a, scoped=p.scoped,
                           label=p.label or p.entity, module=owners.get(id(p)))
            for p in runtime.all_permissions() for a in p.actions]


@router.get("/api/roles", response_model=list[RoleRead], tags=["roles"], summary="Roles with effective grants")
async def list_roles(db: DbDep, runtime: RuntimeDep, access: Annotated[Access, require("roles:read")]) -> list:
    roles = (await db.scalars(select(Role).order_by(Role.is_system.desc(), Role.name))).all()
    return [_role_read(runtime, r) for r in roles]


@router.post("/api/roles", response_model=RoleRead, status_code=201, tags=["roles"], summary="Create a role")
async def create_role(body: RoleCreate, db: DbDep, runtime: RuntimeDep,
                      access: Annotated[Access, require("roles:update")]) -> RoleRead:
    service.validate_grants(runtime, dict(body.grants))
    role = Role(name=body.name, label=body.label, is_system=False, grants=dict(body.grants))
    db.add(role)
    await db.flush()
    service.publish_role(db, "role.created", role)
    return _role_read(runtime, role)


@router.get("/api/roles/{role_id}", response_model=RoleRead, tags=["roles"], summary="One role")
async def get_role(role_id: uuid.UUID, db: DbDep, runtime: RuntimeDep,
                   access: Annotated[Access, require("roles:read")]) -> RoleRead:
    return _role_read(runtime, await _get_role(db, role_id))


@router.patch("/api/roles/{role_id}", response_model=RoleRead, tags=["roles"], summary="Change grants or label")
async def update_role(role_id: uuid.UUID, body: RoleUpdate, db: DbDep, runtime: RuntimeDep,
                      access: Annotated[Access, require("roles:update")]) -> RoleRead:
    role = await _get_role(db, role_id)
    check_version(role, body.version)
    role = await service.update_role(db, runtime, role, label=body.label, grants=body.grants)
    return _role_read(runtime, role)


@router.delete("/api/roles/{role_id}", status_code=204, tags=["roles"], summary="Delete a custom role")
async def delete_role(role_id: uuid.UUID, db: DbDep, runtime: RuntimeDep,
                      access: Annotated[Access, require("roles:update")]) -> Response:
    await service.delete_role(db, runtime, await _get_role(db, role_id))
    return Response(status_code=204)
