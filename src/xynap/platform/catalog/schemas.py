from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PlanRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tier: str
    price_monthly: Decimal
    price_yearly: Decimal
    currency: str
    limits: dict[str, Any]
    features: list[Any]


class ModuleRead(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    description: str
    icon: str
    color: str
    kind: str
    version: str
    installed: bool
    is_active: bool
    dependencies: list[str]
    sort_order: int
    plans: list[PlanRead]
    ui: dict[str, Any] | None = None
    access: str | None = Field(default=None, description="For a tenant user: write, read, or null (not booked)")
    subscription_id: uuid.UUID | None = None
    subscription_status: str | None = None


class ModuleUpdate(BaseModel):
    is_active: bool | None = None
    sort_order: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)


class PlanUpdate(BaseModel):
    price_monthly: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    price_yearly: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    limits: dict[str, Any] | None = None
    features: list[str] | None = None


class BundleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    name: str
    module_slugs: list[str]
    discount_percent: Decimal


class SubscriptionRead(BaseModel):
    id: uuid.UUID
    module: str
    module_name: str
    plan: str
    status: str
    billing_cycle: str
    price: Decimal
    currency: str
    activated_at: dt.datetime | None
    trial_ends_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    version: int


class SubscriptionCreate(BaseModel):
    module: str = Field(min_length=1, max_length=50)
    plan: Literal["starter", "business", "enterprise"] = "starter"
    billing_cycle: Literal["monthly", "yearly"] = "monthly"
    trial: bool = Field(default=False, description="Start a 14-day trial instead of waiting for activation")


class PlanChange(BaseModel):
    plan: Literal["starter", "business", "enterprise"]
    billing_cycle: Literal["monthly", "yearly"] | None = None


class PriceLine(BaseModel):
    module: str
    plan: str
    billing_cycle: str
    price: Decimal


class PriceSummary(BaseModel):
    currency: str
    lines: list[PriceLine]
    subtotal_monthly: Decimal
    bundle: str | None
    discount_percent: Decimal
    total_monthly: Decimal
