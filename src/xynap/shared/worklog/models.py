"""Tasks, notes and the activity timeline: tenant-owned tables of the shared worklog component.

Links to other components are plain ids without foreign keys (``linked_contact_id``, the generic
``linked_entity_type``/``linked_entity_id``): contacts, deals or tickets live in other components,
which are reached through events, never through their tables.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from xynap.core.db import Base, IdMixin, TenantMixin, TimestampMixin, VersionMixin, utcnow

TASK_STATUSES = ("open", "in_progress", "done")
TASK_PRIORITIES = ("low", "medium", "high", "urgent")
PRIORITY_RANK = {name: rank for rank, name in enumerate(TASK_PRIORITIES)}


class Task(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    """A to-do; ``assigned_to`` is the owner the record scopes (own / team / all) refer to."""

    __tablename__ = "tasks"
    __entity_name__ = "task"

    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    priority: Mapped[str] = mapped_column(String(10), default="medium")
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    linked_contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    linked_entity_type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    linked_entity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    subtasks: Mapped[list[Any]] = mapped_column(default=list)  # [{"id", "title", "done"}]
    position: Mapped[int] = mapped_column(Integer, default=0)  # order within the board column
    completed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class TaskTag(IdMixin, TenantMixin, Base):
    """A tag on a task (tags are the shared ``tags`` component; registered there for usage counts)."""

    __tablename__ = "task_tags"
    # (tag_id, task_id): "tasks with tag X" is an index-only lookup
    __table_args__ = (UniqueConstraint("task_id", "tag_id"), Index("ix_task_tags_tag_task", "tag_id", "task_id"))

    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tags.id", ondelete="CASCADE"))


class Note(IdMixin, TimestampMixin, VersionMixin, TenantMixin, Base):
    """A Markdown note, stored raw (the web app renders it safely); ``author_id`` is the owner."""

    __tablename__ = "notes"
    __entity_name__ = "note"

    content: Mapped[str] = mapped_column(Text)
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True)
    linked_contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    linked_entity_type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    linked_entity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    is_pinned: Mapped[bool] = mapped_column(Boolean, default=False)


class NoteTag(IdMixin, TenantMixin, Base):
    """A tag on a note (like ``TaskTag``; registered with the tags component for usage counts)."""

    __tablename__ = "note_tags"
    # (tag_id, note_id): "notes with tag X" is an index-only lookup
    __table_args__ = (UniqueConstraint("note_id", "tag_id"), Index("ix_note_tags_tag_note", "tag_id", "note_id"))

    note_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("notes.id", ondelete="CASCADE"), index=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tags.id", ondelete="CASCADE"))


class Activity(IdMixin, TenantMixin, Base):
    """One row of the timeline (append-style), mostly written by event handlers.

    ``source_event_id`` is the id of the event that produced the row: unique, so a redelivered
    event (delivery is at least once) never adds a second row.
    """

    __tablename__ = "activities"
    __entity_name__ = "activity"

    type: Mapped[str] = mapped_column(String(30))  # note | task | email | call | meeting | deal_update | …
    summary: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    entity_type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    entity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    source_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
