"""Routes of the example module, mounted by the platform at ``/api/example`` behind the module gate.

Nothing here filters by tenant: the request's session only ever sees the caller's company.
Record scopes (own / team / all) come from ``Access``: reading narrows queries with
``Access.apply``; a record outside the read scope is reported as missing (404), a record that
is visible but outside the write scope is refused with 403 ``permission_scope``.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from xynap.core.errors import NotFound, check_version
from xynap.core.pagination import Page, paginate
from xynap.core.security.permissions import Access
from xynap.platform.auth.deps import DbDep, require
from xynap.platform.tenants.service import release_storage, reserve_storage
from xynap_example.models import ExampleItem
from xynap_example.schemas import ItemCreate, ItemRead, ItemUpdate

router = APIRouter(tags=["example"])

ITEM_SORTS = {"created_at": ExampleItem.created_at, "title": ExampleItem.title}

ReadAccess = Annotated[Access, require("example.item:read")]


async def _visible_item(db, item_id: uuid.UUID, read: Access) -> ExampleItem:
    """The item if it exists in this tenant and lies in the caller's read scope, else 404."""
    item = await db.scalar(read.apply(select(ExampleItem).where(ExampleItem.id == item_id), ExampleItem.owner_id))
    if item is None:
        raise NotFound("No such item.", code="item_not_found")
    return item


@router.get("/items", response_model=Page[ItemRead], summary="Items in the caller's scope")
async def list_items(
    db: DbDep,
    access: ReadAccess,
    q: Annotated[str | None, Query(max_length=100, description="Part of the title")] = None,
    owner_id: uuid.UUID | None = None,
    sort: Annotated[str, Query(description="created_at or title; prefix - for descending")] = "-created_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[ItemRead]:
    stmt = access.apply(select(ExampleItem), ExampleItem.owner_id)
    if q:
        stmt = stmt.where(ExampleItem.title.icontains(q, autoescape=True))
    if owner_id is not None:
        stmt = stmt.where(ExampleItem.owner_id == owner_id)
    rows, next_cursor = await paginate(db, stmt, model=ExampleItem, sort=sort, sortable=ITEM_SORTS, limit=limit,
                                       cursor=cursor)
    return Page(items=[ItemRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.post("/items", response_model=ItemRead, status_code=201, summary="Create an item owned by the caller")
async def create_item(body: ItemCreate, db: DbDep,
                      access: Annotated[Access, require("example.item:create")]) -> ItemRead:
    principal = access.principal
    if body.size_bytes > 0:
        # Refuses with 409 storage_quota_exceeded before anything is written.
        await reserve_storage(db, principal.tenant_id, body.size_bytes)
    item = ExampleItem(title=body.title, body=body.body, size_bytes=body.size_bytes, owner_id=principal.user_id)
    db.add(item)
    await db.flush()
    return ItemRead.model_validate(item)


@router.get("/items/{item_id}", response_model=ItemRead, summary="One item")
async def get_item(item_id: uuid.UUID, db: DbDep, access: ReadAccess) -> ItemRead:
    return ItemRead.model_validate(await _visible_item(db, item_id, access))


@router.patch("/items/{item_id}", response_model=ItemRead, summary="Change an item")
async def update_item(item_id: uuid.UUID, body: ItemUpdate, db: DbDep, read: ReadAccess,
                      access: Annotated[Access, require("example.item:update")]) -> ItemRead:
    item = await _visible_item(db, item_id, read)
    access.ensure_owner(item.owner_id)
    check_version(item, body.version)
    if body.title is not None:
        item.title = body.title
    if body.body is not None:
        item.body = body.body
    await db.flush()
    return ItemRead.model_validate(item)


@router.delete("/items/{item_id}", status_code=204, summary="Delete an item (frees its storage)")
async def delete_item(item_id: uuid.UUID, db: DbDep, read: ReadAccess,
                      access: Annotated[Access, require("example.item:delete")]) -> Response:
    item = await _visible_item(db, item_id, read)
    access.ensure_owner(item.owner_id)
    size, tenant_id = item.size_bytes, item.tenant_id
    await db.delete(item)
    await db.flush()
    await release_storage(db, tenant_id, size)
    return Response(status_code=204)
