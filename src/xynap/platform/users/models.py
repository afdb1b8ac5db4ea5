from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from xynap.core.db import Base, IdMixin, TenantMixin, TimestampMixin, VersionMixin

PLATFORM_ROLES = ("owner", "admin", "staff", "reseller")
SYSTEM_TENANT_ROLES = ("admin", "manager", "staff", "external")


class PlatformUser(IdMixin, TimestampMixin, VersionMixin, Base):
    """People who run the platform itself: owner, admin, staff, reseller."""

    __tablename__ = "platform_users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[dt.datetime | None]


class User(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    """A person working inside one tenant (spec §3.7)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    email: Mapped[str] = mapped_column(String(320))  # stored case-folded
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    role: Mapped[str] = mapped_column(String(50), default="staff")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(10), default="de")
    last_login_at: Mapped[dt.datetime | None]


class Role(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    """A tenant's role: grants map ``<entity>:<action>`` to a record scope (own / team / all)."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(String(100))
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    grants: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Team(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)


class TeamMember(IdMixin, TenantMixin, Base):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    team_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True)
