"""Settings of the company (tenant) and of the platform (global)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from xynap.core.audit import mark_secret
from xynap.core.errors import NotFound
from xynap.core.security.permissions import Access, Principal
from xynap.platform.auth.deps import DbDep, RuntimeDep, require, require_platform
from xynap.platform.settings.models import GlobalSetting, TenantSetting
from xynap.platform.settings.registry import declared, validate_value

router = APIRouter(tags=["settings"])


class SettingRead(BaseModel):
    key: str
    type: str
    label: str
    description: str
    module: str | None
    default: Any
    value: Any
    secret: bool


class SettingWrite(BaseModel):
    value: Any


def _read(key, decl, module, stored) -> SettingRead:
    value = stored if stored is not None else decl.default
    if decl.secret and value is not None:
        value = "***"
    return SettingRead(key=key, type=decl.type, label=decl.label or key, description=decl.description,
                       module=module, default=None if decl.secret else decl.default, value=value, secret=decl.secret)


@router.get("/api/settings", response_model=list[SettingRead], summary="The company's settings")
async def list_settings(db: DbDep, runtime: RuntimeDep, access: Annotated[Access, require("settings:read")]) -> list:
    stored = {s.key: s.value for s in await db.scalars(select(TenantSetting))}
    return [_read(k, d, m, stored.get(k)) for k, (d, m) in sorted(declared(runtime, "tenant").items())]


@router.put("/api/settings/{key}", response_model=SettingRead, summary="Change a company setting")
async def put_setting(key: str, body: SettingWrite, db: DbDep, runtime: RuntimeDep,
                      access: Annotated[Access, require("settings:update")]) -> SettingRead:
    decls = declared(runtime, "tenant")
    if key not in decls:
        raise NotFound(f"There is no setting {key!r}.", code="setting_not_found")
    decl, module = decls[key]
    value = validate_value(key, decl, body.value)
    row = await db.scalar(select(TenantSetting).where(TenantSetting.key == key))
    if row is None:
        row = TenantSetting(key=key)
        db.add(row)
    if decl.secret:
        mark_secret(row, "value")
    row.value = value
    await db.flush()
    return _read(key, decl, module, value)


@router.get("/api/platform/settings", response_model=list[SettingRead], summary="Platform settings")
async def list_global(db: DbDep, runtime: RuntimeDep,
                      principal: Annotated[Principal, require_platform("owner", "admin")]) -> list:
    stored = {s.key: s.value for s in await db.scalars(select(GlobalSetting))}
    return [_read(k, d, m, stored.get(k)) for k, (d, m) in sorted(declared(runtime, "global").items())]


@router.put("/api/platform/settings/{key}", response_model=SettingRead, summary="Change a platform setting")
async def put_global(key: str, body: SettingWrite, db: DbDep, runtime: RuntimeDep,
                     principal: Annotated[Principal, require_platform("owner", "admin")]) -> SettingRead:
    decls = declared(runtime, "global")
    if key not in decls:
        raise NotFound(f"There is no setting {key!r}.", code="setting_not_found")
    decl, module = decls[key]
    value = validate_value(key, decl, body.value)
    row = await db.get(GlobalSetting, key)
    if row is None:
        row = GlobalSetting(key=key)
        db.add(row)
    if decl.secret:
        mark_secret(row, "value")
    row.value = value
    await db.flush()
    return _read(key, decl, module, value)
