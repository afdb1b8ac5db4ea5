from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xynap.core.db import Base, IdMixin, TenantOptionalMixin, utcnow


class MailMessage(IdMixin, TenantOptionalMixin, Base):
    """Every mail the platform sends. Without an SMTP server it stays here, readable by admins."""

    __tablename__ = "mail_messages"
    __entity_name__ = "mail"

    to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(50), default="notification")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
