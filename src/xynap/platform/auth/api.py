from __future__ import annotations

from fastapi import APIRouter, Request, Response

from xynap.core.security.tokens import decode_access_token
from xynap.platform.auth import service
from xynap.platform.auth.deps import DbDep, PrincipalDep, RuntimeDep, _bearer, optional_tenant
from xynap.platform.auth.schemas import LoginRequest, LogoutRequest, Me, MeTenant, RefreshRequest, TokenPair

router = APIRouter(tags=["auth"])


def _client(request: Request) -> tuple[str | None, str | None]:
    return (request.client.host if request.client else None), request.headers.get("user-agent")


@router.post("/api/login", response_model=TokenPair, summary="Log in with e-mail and password")
async def login(body: LoginRequest, request: Request, db: DbDep, runtime: RuntimeDep) -> TokenPair:
    """The tenant comes from the host name or ``X-Tenant``; on the platform's own host, platform users log in."""
    ip, ua = _client(request)
    tokens = await service.login(db, runtime, optional_tenant(request), body.email, body.password,
                                 ip=ip, user_agent=ua, request=request)
    return TokenPair(access_token=tokens.access_token, refresh_token=tokens.refresh_token,
                     expires_in=tokens.expires_in)


@router.post("/api/refresh", response_model=TokenPair, summary="Swap a refresh token for new tokens")
async def refresh(body: RefreshRequest, request: Request, db: DbDep, runtime: RuntimeDep) -> TokenPair:
    ip, ua = _client(request)
    tokens = await service.refresh(db, runtime, optional_tenant(request), body.refresh_token,
                                   ip=ip, user_agent=ua, request=request)
    return TokenPair(access_token=tokens.access_token, refresh_token=tokens.refresh_token,
                     expires_in=tokens.expires_in)


@router.post("/api/logout", status_code=204, summary="End this login (revokes its refresh tokens)")
async def logout(body: LogoutRequest, request: Request, db: DbDep, principal: PrincipalDep) -> Response:
    token = _bearer(request)
    family = decode_access_token(token).family_id if token else None
    await service.logout(db, optional_tenant(request), family_id=family, refresh_secret=body.refresh_token)
    return Response(status_code=204)


@router.get("/api/me", response_model=Me, summary="Who am I, in which tenant, with which permissions")
async def me(request: Request, principal: PrincipalDep, db: DbDep) -> Me:
    tenant = optional_tenant(request)
    locale = "de"
    if not principal.is_platform:
        from xynap.platform.users.models import User

        user = await db.get(User, principal.user_id)
        locale = user.locale if user else locale
    return Me(
        kind=principal.kind, id=principal.user_id, email=principal.email, name=principal.name,
        role=principal.role, locale=locale, permissions=dict(principal.grants),
        tenant=MeTenant(id=tenant.id, slug=tenant.slug, name=tenant.name, status=tenant.status,
                        modules=dict(tenant.modules)) if tenant else None,
    )
