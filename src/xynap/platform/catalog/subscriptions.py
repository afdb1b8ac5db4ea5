"""Booking modules: subscribe, activate, change plan, cancel (spec §5, §6.1 tenant_modules)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.db import utcnow
from xynap.core.errors import Conflict, NotFound, ValidationFailed
from xynap.platform.catalog.models import BILLING_CYCLES, ModulePlan, ModuleRecord, Subscription
from xynap.runtime import Runtime

TRIAL_DAYS = 14


async def subscription_event(session: AsyncSession, name: str, sub: Subscription) -> None:
    """Every user of the company hears of bookings: the menu changes for all of them."""
    from xynap.core.events import publish

    module = await session.get(ModuleRecord, sub.module_id)
    publish(session, name, {"id": sub.id, "module": module.slug if module else None, "status": sub.status})


async def _module_and_plan(session: AsyncSession, runtime: Runtime, slug: str, tier: str) -> tuple[ModuleRecord,
                                                                                                   ModulePlan]:
    module = await session.scalar(select(ModuleRecord).where(ModuleRecord.slug == slug))
    if module is None or not module.is_active:
        raise NotFound(f"There is no module {slug!r} in the catalog.", code="module_not_found")
    if not module.installed or runtime.registry.get(slug) is None:
        raise Conflict(f"The module {slug!r} is not installed on this server.", code="module_not_installed")
    if module.kind != "module":
        raise ValidationFailed(f"{slug!r} is a shared component; it comes with every module.",
                               code="module_not_bookable")
    plan = await session.scalar(select(ModulePlan).where(ModulePlan.module_id == module.id, ModulePlan.tier == tier))
    if plan is None:
        raise ValidationFailed(f"The module {slug!r} has no plan {tier!r}.", code="plan_not_found",
                               errors=[{"field": "plan", "message": "unknown plan"}])
    return module, plan


async def book_module(session: AsyncSession, runtime: Runtime, tenant_id: uuid.UUID, slug: str, *,
                      tier: str = "starter", billing_cycle: str = "monthly", trial: bool = False,
                      activate: bool = False) -> Subscription:
    """Create (or reopen) the tenant's subscription of a module, with its dependencies.

    Needs a session of that tenant: the lookups below rely on the session's tenant filter.
    """
    if session.sync_session.info.get("tenant_id") != tenant_id or session.sync_session.info.get("platform"):
        raise RuntimeError("book_module needs a session bound to the tenant it books for")
    if billing_cycle not in BILLING_CYCLES:
        raise ValidationFailed("billing_cycle must be monthly or yearly.", code="invalid_billing_cycle",
                               errors=[{"field": "billing_cycle", "message": "monthly or yearly"}])
    module, plan = await _module_and_plan(session, runtime, slug, tier)
    manifest = runtime.registry.get(slug)
    for dep in manifest.depends if manifest else []:
        dep_module = runtime.registry.get(dep)
        if dep_module is not None and dep_module.kind == "module":
            booked = await session.scalar(
                select(func.count()).select_from(Subscription).join(ModuleRecord)
                .where(ModuleRecord.slug == dep, Subscription.status.in_(("active", "trial")))
            )
            if not booked:
                raise Conflict(f"The module {slug!r} needs {dep!r}; book {dep!r} first.", code="dependency_not_booked",
                               dependency=dep)
    sub = await session.scalar(select(Subscription).where(Subscription.module_id == module.id))
    if sub is not None and sub.status in ("active", "trial", "pending"):
        raise Conflict(f"The module {slug!r} is already booked ({sub.status}).", code="already_booked",
                       subscription_id=str(sub.id))
    if sub is None:
        sub = Subscription(tenant_id=tenant_id, module_id=module.id, plan_id=plan.id)
        session.add(sub)
    sub.plan_id = plan.id
    sub.billing_cycle = billing_cycle
    sub.cancelled_at = None
    sub.status = "pending"
    if trial:
        sub.status = "trial"
        sub.trial_ends_at = utcnow() + dt.timedelta(days=TRIAL_DAYS)
    await session.flush()
    await subscription_event(session, "subscription.booked", sub)
    if activate:
        await activate_subscription(session, runtime, sub)
    return sub


async def activate_subscription(session: AsyncSession, runtime: Runtime, sub: Subscription) -> Subscription:
    if sub.status == "active":
        return sub
    if sub.status == "cancelled":
        raise Conflict("A cancelled subscription cannot be activated; book the module again.",
                       code="subscription_cancelled")
    sub.status = "active"
    sub.activated_at = utcnow()
    sub.trial_ends_at = None
    await session.flush()
    await subscription_event(session, "subscription.activated", sub)
    runtime.invalidate_tenant(sub.tenant_id)
    return sub


async def cancel_subscription(session: AsyncSession, runtime: Runtime, sub: Subscription) -> Subscription:
    """Closes the module's routes for the tenant; its data stays and returns when it is booked again."""
    if sub.status == "cancelled":
        raise Conflict("The subscription is already cancelled.", code="subscription_cancelled")
    sub.status = "cancelled"
    sub.cancelled_at = utcnow()
    await session.flush()
    await subscription_event(session, "subscription.cancelled", sub)
    runtime.invalidate_tenant(sub.tenant_id)
    return sub


async def change_plan(session: AsyncSession, runtime: Runtime, sub: Subscription, tier: str,
                      billing_cycle: str | None = None) -> Subscription:
    if sub.status == "cancelled":
        raise Conflict("Book the module again instead of changing a cancelled plan.", code="subscription_cancelled")
    module = await session.get(ModuleRecord, sub.module_id)
    _, plan = await _module_and_plan(session, runtime, module.slug, tier)
    sub.plan_id = plan.id
    if billing_cycle is not None:
        if billing_cycle not in BILLING_CYCLES:
            raise ValidationFailed("billing_cycle must be monthly or yearly.", code="invalid_billing_cycle",
                                   errors=[{"field": "billing_cycle", "message": "monthly or yearly"}])
        sub.billing_cycle = billing_cycle
    await session.flush()
    await subscription_event(session, "subscription.plan_changed", sub)
    runtime.invalidate_tenant(sub.tenant_id)
    return sub
