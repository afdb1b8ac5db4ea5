from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from xynap.core.db import Base, IdMixin, TimestampMixin, VersionMixin

TENANT_STATUSES = ("trial", "active", "suspended", "cancelled")
TENANT_PLANS = ("starter", "business", "enterprise")


class Tenant(IdMixin, TimestampMixin, VersionMixin, Base):
    """A customer company (spec §4.1/§6.1). Platform table: it is the wall, not behind it."""

    __tablename__ = "tenants"
    __entity_name__ = "customer"

    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)  # the tenant's admin user
    plan: Mapped[str] = mapped_column(String(20), default="starter")
    status: Mapped[str] = mapped_column(String(20), default="trial")
    trial_ends_at: Mapped[dt.datetime | None]
    storage_quota_gb: Mapped[int] = mapped_column(Integer, default=10)
    storage_used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    user_limit: Mapped[int] = mapped_column(Integer, default=5)
    custom_domain: Mapped[str | None] = mapped_column(String(253), unique=True, nullable=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The platform user (a reseller, or staff) that created this tenant; resellers see only theirs.
    reseller_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("platform_users.id", ondelete="SET NULL"), nullable=True, index=True
    )
