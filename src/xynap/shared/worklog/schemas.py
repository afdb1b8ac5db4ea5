"""Request and response bodies of tasks, notes and activities."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xynap.shared.contacts.schemas import TagRef  # the shared tag reference {id, name, color}

TaskStatus = Literal["open", "in_progress", "done"]
TaskPriority = Literal["low", "medium", "high", "urgent"]
ENTITY_TYPE = r"^[a-z][a-z0-9_.]{0,49}$"

_VERSION_DOC = "The version you edited; a newer one on the server gives 409 version_conflict."


def _refuse_nulls(data: Any, fields: tuple[str, ...]) -> Any:
    """PATCH bodies: leaving a field out keeps it; ``null`` is refused for fields that cannot be empty."""
    if isinstance(data, dict):
        bad = [f for f in fields if f in data and data[f] is None]
        if bad:
            raise ValueError(f"{', '.join(bad)} cannot be null; leave the field out to keep it")
    return data


# --- tasks ------------------------------------------------------------------------------------------


class Subtask(BaseModel):
    id: uuid.UUID | None = Field(default=None, description="Kept when given; new subtasks get one")
    title: str = Field(min_length=1, max_length=300)
    done: bool = False


class SubtaskRead(BaseModel):
    id: uuid.UUID
    title: str
    done: bool


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str
    status: TaskStatus
    priority: TaskPriority
    due_date: dt.date | None
    assigned_to: uuid.UUID | None
    created_by: uuid.UUID | None
    linked_contact_id: uuid.UUID | None
    linked_entity_type: str | None
    linked_entity_id: uuid.UUID | None
    subtasks: list[SubtaskRead]
    position: int
    completed_at: dt.datetime | None
    tags: list[TagRef] = Field(default_factory=list, description="The task's tags, by name")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class TaskCreate(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=50_000)
    status: TaskStatus = "open"
    priority: TaskPriority = "medium"
    due_date: dt.date | None = None
    assigned_to: uuid.UUID | None = Field(
        default=None, description="Left out: the caller; null: nobody (needs the scope 'all')")
    linked_contact_id: uuid.UUID | None = None
    linked_entity_type: str | None = Field(default=None, pattern=ENTITY_TYPE)
    linked_entity_id: uuid.UUID | None = None
    subtasks: list[Subtask] = Field(default_factory=list, max_length=100)
    tag_ids: list[uuid.UUID] | None = Field(default=None, max_length=100,
                                            description="Tags of the company (/api/tags); replaces the task's tags")


class TaskUpdate(BaseModel):
    version: int = Field(description=_VERSION_DOC)
    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=50_000)
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    due_date: dt.date | None = None
    assigned_to: uuid.UUID | None = None
    linked_contact_id: uuid.UUID | None = None
    linked_entity_type: str | None = Field(default=None, pattern=ENTITY_TYPE)
    linked_entity_id: uuid.UUID | None = None
    subtasks: list[Subtask] | None = Field(default=None, max_length=100)
    tag_ids: list[uuid.UUID] | None = Field(default=None, max_length=100,
                                            description="Tags of the company (/api/tags); replaces the task's tags")

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        return _refuse_nulls(data, ("version", "title", "description", "status", "priority", "subtasks", "tag_ids"))


class TaskTagsSet(BaseModel):
    tag_ids: list[uuid.UUID] = Field(max_length=100, description="The task's tags afterwards (empty: none)")


class TaskMove(BaseModel):
    status: TaskStatus
    position: int = Field(ge=0, le=100_000, description="0-based place in the target column, as the caller sees it")
    version: int | None = Field(default=None, description=_VERSION_DOC)


# --- notes ------------------------------------------------------------------------------------------


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    content: str
    author_id: uuid.UUID | None
    linked_contact_id: uuid.UUID | None
    linked_entity_type: str | None
    linked_entity_id: uuid.UUID | None
    is_pinned: bool
    tags: list[TagRef] = Field(default_factory=list, description="The note's tags, by name")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class NoteCreate(BaseModel):
    content: str = Field(min_length=1, max_length=100_000, description="Markdown, stored as written")
    linked_contact_id: uuid.UUID | None = None
    linked_entity_type: str | None = Field(default=None, pattern=ENTITY_TYPE)
    linked_entity_id: uuid.UUID | None = None
    is_pinned: bool = False
    tag_ids: list[uuid.UUID] | None = Field(default=None, max_length=100,
                                            description="Tags of the company (/api/tags) the note carries")


class NoteUpdate(BaseModel):
    version: int = Field(description=_VERSION_DOC)
    content: str | None = Field(default=None, min_length=1, max_length=100_000)
    linked_contact_id: uuid.UUID | None = None
    linked_entity_type: str | None = Field(default=None, pattern=ENTITY_TYPE)
    linked_entity_id: uuid.UUID | None = None
    is_pinned: bool | None = None
    tag_ids: list[uuid.UUID] | None = Field(default=None, max_length=100,
                                            description="Tags of the company (/api/tags); replaces the note's tags")

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        return _refuse_nulls(data, ("version", "content", "is_pinned", "tag_ids"))


class NoteTagsSet(BaseModel):
    tag_ids: list[uuid.UUID] = Field(max_length=100, description="The note's tags afterwards (empty: none)")


# --- activities -------------------------------------------------------------------------------------


class ActivityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: str
    summary: str
    details: dict[str, Any]
    user_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    entity_type: str | None
    entity_id: uuid.UUID | None
    occurred_at: dt.datetime
