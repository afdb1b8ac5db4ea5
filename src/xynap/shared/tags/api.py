"""Routes of the tags component, mounted at ``/api/tags``: tags with colours, shared by every entity.

Tags have no owner (unscoped permission ``tags.tag``). Names are unique per company, compared
case-insensitively. ``usage`` counts the records carrying a tag per entity, from the link tables
registered in ``xynap.shared.tags.registry``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Response
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.errors import Conflict, NotFound, ValidationFailed
from xynap.core.security.permissions import Access
from xynap.platform.auth.deps import DbDep, require
from xynap.shared.tags.models import Tag
from xynap.shared.tags.registry import TAG_LINKS
from xynap.shared.tags.schemas import TagCreate, TagRead, TagUpdate

router = APIRouter(tags=["tags"])


def _name_error(message: str) -> list[dict[str, str]]:
    return [{"field": "name", "in": "body", "message": message}]


async def _tag(db: AsyncSession, tag_id: uuid.UUID) -> Tag:
    tag = await db.get(Tag, tag_id)
    if tag is None:
        raise NotFound("No such tag.", code="tag_not_found")
    return tag


async def _ensure_name_free(db: AsyncSession, name: str, exclude: uuid.UUID | None = None) -> None:
    stmt = select(Tag.id).where(func.lower(Tag.name) == name.lower())
    if exclude is not None:
        stmt = stmt.where(Tag.id != exclude)
    if await db.scalar(stmt.limit(1)) is not None:
        raise Conflict(f"A tag named {name!r} exists already.", code="tag_exists", errors=_name_error("already taken"))


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationFailed("Invalid value for: name", errors=_name_error("must not be blank"))
    return name


async def usage_counts(db: AsyncSession, tag_ids: Sequence[uuid.UUID] | None = None) -> dict[uuid.UUID, dict[str, int]]:
    """{tag id: {entity: count}} over every registered link table (all tags when ``tag_ids`` is None)."""
    out: dict[uuid.UUID, dict[str, int]] = {}
    for link in TAG_LINKS.values():
        stmt = select(link.tag_column, func.count()).group_by(link.tag_column)
        if tag_ids is not None:
            stmt = stmt.where(link.tag_column.in_(list(tag_ids)))
        for tag_id, count in await db.execute(stmt):
            out.setdefault(tag_id, {})[link.entity] = count
    return out


def _read(tag: Tag, usage: dict[uuid.UUID, dict[str, int]]) -> TagRead:
    counts = {entity: 0 for entity in TAG_LINKS} | usage.get(tag.id, {})
    return TagRead.model_validate(tag).model_copy(update={"usage": counts})


@router.get("", response_model=list[TagRead], summary="All tags of the company, with usage counts")
async def list_tags(db: DbDep, _: Annotated[Access, require("tags.tag:read")]) -> list[TagRead]:
    rows = list(await db.scalars(select(Tag).order_by(Tag.name, Tag.id)))
    usage = await usage_counts(db)
    return [_read(t, usage) for t in rows]


@router.post("", response_model=TagRead, status_code=201, summary="Create a tag")
async def create_tag(body: TagCreate, db: DbDep, _: Annotated[Access, require("tags.tag:create")]) -> TagRead:
    name = _clean_name(body.name)
    await _ensure_name_free(db, name)
    tag = Tag(name=name, color=body.color)
    db.add(tag)
    await db.flush()
    return _read(tag, {})


@router.get("/{tag_id}", response_model=TagRead, summary="One tag")
async def get_tag(tag_id: uuid.UUID, db: DbDep, _: Annotated[Access, require("tags.tag:read")]) -> TagRead:
    tag = await _tag(db, tag_id)
    return _read(tag, await usage_counts(db, [tag.id]))


@router.patch("/{tag_id}", response_model=TagRead, summary="Rename or recolour a tag")
async def update_tag(tag_id: uuid.UUID, body: TagUpdate, db: DbDep,
                     _: Annotated[Access, require("tags.tag:update")]) -> TagRead:
    tag = await _tag(db, tag_id)
    if body.name is not None:
        name = _clean_name(body.name)
        await _ensure_name_free(db, name, exclude=tag.id)
        tag.name = name
    if body.color is not None:
        tag.color = body.color
    await db.flush()
    return _read(tag, await usage_counts(db, [tag.id]))


@router.delete("/{tag_id}", status_code=204, summary="Delete a tag (removes it from every record)")
async def delete_tag(tag_id: uuid.UUID, db: DbDep, _: Annotated[Access, require("tags.tag:delete")]) -> Response:
    tag = await _tag(db, tag_id)
    for link in TAG_LINKS.values():
        await db.execute(delete(link.model).where(link.tag_column == tag.id))
    await db.delete(tag)
    await db.flush()
    return Response(status_code=204)
