"""Reading the audit log: a tenant's admins see their company's, platform staff see everything."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from xynap.core.errors import ValidationFailed
from xynap.core.kernel_models import AuditRecord
from xynap.core.pagination import Page, paginate
from xynap.core.security.permissions import Access, Principal
from xynap.platform.auth.deps import DbDep, require, require_platform

router = APIRouter(tags=["audit"])


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tenant_id: uuid.UUID | None
    created_at: dt.datetime
    actor_kind: str
    actor_id: uuid.UUID | None
    actor_email: str | None
    action: str
    entity_type: str | None
    entity_id: str | None
    changes: dict[str, Any]
    status_code: int | None
    ip: str | None
    user_agent: str | None
    request_id: str | None


def _utc(value: dt.datetime | None, field: str) -> dt.datetime | None:
    """Query times in UTC; a time without offset is read as UTC."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise ValidationFailed(f"{field} is out of range.", code="validation_error",
                               errors=[{"field": field, "in": "query", "message": "out of range"}]) from None


async def _list(db, *, action, actor_id, entity_type, entity_id, since, until, limit, cursor, tenant_id=None):
    since, until = _utc(since, "since"), _utc(until, "until")
    stmt = select(AuditRecord)
    if action:
        stmt = stmt.where(AuditRecord.action.startswith(action))
    if actor_id:
        stmt = stmt.where(AuditRecord.actor_id == actor_id)
    if entity_type:
        stmt = stmt.where(AuditRecord.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditRecord.entity_id == entity_id)
    if since:
        stmt = stmt.where(AuditRecord.created_at >= since)
    if until:
        stmt = stmt.where(AuditRecord.created_at < until)
    if tenant_id:
        stmt = stmt.where(AuditRecord.tenant_id == tenant_id)
    rows, next_cursor = await paginate(db, stmt, model=AuditRecord, sort="-created_at",
                                       sortable={"created_at": AuditRecord.created_at}, limit=limit, cursor=cursor)
    return Page(items=[AuditRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/api/audit", response_model=Page[AuditRead], summary="The company's audit log, newest first")
async def list_audit(
    db: DbDep, access: Annotated[Access, require("audit:read")],
    action: Annotated[str | None, Query(max_length=100, description="prefix, e.g. 'auth.' or 'user.'")] = None,
    actor_id: uuid.UUID | None = None, entity_type: Annotated[str | None, Query(max_length=100)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    since: dt.datetime | None = None, until: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> Page[AuditRead]:
    return await _list(db, action=action, actor_id=actor_id, entity_type=entity_type, entity_id=entity_id,
                       since=since, until=until, limit=limit, cursor=cursor)


@router.get("/api/platform/audit", response_model=Page[AuditRead], summary="The whole platform's audit log")
async def list_platform_audit(
    db: DbDep, principal: Annotated[Principal, require_platform("owner", "admin")],
    tenant_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    actor_id: uuid.UUID | None = None, entity_type: Annotated[str | None, Query(max_length=100)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    since: dt.datetime | None = None, until: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> Page[AuditRead]:
    return await _list(db, action=action, actor_id=actor_id, entity_type=entity_type, entity_id=entity_id,
                       since=since, until=until, limit=limit, cursor=cursor, tenant_id=tenant_id)
