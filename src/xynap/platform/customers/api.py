"""The platform's customer tenants, for platform staff and resellers (brief: GET /api/customers).

A reseller sees and manages only the tenants it created; owner, admin and staff see all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import Select, func, or_, select

from xynap.core.errors import NotFound
from xynap.core.pagination import Page, paginate
from xynap.core.security.permissions import Principal
from xynap.platform.auth.deps import DbDep, RuntimeDep, require_platform
from xynap.platform.catalog.models import ModuleRecord, Subscription
from xynap.platform.tenants import service as tenants
from xynap.platform.tenants.models import Tenant
from xynap.platform.users.models import User

router = APIRouter(tags=["customers"])


class CustomerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    name: str
    plan: str
    status: str
    trial_ends_at: dt.datetime | None
    storage_quota_gb: int
    storage_used_bytes: int
    user_limit: int
    custom_domain: str | None
    reseller_id: uuid.UUID | None
    version: int
    created_at: dt.datetime
    modules: list[str] = []
    user_count: int = 0


class CustomerCreate(BaseModel):
    slug: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    plan: Literal["starter", "business", "enterprise"] = "starter"
    status: Literal["trial", "active"] = "trial"
    user_limit: int = Field(default=5, ge=1, le=100_000)
    storage_quota_gb: int = Field(default=10, ge=1, le=1_000_000)
    custom_domain: str | None = Field(default=None, max_length=253)
    admin_email: EmailStr
    admin_name: str = Field(min_length=1, max_length=200)
    admin_password: str = Field(max_length=1024)


StaffDep = Annotated[Principal, require_platform("owner", "admin", "staff", "reseller")]


def _visible(stmt: Select, principal: Principal) -> Select:
    if principal.role == "reseller":
        return stmt.where(Tenant.reseller_id == principal.user_id)
    return stmt


async def _read(db, tenant: Tenant) -> CustomerRead:
    out = CustomerRead.model_validate(tenant)
    out.modules = list(await db.scalars(
        select(ModuleRecord.slug).join(Subscription, Subscription.module_id == ModuleRecord.id)
        .where(Subscription.tenant_id == tenant.id, Subscription.status.in_(("active", "trial")))
    ))
    out.user_count = await db.scalar(select(func.count()).select_from(User).where(User.tenant_id == tenant.id))
    return out


async def _get(db, customer_id: uuid.UUID, principal: Principal) -> Tenant:
    tenant = await db.scalar(_visible(select(Tenant).where(Tenant.id == customer_id), principal))
    if tenant is None:
        raise NotFound("No such customer.", code="customer_not_found")
    return tenant


@router.get("/api/customers", response_model=Page[CustomerRead], summary="Customer tenants")
async def list_customers(
    db: DbDep, principal: StaffDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    sort: str = "name", limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> Page[CustomerRead]:
    stmt = _visible(select(Tenant), principal)
    if q:
        stmt = stmt.where(or_(Tenant.slug.contains(q.lower(), autoescape=True),
                              Tenant.name.icontains(q, autoescape=True)))
    if status:
        stmt = stmt.where(Tenant.status == status)
    rows, next_cursor = await paginate(db, stmt, model=Tenant, sort=sort,
                                       sortable={"name": Tenant.name, "slug": Tenant.slug,
                                                 "created_at": Tenant.created_at},
                                       limit=limit, cursor=cursor)
    return Page(items=[await _read(db, t) for t in rows], next_cursor=next_cursor)


@router.post("/api/customers", response_model=CustomerRead, status_code=201,
             summary="Create a customer tenant with its first administrator")
async def create_customer(body: CustomerCreate, db: DbDep, runtime: RuntimeDep, principal: StaffDep) -> CustomerRead:
    from xynap.platform.users.service import create_user

    tenant = await tenants.create_tenant(
        db, slug=body.slug, name=body.name, plan=body.plan, status=body.status, user_limit=body.user_limit,
        storage_quota_gb=body.storage_quota_gb, custom_domain=body.custom_domain,
        reseller_id=principal.user_id if principal.role == "reseller" else None,
    )
    # The admin belongs to the new tenant: write it through a session bound to that tenant.
    # Same transaction, so a failure leaves no tenant without admin behind.
    info = db.sync_session.info
    info.update(tenant_id=tenant.id, platform=False)
    try:
        await create_user(db, runtime, email=body.admin_email, name=body.admin_name, role="admin",
                          password=body.admin_password)
    finally:
        info.update(tenant_id=None, platform=True)
    return await _read(db, tenant)


@router.get("/api/customers/{customer_id}", response_model=CustomerRead, summary="One customer tenant")
async def get_customer(customer_id: uuid.UUID, db: DbDep, principal: StaffDep) -> CustomerRead:
    return await _read(db, await _get(db, customer_id, principal))


async def _set_status(db, runtime, customer_id, principal, status: str, action: str) -> CustomerRead:
    tenant = await _get(db, customer_id, principal)
    await tenants.set_status(db, tenant, status)
    runtime.invalidate_tenant(tenant.id)
    return await _read(db, tenant)


@router.post("/api/customers/{customer_id}/suspend", response_model=CustomerRead,
             summary="Suspend a customer: its users get 403 tenant_suspended, its data stays")
async def suspend(customer_id: uuid.UUID, db: DbDep, runtime: RuntimeDep, principal: StaffDep) -> CustomerRead:
    return await _set_status(db, runtime, customer_id, principal, "suspended", "suspend")


@router.post("/api/customers/{customer_id}/resume", response_model=CustomerRead, summary="Resume a customer")
async def resume(customer_id: uuid.UUID, db: DbDep, runtime: RuntimeDep, principal: StaffDep) -> CustomerRead:
    return await _set_status(db, runtime, customer_id, principal, "active", "resume")


