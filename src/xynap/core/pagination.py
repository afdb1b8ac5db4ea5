"""Keyset (cursor) pagination: stable under inserts and as fast on page 1,000 as on page 1.

A list endpoint takes ``sort`` (a field, ``-field`` for descending), ``limit`` and
``cursor``; the cursor encodes the last row's sort value and id, the tie-breaker.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import uuid
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.errors import ValidationFailed

T = TypeVar("T")
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    if isinstance(value, decimal.Decimal):
        return {"d": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            return dt.datetime.fromisoformat(value["dt"])
        if "u" in value:
            return uuid.UUID(value["u"])
        if "d" in value:
            return decimal.Decimal(value["d"])
    return value


def encode_cursor(sort_value: Any, row_id: uuid.UUID) -> str:
    raw = json.dumps([_encode(sort_value), str(row_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed("The cursor is invalid; start again without it.", code="invalid_cursor",
                            errors=[{"field": "cursor", "message": "invalid cursor"}])


def decode_cursor(cursor: str) -> tuple[Any, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, row_id = json.loads(raw)
        return _decode(value), uuid.UUID(row_id)
    except Exception:
        raise _invalid_cursor() from None


def _cursor_value(value: Any, column: Any) -> Any:
    """The cursor's sort value, if it fits the sort column (a cursor of another sort order, or a
    forged one, would otherwise reach the database as a wrongly typed parameter)."""
    sql_type = column.type
    sql_type = getattr(sql_type, "impl_instance", sql_type)  # a TypeDecorator answers for its impl
    try:
        expected = sql_type.python_type
    except (AttributeError, NotImplementedError):
        return value
    if expected is dt.datetime:
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise _invalid_cursor()
        try:
            return value.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            raise _invalid_cursor() from None
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
            raise _invalid_cursor()
    elif expected is str:
        if not isinstance(value, str) or "\x00" in value:
            raise _invalid_cursor()
    elif expected is decimal.Decimal:
        if not isinstance(value, decimal.Decimal) or not value.is_finite():
            raise _invalid_cursor()
    elif not isinstance(value, expected):
        raise _invalid_cursor()
    return value


async def paginate(session: AsyncSession, stmt: Select[Any], *, model: Any, sort: str,
                   sortable: dict[str, Any], limit: int, cursor: str | None) -> tuple[Sequence[Any], str | None]:
    """Run ``stmt`` one page at a time. ``sortable`` maps public sort names to columns."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in sortable:
        raise ValidationFailed(f"Cannot sort by {key!r}; use one of {', '.join(sorted(sortable))}.",
                               code="invalid_sort", errors=[{"field": "sort", "message": "unknown sort field"}])
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}.", code="invalid_limit",
                               errors=[{"field": "limit", "message": f"1..{MAX_LIMIT}"}])
    column = sortable[key]
    id_col = model.id
    if cursor:
        value, last_id = decode_cursor(cursor)
        value = _cursor_value(value, column)
        # The plain range next to the OR is redundant for the result but is what makes it an index
        # condition: without it PostgreSQL walks the sort index from its start and drops every row
        # before the cursor (25,000 rows for a page in the middle of 50,000 contacts).
        if descending:
            stmt = stmt.where(column <= value, or_(column < value, and_(column == value, id_col < last_id)))
        else:
            stmt = stmt.where(column >= value, or_(column > value, and_(column == value, id_col > last_id)))
    order = (column.desc(), id_col.desc()) if descending else (column.asc(), id_col.asc())
    rows = (await session.scalars(stmt.order_by(*order).limit(limit + 1))).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, column.key), last.id)
    return rows, next_cursor
