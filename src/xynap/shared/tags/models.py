"""The tag table: tags per company with a colour, unique per (tenant, name), used by every entity.

The table ``tags`` was created by the contacts branch (``contacts_0001``) and stays there; the model
lives here because tags are their own component now (``/api/tags``). Entities link tags through their
own link tables (``contact_tags``) and register them in ``xynap.shared.tags.registry``.
"""

from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xynap.core.db import Base, IdMixin, TenantMixin, TimestampMixin


class Tag(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "tags"
    __entity_name__ = "tag"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(60))
    color: Mapped[str] = mapped_column(String(20), default="#64748b")
