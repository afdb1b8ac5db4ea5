"""The module catalog (public), bookings of a tenant (subscriptions) and platform catalog admin."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from fastapi import APIRouter, Request
from sqlalchemy import select

from xynap.core.errors import NotFound
from xynap.core.security.permissions import Access, Principal
from xynap.platform.auth.deps import DbDep, RuntimeDep, current_principal, optional_tenant, require, require_platform
from xynap.platform.catalog import subscriptions as booking
from xynap.platform.catalog.models import Bundle, ModulePlan, ModuleRecord, Subscription
from xynap.platform.catalog.schemas import (
    BundleRead,
    ModuleRead,
    ModuleUpdate,
    PlanChange,
    PlanRead,
    PlanUpdate,
    PriceLine,
    PriceSummary,
    SubscriptionCreate,
    SubscriptionRead,
)

router = APIRouter(tags=["catalog"])
CENT = Decimal("0.01")


async def _plans_by_module(db) -> dict[uuid.UUID, list[ModulePlan]]:
    out: dict[uuid.UUID, list[ModulePlan]] = {}
    for plan in await db.scalars(select(ModulePlan).order_by(ModulePlan.sort_order)):
        out.setdefault(plan.module_id, []).append(plan)
    return out


@router.get("/api/modules", response_model=list[ModuleRead], summary="The module catalog")
async def list_modules(request: Request, db: DbDep, runtime: RuntimeDep) -> list[ModuleRead]:
    """Public catalog of installed modules with plans and prices. A logged-in tenant user also sees
    the company's access (write / read) and subscription for each module."""
    tenant = optional_tenant(request)
    principal: Principal | None = None
    if request.headers.get("authorization"):
        principal = await current_principal(request)
    subs: dict[uuid.UUID, Subscription] = {}
    if tenant is not None and principal is not None and not principal.is_platform:
        subs = {s.module_id: s for s in await db.scalars(select(Subscription))}
    plans = await _plans_by_module(db)
    stmt = select(ModuleRecord).where(ModuleRecord.installed.is_(True))
    if principal is None or not principal.is_platform:
        stmt = stmt.where(ModuleRecord.is_active.is_(True))
    out = []
    for m in await db.scalars(stmt.order_by(ModuleRecord.sort_order, ModuleRecord.slug)):
        manifest = runtime.registry.get(m.slug)
        sub = subs.get(m.id)
        access = None
        if tenant is not None and principal is not None and not principal.is_platform:
            if m.kind == "shared":
                levels = set(tenant.modules.values())
                access = "write" if "write" in levels else ("read" if levels else None)
            else:
                access = tenant.modules.get(m.slug)
        out.append(ModuleRead(
            id=m.id, slug=m.slug, name=m.name, description=m.description, icon=m.icon, color=m.color, kind=m.kind,
            version=m.version, installed=m.installed, is_active=m.is_active, dependencies=list(m.dependencies),
            sort_order=m.sort_order, plans=[PlanRead.model_validate(p) for p in plans.get(m.id, [])],
            ui=asdict(manifest.ui) if manifest and manifest.ui else None, access=access,
            subscription_id=sub.id if sub else None, subscription_status=sub.status if sub else None,
        ))
    return out


@router.patch("/api/modules/{module_id}", summary="Offer or hide a module",
              dependencies=[require_platform("owner", "admin")])
async def update_module(module_id: uuid.UUID, body: ModuleUpdate, db: DbDep) -> dict:
    module = await db.get(ModuleRecord, module_id)
    if module is None:
        raise NotFound("No such module.", code="module_not_found")
    if body.is_active is not None:
        module.is_active = body.is_active
    if body.sort_order is not None:
        module.sort_order = body.sort_order
    await db.flush()
    return {"id": str(module.id), "slug": module.slug, "is_active": module.is_active, "sort_order": module.sort_order}


@router.patch("/api/module-plans/{plan_id}", response_model=PlanRead, summary="Change a plan's prices or limits",
              dependencies=[require_platform("owner", "admin")])
async def update_plan(plan_id: uuid.UUID, body: PlanUpdate, db: DbDep) -> PlanRead:
    plan = await db.get(ModulePlan, plan_id)
    if plan is None:
        raise NotFound("No such plan.", code="plan_not_found")
    for field in ("price_monthly", "price_yearly", "limits", "features"):
        value = getattr(body, field)
        if value is not None:
            setattr(plan, field, value)
    await db.flush()
    return PlanRead.model_validate(plan)


@router.get("/api/bundles", response_model=list[BundleRead], summary="Module bundles with their discount")
async def list_bundles(db: DbDep) -> list[BundleRead]:
    return [BundleRead.model_validate(b) for b in await db.scalars(select(Bundle).order_by(Bundle.slug))]


# --- subscriptions ------------------------------------------------------------------------------------


async def _sub_read(db, sub: Subscription) -> SubscriptionRead:
    module = await db.get(ModuleRecord, sub.module_id)
    plan = await db.get(ModulePlan, sub.plan_id)
    price = plan.price_monthly if sub.billing_cycle == "monthly" else plan.price_yearly
    return SubscriptionRead(
        id=sub.id, module=module.slug, module_name=module.name, plan=plan.tier, status=sub.status,
        billing_cycle=sub.billing_cycle, price=price, currency=plan.currency, activated_at=sub.activated_at,
        trial_ends_at=sub.trial_ends_at, cancelled_at=sub.cancelled_at, version=sub.version,
    )


async def _get_sub(db, subscription_id: uuid.UUID) -> Subscription:
    sub = await db.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound("No such subscription.", code="subscription_not_found")
    return sub


@router.get("/api/subscriptions", response_model=list[SubscriptionRead], tags=["subscriptions"],
            summary="The company's booked modules")
async def list_subscriptions(db: DbDep, access: Annotated[Access, require("subscriptions:read")]) -> list:
    return [await _sub_read(db, s) for s in await db.scalars(select(Subscription).order_by(Subscription.created_at))]


@router.post("/api/subscriptions", response_model=SubscriptionRead, status_code=201, tags=["subscriptions"],
             summary="Book a module (pending until activated, or as a trial)")
async def create_subscription(body: SubscriptionCreate, db: DbDep, runtime: RuntimeDep,
                              access: Annotated[Access, require("subscriptions:manage")]) -> SubscriptionRead:
    sub = await booking.book_module(db, runtime, access.principal.tenant_id, body.module, tier=body.plan,
                                    billing_cycle=body.billing_cycle, trial=body.trial)
    runtime.invalidate_tenant(sub.tenant_id)
    return await _sub_read(db, sub)


@router.get("/api/subscriptions/pricing", response_model=PriceSummary, tags=["subscriptions"],
            summary="Monthly price of the active bookings, with the best bundle discount")
async def pricing(db: DbDep, access: Annotated[Access, require("subscriptions:read")]) -> PriceSummary:
    lines = []
    for sub in await db.scalars(select(Subscription).where(Subscription.status.in_(("active", "trial")))):
        read = await _sub_read(db, sub)
        monthly = read.price if read.billing_cycle == "monthly" else (read.price / 12).quantize(CENT, ROUND_HALF_UP)
        lines.append(PriceLine(module=read.module, plan=read.plan, billing_cycle=read.billing_cycle, price=monthly))
    subtotal = sum((line.price for line in lines), Decimal("0"))
    booked = {line.module for line in lines}
    best: Bundle | None = None
    for bundle in await db.scalars(select(Bundle)):
        needed = set(bundle.module_slugs)
        if "*" in needed:
            needed = set(await db.scalars(select(ModuleRecord.slug).where(
                ModuleRecord.installed.is_(True), ModuleRecord.kind == "module")))
        if needed and needed <= booked and (best is None or bundle.discount_percent > best.discount_percent):
            best = bundle
    discount = best.discount_percent if best else Decimal("0")
    total = (subtotal * (100 - discount) / 100).quantize(CENT, ROUND_HALF_UP)
    return PriceSummary(currency="EUR", lines=lines, subtotal_monthly=subtotal, bundle=best.slug if best else None,
                        discount_percent=discount, total_monthly=total)


@router.get("/api/subscriptions/{subscription_id}", response_model=SubscriptionRead, tags=["subscriptions"],
            summary="One booking")
async def get_subscription(subscription_id: uuid.UUID, db: DbDep,
                           access: Annotated[Access, require("subscriptions:read")]) -> SubscriptionRead:
    return await _sub_read(db, await _get_sub(db, subscription_id))


@router.post("/api/subscriptions/{subscription_id}/activate", response_model=SubscriptionRead,
             tags=["subscriptions"], summary="Activate a booking: the module opens for the company")
async def activate(subscription_id: uuid.UUID, db: DbDep, runtime: RuntimeDep,
                   access: Annotated[Access, require("subscriptions:manage")]) -> SubscriptionRead:
    sub = await booking.activate_subscription(db, runtime, await _get_sub(db, subscription_id))
    return await _sub_read(db, sub)


@router.post("/api/subscriptions/{subscription_id}/cancel", response_model=SubscriptionRead,
             tags=["subscriptions"], summary="Cancel a booking (the data is kept)")
async def cancel(subscription_id: uuid.UUID, db: DbDep, runtime: RuntimeDep,
                 access: Annotated[Access, require("subscriptions:manage")]) -> SubscriptionRead:
    sub = await booking.cancel_subscription(db, runtime, await _get_sub(db, subscription_id))
    return await _sub_read(db, sub)


@router.post("/api/subscriptions/{subscription_id}/change-plan", response_model=SubscriptionRead,
             tags=["subscriptions"], summary="Move a booking to another plan or billing cycle")
async def change_plan(subscription_id: uuid.UUID, body: PlanChange, db: DbDep, runtime: RuntimeDep,
                      access: Annotated[Access, require("subscriptions:manage")]) -> SubscriptionRead:
    sub = await booking.change_plan(db, runtime, await _get_sub(db, subscription_id), body.plan, body.billing_cycle)
    return await _sub_read(db, sub)
