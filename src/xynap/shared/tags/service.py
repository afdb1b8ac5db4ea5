"""Tag rules shared by every entity that links tags (contacts, tasks, deals, leads, …)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession


async def replace_tag_links(db: AsyncSession, link_model: Any, record_column: Any, record_id: uuid.UUID,
                            wanted: Iterable[uuid.UUID], *, current: set[uuid.UUID] | None = None
                            ) -> list[uuid.UUID]:
    """Make one record's tag links exactly ``wanted`` (repeats ignored): delete the links no longer
    wanted, add the missing ones. ``record_column`` is the link model's column naming the record
    (``TaskTag.task_id``); ``current`` may pass the record's tag ids when the caller read them already.
    Returns the tag ids added, in the order given. The ids must already be checked (tags of this tenant).
    """
    tag_column = link_model.tag_id
    if current is None:
        current = set(await db.scalars(select(tag_column).where(record_column == record_id)))
    ordered = list(dict.fromkeys(wanted))
    gone = current - set(ordered)
    if gone:
        await db.execute(delete(link_model).where(record_column == record_id, tag_column.in_(gone)))
    added = [tag_id for tag_id in ordered if tag_id not in current]
    for tag_id in added:
        db.add(link_model(**{record_column.key: record_id, "tag_id": tag_id}))
    return added
