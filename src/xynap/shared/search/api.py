"""``GET /api/search``: one query across every registered type the caller may read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from xynap.core.errors import ValidationFailed
from xynap.core.search import get_source
from xynap.platform.auth.deps import DbDep, UserDep, require_tenant
from xynap.shared.search import service
from xynap.shared.search.schemas import FacetCount, SearchFacets, SearchHit, SearchResults, SearchType, UpdatedBucket

router = APIRouter(tags=["search"])


@router.get("", response_model=SearchResults, summary="Search contacts, tasks, notes and whatever modules add")
async def search(
    request: Request,
    db: DbDep,
    principal: UserDep,
    q: Annotated[str, Query(max_length=1000, description='Words (prefix match), "phrases", -excluded, a or b')],
    type: Annotated[list[str] | None, Query(description="Only these types (repeatable)")] = None,  # noqa: A002
    owner_id: uuid.UUID | None = None,
    updated: UpdatedBucket | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1000)] = 0,
    per_type: Annotated[int | None, Query(ge=1, le=50, description="At most this many hits of each type")] = None,
    facets: Annotated[bool, Query(description="Count facets and the total (false: hits only, faster)")] = True,
) -> SearchResults:
    unknown = [t for t in type or [] if get_source(t) is None]
    if unknown:
        raise ValidationFailed(f"Unknown search type: {', '.join(unknown)}", code="search_type_unknown",
                               errors=[{"field": "type", "in": "query", "message": "unknown type"}])
    tenant = require_tenant(request)
    registry = request.app.state.runtime.registry

    def module_open(slug: str) -> bool:
        module = registry.get(slug)
        return module is not None and (module.kind == "shared" or slug in tenant.modules)

    result = await service.search(db, principal, q, module_open=module_open, types=type, owner_id=owner_id,
                                  updated=updated, limit=limit, offset=offset, per_type=per_type,
                                  with_facets=facets)
    return SearchResults(
        query=q, total=result.total, total_exact=result.total_exact, limit=limit, offset=offset,
        items=[SearchHit(**vars(h)) for h in result.hits],
        facets=SearchFacets(**{k: [FacetCount(**f) for f in v] for k, v in result.facets.items()}),
        types=[SearchType(type=s.type, label=s.label, icon=s.icon) for s in result.sources],
    )
