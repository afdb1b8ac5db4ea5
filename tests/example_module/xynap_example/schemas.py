"""Request and response bodies of the example module."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

MAX_ITEM_BYTES = 10 * 1024**4  # 10 TiB: any larger number is a typo, not a file


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    body: str
    owner_id: uuid.UUID
    size_bytes: int
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ItemCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=20_000)
    size_bytes: int = Field(default=0, ge=0, le=MAX_ITEM_BYTES,
                            description="Storage counted against the company's quota")


class ItemUpdate(BaseModel):
    version: int = Field(description="The version you edited; a newer one on the server gives 409.")
    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=20_000)
