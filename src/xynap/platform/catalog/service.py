"""The module catalog: kept in step with the installed manifests; bookings (subscriptions)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.modules import ModuleRegistry
from xynap.platform.catalog.models import Bundle, ModulePlan, ModuleRecord

# Spec §5.3: bundles and their discounts. Slugs of modules not installed are kept, so a bundle
# becomes bookable once its modules arrive.
DEFAULT_BUNDLES = [
    ("office", "Office", ["mail", "cloud"], "20"),
    ("sales", "Sales", ["crm", "mail", "voice"], "25"),
    ("website", "Website", ["cms", "host", "mail"], "20"),
    ("all-in-one", "All-in-One", ["*"], "35"),
]


async def sync_catalog(session: AsyncSession, registry: ModuleRegistry) -> None:
    """Insert or refresh catalog rows from the manifests; prices set by admins are kept."""
    existing = {m.slug: m for m in await session.scalars(select(ModuleRecord))}
    enabled = {m.slug: m for m in registry.enabled()}
    for slug, module in enabled.items():
        record = existing.get(slug)
        if record is None:
            record = ModuleRecord(slug=slug)
            session.add(record)
        record.name = module.name
        record.description = module.description
        record.icon = module.icon
        record.color = module.color
        record.kind = module.kind
        record.version = module.version
        record.dependencies = list(module.depends)
        record.sort_order = module.sort_order
        record.installed = True
        await session.flush()
        tiers = set(await session.scalars(select(ModulePlan.tier).where(ModulePlan.module_id == record.id)))
        for order, plan in enumerate(module.plans):
            if plan.tier not in tiers:
                session.add(ModulePlan(
                    module_id=record.id, tier=plan.tier, price_monthly=Decimal(plan.price_monthly),
                    price_yearly=Decimal(plan.price_yearly), limits=dict(plan.limits),
                    features=list(plan.features), sort_order=order,
                ))
    for slug, record in existing.items():
        if slug not in enabled:
            record.installed = False
    if not (await session.scalars(select(Bundle.id).limit(1))).first():
        for slug, name, modules, discount in DEFAULT_BUNDLES:
            session.add(Bundle(slug=slug, name=name, module_slugs=modules, discount_percent=Decimal(discount)))
    await session.flush()
