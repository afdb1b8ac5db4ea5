"""The search index: one row per searchable record, in one tenant-owned table for every type.

Rows are written by the kernel's flush listener (``xynap.core.search``) through the writer in
``service.py``, never through the ORM unit of work, so they are neither audited nor evented.
Engine-specific parts live in the migration only: on PostgreSQL a ``tsv`` tsvector column with a
GIN index (filled by the writer), on SQLite the FTS5 table ``search_fts`` kept in step by triggers.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from xynap.core.db import Base, TenantMixin


class SearchDocument(TenantMixin, Base):
    __tablename__ = "search_documents"
    __entity_name__ = "search.document"
    __audited__ = False
    __table_args__ = (
        UniqueConstraint("type", "entity_id"),
        Index("ix_search_documents_tenant_type_updated_at", "tenant_id", "type", "updated_at"),
    )
    __tenant_index__ = False  # the index above leads with it (search_0002)

    # An integer key because SQLite's FTS5 external-content table addresses rows by integer id.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                    autoincrement=True)
    type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    subtitle: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column()
