from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, Numeric, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from xynap.core.db import Base, IdMixin, TenantMixin, TimestampMixin, VersionMixin

PLAN_TIERS = ("starter", "business", "enterprise")
SUBSCRIPTION_STATUSES = ("pending", "trial", "active", "suspended", "cancelled")
BILLING_CYCLES = ("monthly", "yearly")


class ModuleRecord(IdMixin, TimestampMixin, Base):
    """A bookable module or shared component in the catalog (spec §6.1 ``modules``)."""

    __tablename__ = "modules"
    __entity_name__ = "module"

    slug: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(1000), default="")
    icon: Mapped[str] = mapped_column(String(50), default="box")
    color: Mapped[str] = mapped_column(String(20), default="#6366f1")
    kind: Mapped[str] = mapped_column(String(10), default="module")  # module | shared
    version: Mapped[str] = mapped_column(String(30), default="0.0.0")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)  # offered in the catalog
    installed: Mapped[bool] = mapped_column(Boolean, default=False)  # its code is present on this server
    dependencies: Mapped[list[Any]] = mapped_column(default=list)
    sort_order: Mapped[int] = mapped_column(Integer, default=100)


class ModulePlan(IdMixin, TimestampMixin, Base):
    __tablename__ = "module_plans"
    __entity_name__ = "plan"
    __table_args__ = (UniqueConstraint("module_id", "tier"),)

    module_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("modules.id", ondelete="CASCADE"), index=True)
    tier: Mapped[str] = mapped_column(String(20))
    price_monthly: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    price_yearly: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    limits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    features: Mapped[list[Any]] = mapped_column(default=list)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Bundle(IdMixin, TimestampMixin, Base):
    """A package of modules booked together at a discount (spec §5.3)."""

    __tablename__ = "bundles"

    slug: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    module_slugs: Mapped[list[Any]] = mapped_column(default=list)
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))


class Subscription(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    """A tenant's booking of one module (spec §6.1 ``tenant_modules``)."""

    __tablename__ = "tenant_modules"
    __entity_name__ = "subscription"
    __table_args__ = (UniqueConstraint("tenant_id", "module_id"),)

    module_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("modules.id", ondelete="RESTRICT"), index=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("module_plans.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    billing_cycle: Mapped[str] = mapped_column(String(10), default="monthly")
    bundle_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("bundles.id", ondelete="SET NULL"), nullable=True
    )
    activated_at: Mapped[dt.datetime | None]
    trial_ends_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]


class TenantAddon(IdMixin, TimestampMixin, TenantMixin, Base):
    """Extra storage, users, mailboxes, ... booked on top of the plans (spec §5.2)."""

    __tablename__ = "tenant_addons"

    addon_type: Mapped[str] = mapped_column(String(50))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    price_monthly: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    activated_at: Mapped[dt.datetime | None]
