"""Tenants: creation with their system roles, status changes, and host → tenant resolution."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.db import Database, utcnow
from xynap.core.errors import AppError, Conflict, NotFound, ValidationFailed
from xynap.core.tenancy import ACCESS_READ, ACCESS_WRITE, HostTarget, TenantInfo
from xynap.platform.catalog.models import ModuleRecord, Subscription
from xynap.platform.tenants.models import TENANT_PLANS, TENANT_STATUSES, Tenant
from xynap.platform.users.models import SYSTEM_TENANT_ROLES, Role

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
RESERVED_SLUGS = {"www", "api", "admin", "app", "mail", "static", "assets", "platform", "status", "docs"}
ROLE_LABELS = {"admin": "Administrator", "manager": "Manager", "staff": "Mitarbeiter", "external": "Extern"}
TRIAL_DAYS = 14


def validate_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise ValidationFailed(
            "The slug may hold lower-case letters, digits and hyphens (1-63, not at the ends).",
            code="invalid_slug", errors=[{"field": "slug", "message": "invalid slug"}],
        )
    if slug in RESERVED_SLUGS:
        raise ValidationFailed(f"The slug {slug!r} is reserved.", code="slug_reserved",
                               errors=[{"field": "slug", "message": "reserved"}])
    return slug


DOMAIN_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def validate_domain(domain: str) -> str:
    """A custom domain as hosts are looked up: lower case, no trailing dot, plain DNS labels (IDNs in
    their xn-- form), and not a name the platform routes itself (the base domain and its subdomains)."""
    from xynap.core.config import get_settings

    name = domain.strip().lower().rstrip(".")
    labels = name.split(".")
    base = get_settings().base_domain.lower()
    if len(name) > 253 or len(labels) < 2 or not all(DOMAIN_LABEL_RE.match(label) for label in labels):
        raise ValidationFailed(f"{domain!r} is not a valid domain name.", code="invalid_domain",
                               errors=[{"field": "custom_domain", "message": "invalid domain"}])
    if name == base or name.endswith("." + base):
        raise ValidationFailed(f"Addresses under {base} are the tenants' own; use the slug instead.",
                               code="invalid_domain",
                               errors=[{"field": "custom_domain", "message": "under the platform's domain"}])
    return name


async def create_tenant(session: AsyncSession, *, slug: str, name: str, plan: str = "starter",
                        status: str = "trial", user_limit: int = 5, storage_quota_gb: int = 10,
                        custom_domain: str | None = None, reseller_id: uuid.UUID | None = None) -> Tenant:
    """Create a tenant and its system roles. ``session`` must be a platform session."""
    slug = validate_slug(slug)
    if plan not in TENANT_PLANS:
        raise ValidationFailed(f"Unknown plan {plan!r}.", code="invalid_plan",
                               errors=[{"field": "plan", "message": f"one of {', '.join(TENANT_PLANS)}"}])
    if status not in TENANT_STATUSES:
        raise ValidationFailed(f"Unknown status {status!r}.", code="invalid_status")
    if await session.scalar(select(func.count()).select_from(Tenant).where(Tenant.slug == slug)):
        raise Conflict(f"A tenant with the slug {slug!r} exists.", code="tenant_exists")
    tenant = Tenant(
        slug=slug, name=name.strip(), plan=plan, status=status, user_limit=user_limit,
        storage_quota_gb=storage_quota_gb, reseller_id=reseller_id,
        custom_domain=validate_domain(custom_domain) if custom_domain else None,
        trial_ends_at=utcnow() + dt.timedelta(days=TRIAL_DAYS) if status == "trial" else None,
    )
    session.add(tenant)
    await session.flush()
    for role in SYSTEM_TENANT_ROLES:
        session.add(Role(tenant_id=tenant.id, name=role, label=ROLE_LABELS[role], is_system=True, grants={}))
    await session.flush()
    return tenant


async def get_tenant_by_slug(session: AsyncSession, slug: str) -> Tenant:
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug.lower()))
    if tenant is None:
        raise NotFound(f"No tenant {slug!r}.", code="tenant_not_found")
    return tenant


async def set_status(session: AsyncSession, tenant: Tenant, status: str) -> Tenant:
    if status not in TENANT_STATUSES:
        raise ValidationFailed(f"Unknown status {status!r}.", code="invalid_status")
    tenant.status = status
    await session.flush()
    return tenant


async def module_access_of(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, str]:
    """Module slug → access level from the tenant's bookings (before licence rules)."""
    rows = await session.execute(
        select(ModuleRecord.slug, Subscription.status, Subscription.trial_ends_at)
        .join(Subscription, Subscription.module_id == ModuleRecord.id)
        .where(Subscription.tenant_id == tenant_id)
        .execution_options(skip_tenant_filter=True)
    )
    now = utcnow()
    out: dict[str, str] = {}
    for slug, status, trial_ends in rows:
        if status == "active" or (status == "trial" and (trial_ends is None or trial_ends > now)):
            out[slug] = ACCESS_WRITE
        elif status in ("suspended", "trial"):  # an expired trial keeps its data readable
            out[slug] = ACCESS_READ
    return out


def make_tenant_loader(db: Database, apply_license=None):
    """Build the loader the tenant cache calls on a miss (one indexed lookup + the bookings)."""

    async def load(target: HostTarget) -> TenantInfo | None:
        if target.is_platform:
            return None
        async with db.session(platform=True) as session:
            if target.slug is not None:
                tenant = await session.scalar(select(Tenant).where(Tenant.slug == target.slug))
            else:
                tenant = await session.scalar(select(Tenant).where(Tenant.custom_domain == target.custom_domain))
            if tenant is None:
                return None
            access = await module_access_of(session, tenant.id)
        if apply_license is not None:
            access = apply_license(access)
        return TenantInfo(
            id=tenant.id, slug=tenant.slug, name=tenant.name, status=tenant.status,
            user_limit=tenant.user_limit, storage_quota_gb=tenant.storage_quota_gb,
            custom_domain=tenant.custom_domain, modules=access,
        )

    return load


GIB = 1024**3


async def reserve_storage(session: AsyncSession, tenant_id: uuid.UUID, size_bytes: int) -> None:
    """Count ``size_bytes`` against the tenant's storage quota, atomically; refuse what does not fit.

    One conditional UPDATE, so two uploads racing for the last gigabyte cannot both pass.
    """
    from sqlalchemy import BigInteger, cast, update

    if size_bytes <= 0:
        return
    result = await session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id,
               Tenant.storage_used_bytes + size_bytes <= cast(Tenant.storage_quota_gb, BigInteger) * GIB)
        .values(storage_used_bytes=Tenant.storage_used_bytes + size_bytes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        tenant = await session.get(Tenant, tenant_id)
        raise AppError(
            f"This needs {size_bytes} bytes, but the storage quota of {tenant.storage_quota_gb} GB is used up "
            f"({tenant.storage_used_bytes} bytes in use). Delete files or book more storage.",
            code="storage_quota_exceeded", status=409, quota_gb=tenant.storage_quota_gb,
            used_bytes=tenant.storage_used_bytes,
        )


async def release_storage(session: AsyncSession, tenant_id: uuid.UUID, size_bytes: int) -> None:
    from sqlalchemy import case, update

    if size_bytes <= 0:
        return
    remaining = Tenant.storage_used_bytes - size_bytes
    await session.execute(
        update(Tenant).where(Tenant.id == tenant_id)
        .values(storage_used_bytes=case((remaining < 0, 0), else_=remaining))
        .execution_options(synchronize_session=False)
    )
