"""Response bodies of the global search."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel

UpdatedBucket = Literal["today", "last_7_days", "last_30_days", "older"]


class SearchHit(BaseModel):
    type: str
    id: uuid.UUID
    title: str
    subtitle: str
    snippet: str
    url: str  # route of the web app, e.g. /contacts/<id>
    owner_id: uuid.UUID | None
    updated_at: dt.datetime
    score: float


class FacetCount(BaseModel):
    value: str | None
    count: int
    label: str | None = None


class SearchFacets(BaseModel):
    type: list[FacetCount]
    owner: list[FacetCount]
    updated: list[FacetCount]  # cumulative: today ⊂ last_7_days ⊂ last_30_days; older is the rest


class SearchType(BaseModel):
    type: str
    label: dict[str, str]
    icon: str


class SearchResults(BaseModel):
    query: str
    items: list[SearchHit]
    total: int | None  # None when facets=false was asked for
    total_exact: bool  # false when more than the counted maximum matched; total is then a lower bound
    limit: int
    offset: int
    facets: SearchFacets
    types: list[SearchType]  # the types this user can search
