"""The one table of the example module: items owned by a user of the tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from xynap.core.db import Base, IdMixin, TenantMixin, TimestampMixin, VersionMixin


class ExampleItem(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    """A note-like record: the session filters it by tenant, ``owner_id`` drives the record scopes."""

    __tablename__ = "example_items"

    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Storage the item accounts for against the tenant's quota (think: an attachment).
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
