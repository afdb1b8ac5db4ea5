from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from xynap.core.pagination import Page, paginate
from xynap.core.security.permissions import Access, Principal
from xynap.platform.auth.deps import DbDep, require, require_platform
from xynap.platform.mail.models import MailMessage

router = APIRouter(tags=["mail"])


class MailRead(BaseModel):
    id: uuid.UUID
    to: str
    subject: str
    body_text: str
    purpose: str
    created_at: dt.datetime
    delivered: bool
    last_error: str | None


def _read(m: MailMessage) -> MailRead:
    return MailRead(id=m.id, to=m.to, subject=m.subject, body_text=m.body_text, purpose=m.purpose,
                    created_at=m.created_at, delivered=m.delivered_at is not None, last_error=m.last_error)


async def _page(db, limit: int, cursor: str | None) -> Page[MailRead]:
    rows, next_cursor = await paginate(db, select(MailMessage), model=MailMessage, sort="-created_at",
                                       sortable={"created_at": MailMessage.created_at}, limit=limit, cursor=cursor)
    return Page(items=[_read(m) for m in rows], next_cursor=next_cursor)


@router.get("/api/mail/outbox", response_model=Page[MailRead], summary="Mails the platform sent for this company")
async def outbox(db: DbDep, access: Annotated[Access, require("mail_outbox:read")],
                 limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None) -> Page[MailRead]:
    return await _page(db, limit, cursor)


@router.get("/api/platform/mail/outbox", response_model=Page[MailRead], summary="Every mail of the platform")
async def platform_outbox(db: DbDep, principal: Annotated[Principal, require_platform("owner", "admin")],
                          limit: Annotated[int, Query(ge=1, le=200)] = 50,
                          cursor: str | None = None) -> Page[MailRead]:
    return await _page(db, limit, cursor)
