from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import String, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from xynap.core.db import Base, IdMixin, utcnow


class RefreshToken(Base, IdMixin):
    """One rotating refresh token. Tokens of one login share a family; reuse revokes the family.

    Kernel table looked up only by the SHA-256 of a 256-bit secret, so it sits beside the
    tenant wall: a guessed row cannot be addressed.
    """

    __tablename__ = "refresh_tokens"
    __audited__ = False  # logins and refreshes have their own audit records (auth.*)

    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    principal_kind: Mapped[str] = mapped_column(String(10))  # "tenant" | "platform"
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    tenant_ref: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    # a hand-over link's token (sign-up, setup): spent once, never renewed within the reload grace period
    single_use: Mapped[bool] = mapped_column(default=False, server_default=false())
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)
