"""Tables the kernel itself owns: audit log, event outbox, jobs and cron schedules."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from xynap.core.db import Base, IdMixin, TenantOptionalMixin, utcnow


class AuditRecord(IdMixin, TenantOptionalMixin, Base):
    """Append-only: UPDATE and DELETE are refused by a trigger on both engines."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_created", "tenant_id", "created_at"),)

    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_kind: Mapped[str] = mapped_column(String(10), default="anonymous")  # tenant|platform|system|anonymous
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    actor_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    entity_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {field: [before, after]}
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class OutboxEvent(IdMixin, TenantOptionalMixin, Base):
    """A domain event written in the same transaction as the change that caused it."""

    __tablename__ = "event_outbox"
    __table_args__ = (Index("ix_event_outbox_pending", "dispatched_at", "created_at"),)

    name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Who may see it live: a permission (``crm.deal:read``) and the record's owner for own/team scopes.
    permission: Mapped[str | None] = mapped_column(String(100), nullable=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


JOB_STATUSES = ("queued", "running", "succeeded", "dead")


class Job(IdMixin, TenantOptionalMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "status", "run_at"),
        UniqueConstraint("dedupe_key"),
    )

    name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    locked_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    progress: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class JobSchedule(IdMixin, Base):
    """A cron schedule declared by a module; ``next_run_at`` is claimed by exactly one scheduler."""

    __tablename__ = "job_schedules"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    cron: Mapped[str] = mapped_column(String(100))
    job_name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    next_run_at: Mapped[dt.datetime]
    last_run_at: Mapped[dt.datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
