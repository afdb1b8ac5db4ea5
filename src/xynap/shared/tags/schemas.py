"""Request and response bodies of the tags component."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"


class TagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    color: str
    created_at: dt.datetime
    usage: dict[str, int] = Field(default_factory=dict,
                                  description="How many records of each entity carry the tag, e.g. {\"contact\": 3}")


class TagCreate(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    color: str = Field(default="#64748b", pattern=COLOR_PATTERN)


class TagUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=60)
    color: str | None = Field(default=None, pattern=COLOR_PATTERN)
