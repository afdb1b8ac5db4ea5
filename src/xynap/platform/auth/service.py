"""Login, refresh-token rotation with reuse detection, and logout."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.audit import audit
from xynap.core.db import utcnow
from xynap.core.errors import Forbidden, TooManyRequests, Unauthorized
from xynap.core.ids import uuid7
from xynap.core.security.passwords import hash_password, needs_rehash, verify_password
from xynap.core.security.tokens import hash_refresh_secret, issue_access_token, new_refresh_secret
from xynap.core.tenancy import TenantInfo
from xynap.platform.auth.models import RefreshToken
from xynap.platform.users.models import PlatformUser, User
from xynap.runtime import Runtime


@dataclass
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int


def normalize_email(email: str) -> str:
    return email.strip().casefold()


async def _issue(session: AsyncSession, runtime: Runtime, *, kind: str, user_id: uuid.UUID, role: str,
                 tenant_id: uuid.UUID | None, family_id: uuid.UUID, ip: str | None, ua: str | None,
                 single_use: bool = False) -> IssuedTokens:
    secret, digest = new_refresh_secret()
    session.add(RefreshToken(
        family_id=family_id, token_hash=digest, principal_kind=kind, user_id=user_id, tenant_ref=tenant_id,
        expires_at=utcnow() + dt.timedelta(seconds=runtime.settings.refresh_token_ttl_seconds),
        ip=ip, user_agent=(ua or "")[:300] or None, single_use=single_use,
    ))
    access, ttl = issue_access_token(user_id=user_id, kind=kind, tenant_id=tenant_id, role=role, family_id=family_id)
    return IssuedTokens(access, secret, ttl)


async def login(session: AsyncSession, runtime: Runtime, tenant: TenantInfo | None, email: str, password: str,
                *, ip: str | None, user_agent: str | None, request=None) -> IssuedTokens:
    settings = runtime.settings
    email = normalize_email(email)
    counter = runtime.login_counter
    window = settings.login_failure_window_seconds
    account_key = f"acct:{tenant.id if tenant else 'platform'}:{email}"
    ip_key = f"ip:{ip}"
    if (await counter.count(account_key, window) >= settings.login_max_failures_per_account
            or await counter.count(ip_key, window) >= settings.login_max_failures_per_ip):
        session.sync_session.info["commit_on_error"] = True
        audit(session, "auth.login_blocked", request=request, tenant_id=tenant.id if tenant else None,
              actor_email=email, status_code=429)
        raise TooManyRequests("Too many failed logins; wait a few minutes and try again.",
                              code="login_rate_limited", headers={"Retry-After": str(window)})

    user: User | PlatformUser | None
    if tenant is not None:
        user = await session.scalar(select(User).where(User.email == email))
    else:
        user = await session.scalar(select(PlatformUser).where(PlatformUser.email == email))
    if user is None or not verify_password(user.password_hash, password):
        await counter.hit(account_key, window)
        await counter.hit(ip_key, window)
        session.sync_session.info["commit_on_error"] = True
        audit(session, "auth.login_failed", request=request, tenant_id=tenant.id if tenant else None,
              actor_email=email, entity_type="user", entity_id=user.id if user else None, status_code=401)
        raise Unauthorized("E-mail or password is wrong.", code="invalid_credentials")
    if not user.is_active:
        session.sync_session.info["commit_on_error"] = True
        audit(session, "auth.login_failed", request=request, tenant_id=tenant.id if tenant else None,
              actor_email=email, entity_type="user", entity_id=user.id, status_code=403)
        raise Forbidden("This account is deactivated.", code="user_inactive")
    await counter.reset(account_key)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    # Not through the ORM: that would bump the record's version, and an admin editing this user
    # would get a version conflict just because the user logged in meanwhile.
    await session.execute(update(type(user)).where(type(user).id == user.id).values(last_login_at=utcnow())
                          .execution_options(synchronize_session=False))
    kind = "tenant" if tenant is not None else "platform"
    tokens = await _issue(session, runtime, kind=kind, user_id=user.id, role=user.role,
                          tenant_id=tenant.id if tenant else None, family_id=uuid7(), ip=ip, ua=user_agent)
    audit(session, "auth.login", request=request, tenant_id=tenant.id if tenant else None, actor_kind=kind,
          actor_id=user.id, actor_email=user.email, entity_type="user", entity_id=user.id, status_code=200)
    return tokens


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken).where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def _lost_response(session: AsyncSession, runtime: Runtime, token: RefreshToken, *, ip: str | None,
                         user_agent: str | None) -> bool:
    """Was this spent token's answer lost on its way (a reload or a dropped connection mid-refresh)?

    Yes when it was spent moments ago and its successor went to the very same client: a browser that
    reloads while refreshing sends its old token again and would otherwise lose its login. A copy
    used from anywhere else, or later, still counts as theft."""
    grace = runtime.settings.refresh_reuse_grace_seconds
    if (grace <= 0 or token.single_use or token.used_at is None
            or utcnow() - token.used_at > dt.timedelta(seconds=grace)):
        return False
    successor = await session.scalar(
        select(RefreshToken).where(RefreshToken.family_id == token.family_id, RefreshToken.revoked_at.is_(None))
        .order_by(RefreshToken.created_at.desc()).limit(1)
    )
    return (successor is not None and successor.id != token.id and successor.ip == ip
            and successor.user_agent == ((user_agent or "")[:300] or None))


async def refresh(session: AsyncSession, runtime: Runtime, tenant: TenantInfo | None, secret: str, *,
                  ip: str | None, user_agent: str | None, request=None) -> IssuedTokens:
    token = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_secret(secret)).with_for_update()
    )
    tenant_id = tenant.id if tenant else None
    if token is None or token.tenant_ref != tenant_id:
        raise Unauthorized("The refresh token is not valid here.", code="refresh_invalid")
    if token.revoked_at is not None:
        raise Unauthorized("The session was ended; log in again.", code="refresh_revoked")
    if token.used_at is not None and not await _lost_response(session, runtime, token, ip=ip, user_agent=user_agent):
        # A spent token came back: someone holds a copy. End the whole login for safety.
        await revoke_family(session, token.family_id)
        audit(session, "auth.refresh_reuse", request=request, tenant_id=tenant_id, actor_kind=token.principal_kind,
              actor_id=token.user_id, entity_type="session", entity_id=token.family_id, status_code=401)
        session.sync_session.info["commit_on_error"] = True
        raise Unauthorized("This refresh token was already used; the session is ended. Log in again.",
                           code="refresh_reused")
    if token.expires_at <= utcnow():
        raise Unauthorized("The session has expired; log in again.", code="refresh_expired")
    if token.principal_kind == "tenant":
        user = await session.get(User, token.user_id)
    else:
        user = await session.get(PlatformUser, token.user_id)
    if user is None or not user.is_active:
        await revoke_family(session, token.family_id)
        session.sync_session.info["commit_on_error"] = True
        raise Unauthorized("The user no longer exists or is deactivated.", code="user_inactive")
    token.used_at = utcnow()
    return await _issue(session, runtime, kind=token.principal_kind, user_id=user.id, role=user.role,
                        tenant_id=tenant_id, family_id=token.family_id, ip=ip, ua=user_agent)


async def logout(session: AsyncSession, tenant: TenantInfo | None, *, family_id: uuid.UUID | None,
                 refresh_secret: str | None) -> None:
    if refresh_secret:
        token = await session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_secret(refresh_secret))
        )
        if token is not None and token.tenant_ref == (tenant.id if tenant else None):
            family_id = token.family_id
    if family_id is not None:
        await revoke_family(session, family_id)
