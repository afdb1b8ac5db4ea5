from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from xynap.core.db import Base, IdMixin, utcnow


class ActionToken(IdMixin, Base):
    """A single-use secret sent by mail (password reset, invitation); only its SHA-256 is kept.

    Like refresh tokens it is looked up by the hash of a 256-bit secret, so it sits beside
    the tenant wall; ``tenant_ref`` binds it to the host it was issued for.
    """

    __tablename__ = "action_tokens"
    __audited__ = False

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))  # reset | invite
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    tenant_ref: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
