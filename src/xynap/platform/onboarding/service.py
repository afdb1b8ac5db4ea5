"""Creating a company with its first admin (sign-up, first-run setup, console), and mailed action tokens."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.db import utcnow
from xynap.core.errors import AppError
from xynap.core.security.tokens import hash_refresh_secret, new_refresh_secret
from xynap.platform.auth.models import RefreshToken
from xynap.platform.onboarding.models import ActionToken
from xynap.platform.tenants.models import Tenant
from xynap.platform.users.models import PlatformUser, User

TOKEN_TTL = {"reset": dt.timedelta(hours=1), "invite": dt.timedelta(days=7)}


@dataclass
class Company:
    tenant: Tenant
    admin: User


async def create_company(session: AsyncSession, runtime: Any, *, company: str, slug: str, admin_name: str,
                         admin_email: str, password: str, status: str = "trial", plan: str = "starter",
                         user_limit: int = 5, locale: str = "de", reseller_id: uuid.UUID | None = None) -> Company:
    """Tenant and first admin in one transaction: a failure leaves neither behind.

    ``session`` is a platform session; it is bound to the new tenant while the admin is written.
    """
    from xynap.platform.tenants.service import create_tenant
    from xynap.platform.users.service import check_password, create_user

    check_password(password)  # before anything is written, so the error names the field at once
    tenant = await create_tenant(session, slug=slug, name=company, plan=plan, status=status, user_limit=user_limit,
                                 reseller_id=reseller_id)
    info = session.sync_session.info
    saved = dict(tenant_id=info.get("tenant_id"), platform=info.get("platform"))
    info.update(tenant_id=tenant.id, platform=False)
    try:
        admin = await create_user(session, runtime, email=admin_email, name=admin_name, role="admin",
                                  password=password, locale=locale)
    finally:
        info.update(saved)
    tenant.owner_id = admin.id
    await session.flush()
    return Company(tenant, admin)


async def setup_required(session: AsyncSession) -> bool:
    """A fresh installation: no company and no platform user yet (the first-run wizard is open)."""
    tenants = await session.scalar(select(func.count()).select_from(Tenant))
    staff = await session.scalar(select(func.count()).select_from(PlatformUser))
    return not tenants and not staff


async def issue_action_token(session: AsyncSession, *, purpose: str, user_id: uuid.UUID,
                             tenant_id: uuid.UUID | None) -> str:
    secret, digest = new_refresh_secret()
    session.add(ActionToken(token_hash=digest, purpose=purpose, user_id=user_id, tenant_ref=tenant_id,
                            expires_at=utcnow() + TOKEN_TTL[purpose]))
    await session.flush()
    return secret


async def redeem_action_token(session: AsyncSession, secret: str, tenant_id: uuid.UUID | None) -> ActionToken:
    token = await session.scalar(
        select(ActionToken).where(ActionToken.token_hash == hash_refresh_secret(secret)).with_for_update()
    )
    if token is None or token.used_at is not None or token.tenant_ref != tenant_id:
        raise AppError("This link is not valid (any more); request a new one.", code="token_invalid", status=400)
    if token.expires_at <= utcnow():
        raise AppError("This link has expired; request a new one.", code="token_expired", status=400)
    token.used_at = utcnow()
    return token


async def end_sessions(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Revoke every refresh token of a user (after a password reset)."""
    await session.execute(
        update(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
