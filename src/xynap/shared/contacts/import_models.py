"""The record of one contact import: the uploaded file, its options, progress and error report.

A tenant-owned table of its own (not only the kernel's ``jobs`` row) because an import exists
before it runs (upload → preview → dry run → run), the route-wide isolation test addresses it as
``{import_id}``, and its progress checkpoint must commit in the same transaction as each batch of
contacts, so that a restarted worker resumes exactly after the last committed batch.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from xynap.core.db import Base, IdMixin, TenantMixin, TimestampMixin

_JSON = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

IMPORT_FORMATS = ("csv", "vcard")
# uploaded → (queued → running →) succeeded | rejected (invalid rows, nothing imported) | failed
IMPORT_STATUSES = ("uploaded", "queued", "running", "succeeded", "rejected", "failed")


class ContactImport(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "contact_imports"
    __entity_name__ = "contacts.import"

    format: Mapped[str] = mapped_column(String(10), default="csv")
    filename: Mapped[str] = mapped_column(String(255), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    encoding: Mapped[str] = mapped_column(String(20), default="utf-8")
    delimiter: Mapped[str] = mapped_column(String(5), default=",")
    header: Mapped[list[Any]] = mapped_column(_JSON, default=list)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="uploaded")
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # mapping, skip_invalid, default_type, default_owner_id, default_tag_ids of the (last) run
    options: Mapped[dict[str, Any]] = mapped_column(_JSON, default=dict)
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # progress: rows looked at (validation and insert phases) and the durable resume point
    phase: Mapped[str] = mapped_column(String(20), default="")  # "", validate, insert, done
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    checkpoint: Mapped[int] = mapped_column(Integer, default=0)  # valid rows committed as contacts
    valid_rows: Mapped[int] = mapped_column(Integer, default=0)
    invalid_rows: Mapped[int] = mapped_column(Integer, default=0)
    imported_rows: Mapped[int] = mapped_column(Integer, default=0)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)  # the report comes from a dry run
    errors: Mapped[list[Any]] = mapped_column(_JSON, default=list)  # the first MAX_STORED_ERRORS
    message: Mapped[str] = mapped_column(String(500), default="")
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    # when the retention cleanup deleted the import's files (upload, spool, error report); the row stays
    files_removed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
