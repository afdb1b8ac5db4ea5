"""Public entry points: the context a web app starts from, SaaS sign-up, the self-hosted first-run
setup, password reset and invitations by mail."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import select

from xynap.core.errors import AppError, Conflict, Forbidden, ValidationFailed
from xynap.platform.auth.deps import DbDep, RuntimeDep, UserDep, optional_tenant
from xynap.platform.onboarding import service
from xynap.platform.settings.models import GlobalSetting, TenantSetting
from xynap.platform.users.models import PlatformUser, User

router = APIRouter(tags=["onboarding"])


class ContextTenant(BaseModel):
    slug: str
    name: str
    locale: str


class ContextRead(BaseModel):
    kind: Literal["tenant", "platform"]
    mode: str
    tenant: ContextTenant | None
    signup_enabled: bool
    setup_required: bool
    base_domain: str


class SignupRequest(BaseModel):
    company: str = Field(min_length=1, max_length=200)
    slug: str = Field(min_length=1, max_length=63)
    admin_name: str = Field(min_length=1, max_length=200)
    admin_email: EmailStr
    password: str = Field(max_length=1024)
    locale: Literal["de", "en"] = "de"


class SignupTenant(BaseModel):
    slug: str
    name: str


class SignupResult(BaseModel):
    tenant: SignupTenant
    login_url: str = Field(description="Open it: the company's address with a one-time login in the fragment")


class SmtpSettings(BaseModel):
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=587, ge=1, le=65535)
    user: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, max_length=1024)
    sender: str | None = Field(default=None, alias="from", max_length=320)


class SetupRequest(SignupRequest):
    smtp: SmtpSettings | None = None
    modules: list[str] = []
    license: str | None = Field(default=None, max_length=100_000, description="The licence file's JSON text")


class SetupModule(BaseModel):
    slug: str
    name: str


class SetupStatus(BaseModel):
    setup_required: bool
    database: dict[str, Any]
    modules: list[SetupModule]
    license_required: bool


class ResetRequest(BaseModel):
    email: str = Field(min_length=3, max_length=320)


class ResetConfirm(BaseModel):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(max_length=1024)


async def _signup_enabled(db, runtime) -> bool:
    if runtime.settings.mode != "saas":
        return False
    row = await db.get(GlobalSetting, "platform.signup_enabled")
    return True if row is None or row.value is None else bool(row.value)


def _origin_for(request: Request, slug: str, runtime) -> str:
    host = request.headers.get("host", "")
    port = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else ""
    authority = f"{slug}.{runtime.settings.base_domain}" + (f":{port}" if port else "")
    return f"{request.url.scheme}://{authority}"


async def _handoff(db, runtime, request: Request, company) -> SignupResult:
    """A refresh token for the new admin, carried to the company's host in the URL fragment (never
    sent to a server); the web app there swaps it once for tokens (rotation spends it)."""
    from xynap.core.ids import uuid7
    from xynap.platform.auth.service import _issue

    tokens = await _issue(db, runtime, kind="tenant", user_id=company.admin.id, role="admin",
                          tenant_id=company.tenant.id, family_id=uuid7(),
                          ip=request.client.host if request.client else None,
                          ua=request.headers.get("user-agent"), single_use=True)
    url = f"{_origin_for(request, company.tenant.slug, runtime)}/welcome#refresh_token={tokens.refresh_token}"
    return SignupResult(tenant=SignupTenant(slug=company.tenant.slug, name=company.tenant.name), login_url=url)


@router.get("/api/context", response_model=ContextRead, summary="Where am I: company or platform, and what's open")
async def context(request: Request, db: DbDep, runtime: RuntimeDep) -> ContextRead:
    tenant = optional_tenant(request)
    info = None
    if tenant is not None:
        locale = await db.scalar(select(TenantSetting.value).where(TenantSetting.key == "company.locale"))
        info = ContextTenant(slug=tenant.slug, name=tenant.name, locale=locale or "de")
    async with runtime.db.platform_session() as platform:
        required = await service.setup_required(platform)
        signup = await _signup_enabled(platform, runtime)
    return ContextRead(kind="tenant" if tenant else "platform", mode=runtime.settings.mode, tenant=info,
                       signup_enabled=signup, setup_required=required, base_domain=runtime.settings.base_domain)


def _platform_host_only(request: Request) -> None:
    if optional_tenant(request) is not None:
        raise AppError("Call this on the platform's address, not a company's.", code="platform_host_required",
                       status=400)


@router.post("/api/signup", response_model=SignupResult, status_code=201, summary="Register a company (SaaS)")
async def signup(body: SignupRequest, request: Request, db: DbDep, runtime: RuntimeDep) -> SignupResult:
    _platform_host_only(request)
    db.sync_session.info["platform"] = True
    if not await _signup_enabled(db, runtime):
        raise Forbidden("Self-service sign-up is switched off on this platform.", code="signup_disabled")
    company = await service.create_company(
        db, runtime, company=body.company, slug=body.slug, admin_name=body.admin_name, admin_email=body.admin_email,
        password=body.password, status="trial", locale=body.locale,
    )
    if body.locale != "de":
        db.sync_session.info.update(tenant_id=company.tenant.id, platform=False)
        db.add(TenantSetting(key="company.locale", value=body.locale))
        await db.flush()
        db.sync_session.info.update(tenant_id=None, platform=True)
    return await _handoff(db, runtime, request, company)


@router.get("/api/setup", response_model=SetupStatus, summary="First-run status of a fresh installation")
async def setup_status(request: Request, runtime: RuntimeDep) -> SetupStatus:
    _platform_host_only(request)
    async with runtime.db.platform_session() as session:
        required = await service.setup_required(session)
    return SetupStatus(
        setup_required=required, database={"engine": runtime.db.dialect, "ok": True},
        modules=[SetupModule(slug=m.slug, name=m.name) for m in runtime.registry.bookable()],
        license_required=runtime.settings.mode == "selfhosted",
    )


@router.post("/api/setup", response_model=SignupResult, status_code=201,
             summary="First-run setup: company, admin, SMTP, modules, licence")
async def setup(body: SetupRequest, request: Request, db: DbDep, runtime: RuntimeDep) -> SignupResult:
    from xynap.core.security.passwords import hash_password
    from xynap.platform.catalog.subscriptions import book_module
    from xynap.platform.licenses.license import get_instance_id, refresh_license, verify_license
    from xynap.platform.users.service import normalize_email

    _platform_host_only(request)
    db.sync_session.info["platform"] = True
    if not await service.setup_required(db):
        raise Conflict("This installation is already set up; log in instead.", code="setup_done")
    unknown = sorted(set(body.modules) - {m.slug for m in runtime.registry.bookable()})
    if unknown:
        raise ValidationFailed(f"Not installed: {', '.join(unknown)}.", code="module_not_installed",
                               errors=[{"field": "modules", "message": f"unknown: {', '.join(unknown)}"}])
    user_limit = 1000
    if runtime.settings.mode == "selfhosted":
        if not body.license:
            raise ValidationFailed("A self-hosted installation needs its licence file.", code="license_required",
                                   errors=[{"field": "license", "message": "required"}])
        status = verify_license(body.license.encode(), runtime.settings.license_public_key,
                                instance_id=get_instance_id(runtime.settings))
        if not status.is_valid:
            raise ValidationFailed(status.reason, code="license_invalid",
                                   errors=[{"field": "license", "message": status.reason}])
        if status.payload and status.payload.max_users:
            user_limit = status.payload.max_users
    company = await service.create_company(
        db, runtime, company=body.company, slug=body.slug, admin_name=body.admin_name, admin_email=body.admin_email,
        password=body.password, status="active", plan="enterprise", user_limit=user_limit, locale=body.locale,
    )
    db.add(PlatformUser(email=normalize_email(body.admin_email), name=body.admin_name, role="owner",
                        password_hash=hash_password(body.password)))
    if body.smtp is not None:
        for key, value in (("smtp.host", body.smtp.host), ("smtp.port", body.smtp.port), ("smtp.user", body.smtp.user),
                           ("smtp.password", body.smtp.password), ("smtp.from", body.smtp.sender)):
            if value is not None:
                db.add(GlobalSetting(key=key, value=value))
    await db.flush()
    if body.license:
        path = runtime.settings.effective_license_file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body.license)
        await refresh_license(runtime.settings)
    db.sync_session.info.update(tenant_id=company.tenant.id, platform=False)
    for slug in body.modules:
        await book_module(db, runtime, company.tenant.id, slug, tier="enterprise", activate=True)
    db.sync_session.info.update(tenant_id=None, platform=True)
    runtime.invalidate_tenant(company.tenant.id)
    return await _handoff(db, runtime, request, company)


def _link(request: Request, path: str, secret: str) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', 'localhost')}/{path}#token={secret}"


@router.post("/api/password-reset", status_code=202, summary="Mail a password-reset link")
async def password_reset(body: ResetRequest, request: Request, db: DbDep, runtime: RuntimeDep) -> Response:
    """Always 202, whether the address exists or not, so the endpoint reveals no accounts."""
    from xynap.platform.mail.service import send_mail

    tenant = optional_tenant(request)
    email = body.email.strip().casefold()
    window = runtime.settings.login_failure_window_seconds
    key = f"reset:{tenant.id if tenant else 'platform'}:{email}"
    if await runtime.login_counter.hit(key, window) > runtime.settings.login_max_failures_per_account:
        return Response(status_code=202)
    model = User if tenant else PlatformUser
    user = await db.scalar(select(model).where(model.email == email))
    if user is not None and user.is_active:
        secret = await service.issue_action_token(db, purpose="reset", user_id=user.id,
                                                  tenant_id=tenant.id if tenant else None)
        where = tenant.name if tenant else "XyNaP"
        await send_mail(db, runtime, to=user.email, purpose="password_reset",
                        subject=f"{where}: Passwort zurücksetzen / reset your password",
                        body=(f"Hallo {user.name},\n\nüber diesen Link setzen Sie Ihr Passwort neu (1 Stunde gültig):\n"
                              f"{_link(request, 'reset-password', secret)}\n\n"
                              "Use the link above to choose a new password (valid for one hour).\n"
                              "Wenn Sie das nicht angefordert haben, ignorieren Sie diese Mail.\n"))
    return Response(status_code=202)


@router.post("/api/password-reset/confirm", status_code=204, summary="Set a new password with a mailed token")
async def password_reset_confirm(body: ResetConfirm, request: Request, db: DbDep, runtime: RuntimeDep) -> Response:
    """Redeems both reset and invitation links; ends every other session of the user."""
    from xynap.platform.users.service import set_password

    tenant = optional_tenant(request)
    token = await service.redeem_action_token(db, body.token, tenant.id if tenant else None)
    user = await db.get(User if tenant else PlatformUser, token.user_id)
    if user is None or not user.is_active:
        raise AppError("This link is not valid (any more); request a new one.", code="token_invalid", status=400)
    if tenant is None:
        from xynap.core.security.passwords import hash_password
        from xynap.platform.users.service import check_password

        check_password(body.password)
        user.password_hash = hash_password(body.password)
    else:
        await set_password(db, user, body.password)
    await service.end_sessions(db, user.id)
    runtime.principals.invalidate(lambda k: k[1] == user.id)
    return Response(status_code=204)


@router.post("/api/users/{user_id}/invite", status_code=202, tags=["users"],
             summary="Mail an invitation with a link to choose a password")
async def invite(user_id: uuid.UUID, request: Request, db: DbDep, runtime: RuntimeDep,
                 principal: UserDep) -> Response:
    from xynap.platform.mail.service import send_mail
    from xynap.platform.users.service import get_user

    if not (principal.can("users:create") or principal.can("users:update")):
        raise Forbidden("Your role lacks the permission 'users:create'.", code="permission_denied")
    user = await get_user(db, user_id)
    if not user.is_active:
        raise Conflict("The user is deactivated; activate them first.", code="user_inactive")
    tenant = optional_tenant(request)
    secret = await service.issue_action_token(db, purpose="invite", user_id=user.id, tenant_id=tenant.id)
    link = _link(request, "accept-invite", secret)
    await send_mail(db, runtime, to=user.email, purpose="invitation",
                    subject=f"Einladung zu {tenant.name} / invitation to {tenant.name}",
                    body=(f"Hallo {user.name},\n\n{principal.name} lädt Sie zu {tenant.name} auf XyNaP ein.\n"
                          f"Wählen Sie hier Ihr Passwort (7 Tage gültig):\n{link}\n\n"
                          f"{principal.name} invited you to {tenant.name} on XyNaP. Choose your password with "
                          "the link above (valid for 7 days).\n"))
    return Response(status_code=202)


