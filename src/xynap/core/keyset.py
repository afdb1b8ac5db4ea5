"""Keyset pagination over several sort keys (expressions, not just columns).

The kernel's ``paginate`` (core.pagination) sorts by one non-null column; lists that need
computed keys (priority rank, due date with "no date" last, pinned first) use this one. The cursor carries
the last row's key values and id, each encoded as JSON.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.errors import ValidationFailed


@dataclass(frozen=True)
class Key:
    expr: Any  # the SQL expression to order by
    value: Callable[[Any], Any]  # the same value, computed from a loaded row
    kind: str  # "int" | "date" | "datetime" (compare booleans as 0/1 ints: not every engine orders them)
    descending: bool = False


def _invalid() -> ValidationFailed:
    return ValidationFailed("The cursor is invalid; start again without it.", code="invalid_cursor",
                            errors=[{"field": "cursor", "message": "invalid cursor"}])


def _encode(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _decode(raw: Any, kind: str) -> Any:
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int) or not -(2**31) <= raw < 2**31:
            raise _invalid()
        return raw
    if not isinstance(raw, str):
        raise _invalid()
    try:
        if kind == "date":
            return dt.date.fromisoformat(raw)
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise _invalid() from None
    if value.tzinfo is None:
        raise _invalid()
    return value.astimezone(dt.UTC)


def encode_cursor(keys: Sequence[Key], row: Any) -> str:
    raw = json.dumps([*(_encode(k.value(row)) for k in keys), str(row.id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(keys: Sequence[Key], cursor: str) -> tuple[list[Any], uuid.UUID]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(keys) + 1:
            raise ValueError
        row_id = uuid.UUID(raw[-1])
    except (ValueError, TypeError, AttributeError):
        raise _invalid() from None
    return [_decode(v, k.kind) for v, k in zip(raw[:-1], keys, strict=True)], row_id


async def page(session: AsyncSession, stmt: Select[Any], *, keys: Sequence[Key], id_col: Any, limit: int,
               cursor: str | None, id_descending: bool = False) -> tuple[Sequence[Any], str | None]:
    """One page of ``stmt`` ordered by ``keys`` then the id; returns rows and the next cursor."""
    if cursor:
        values, last_id = decode_cursor(keys, cursor)
        # lexicographic "after": (k1 > v1) or (k1 = v1 and k2 > v2) or ... or (all equal and id > last)
        clauses = []
        equal: list[Any] = []
        for key, value in zip(keys, values, strict=True):
            after = key.expr < value if key.descending else key.expr > value
            clauses.append(and_(*equal, after))
            equal.append(key.expr == value)
        clauses.append(and_(*equal, id_col < last_id if id_descending else id_col > last_id))
        stmt = stmt.where(or_(*clauses))
        # redundant range on the first key so the index scan starts at the cursor (see pagination.paginate)
        first, first_value = keys[0], values[0]
        if first_value is not None:
            stmt = stmt.where(first.expr <= first_value if first.descending else first.expr >= first_value)
    order = [k.expr.desc() if k.descending else k.expr.asc() for k in keys]
    order.append(id_col.desc() if id_descending else id_col.asc())
    rows = (await session.scalars(stmt.order_by(*order).limit(limit + 1))).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(keys, rows[-1])
    return rows, next_cursor
