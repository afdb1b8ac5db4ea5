"""Segments: saved dynamic contact filters — the grammar, its validation and the SQL compiler.

A filter is a group ``{"op": "and"|"or", "conditions": [...]}`` whose conditions are leaves
``{"field", "operator", "value"}`` or nested groups. ``validate_filter`` checks a filter against
the fields (base fields, tags, the company's custom fields) and answers 422 with one error per bad
part (``filter.conditions.1.operator``); it returns the filter with normalised values (E.164
phones, ISO datetimes). ``compile_filter`` turns a valid filter into one SQLAlchemy WHERE clause
that runs on both engines. The list filters ``?tag=`` and ``?cf.<key>=`` of ``GET /api/contacts``
compile through the same code (``compile_leaf``).

Index-friendly forms: tag → ``contact_tags (tag_id, contact_id)``; e-mail/phone equality → the
duplicate finder's ``contact_match_keys``; custom field equality (eq, in, multiselect contains) →
the ``cf`` rows of the same table (``branche=IT``), rechecked against the JSON value. For the
list's ``?tag=`` / ``?cf.<key>=`` filters ``plan_holders`` picks between starting from those holders
and walking the sort index with a per-row probe, by how many contacts hold the tag or value.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, Uuid, and_, bindparam, cast, false, func, not_, or_, select, true, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from xynap.core.errors import ValidationFailed
from xynap.shared.contacts.duplicates import FIELD_KIND, field_value_key
from xynap.shared.contacts.models import (
    CONTACT_SOURCES,
    CONTACT_TYPES,
    Contact,
    ContactMatchKey,
    ContactTag,
    CustomFieldDefinition,
)
from xynap.shared.tags.models import Tag

MAX_DEPTH = 5
MAX_CONDITIONS = 50
MAX_LIST = 100
MAX_TEXT = 200

TEXT_OPS = frozenset({"eq", "ne", "contains", "starts_with", "in", "is_empty", "is_not_empty"})
# field kind → allowed operators
OPERATORS: dict[str, frozenset[str]] = {
    "text": TEXT_OPS,
    "enum": frozenset({"eq", "ne", "in"}),
    "email": TEXT_OPS - {"in"},
    "phone": TEXT_OPS - {"in"},
    "address": TEXT_OPS,
    "uuid": frozenset({"eq", "ne", "in", "is_empty", "is_not_empty"}),
    "datetime": frozenset({"gt", "lt", "between"}),
    "tag": frozenset({"has", "has_not"}),
    "cf_text": TEXT_OPS,
    "cf_number": frozenset({"eq", "ne", "gt", "lt", "between", "in", "is_empty", "is_not_empty"}),
    "cf_date": frozenset({"eq", "ne", "gt", "lt", "between", "is_empty", "is_not_empty"}),
    "cf_checkbox": frozenset({"eq", "ne", "is_empty", "is_not_empty"}),
    "cf_multiselect": frozenset({"contains", "in", "is_empty", "is_not_empty"}),
}
BASE_FIELDS: dict[str, str] = {
    "display_name": "text", "first_name": "text", "last_name": "text", "company_name": "text",
    "type": "enum", "source": "enum", "email": "email", "phone": "phone", "city": "address", "country": "address",
    "owner_id": "uuid", "created_at": "datetime", "updated_at": "datetime", "tag": "tag",
}
CF_KINDS = {"text": "cf_text", "link": "cf_text", "select": "cf_text", "number": "cf_number", "date": "cf_date",
            "checkbox": "cf_checkbox", "multiselect": "cf_multiselect"}
NO_VALUE = frozenset({"is_empty", "is_not_empty"})


class _Invalid(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message


@dataclass
class Context:
    """What validation and compilation need to know about the company."""

    dialect: str
    definitions: dict[str, CustomFieldDefinition]
    tag_ids: set[uuid.UUID]
    region: str = "DE"
    # leaves ("tag", "cf.<key>") whose holders are many: compiled as a per-row probe, see ``plan_holders``
    probe: set[str] = field(default_factory=set)


async def load_context(db: AsyncSession, region: str = "DE") -> Context:
    definitions = {d.key: d for d in await db.scalars(
        select(CustomFieldDefinition).where(CustomFieldDefinition.entity == "contact"))}
    tag_ids = set(await db.scalars(select(Tag.id)))
    return Context(db.bind.dialect.name, definitions, tag_ids, region)


def field_kind(name: str, ctx: Context) -> str | None:
    if name.startswith("cf."):
        definition = ctx.definitions.get(name[3:])
        return CF_KINDS.get(definition.type) if definition else None
    return BASE_FIELDS.get(name)


# --- validation --------------------------------------------------------------------------------------


def _text(value: Any, path: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or "\x00" in value or (not allow_empty and not value):
        raise _Invalid(path, f"expected a non-empty text of at most {MAX_TEXT} characters")
    return value


def _datetime(value: Any, path: str) -> str:
    if isinstance(value, str) and len(value) <= 40:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            return parsed.astimezone(dt.UTC).isoformat()
    raise _Invalid(path, "expected a date or datetime (ISO 8601)")


def _scalar(kind: str, field: str, operator: str, value: Any, path: str, ctx: Context) -> Any:
    """One checked, normalised value of ``field`` for ``operator``."""
    if kind in ("text", "address", "email"):
        text = _text(value, path)
        return text.casefold() if kind == "email" else text
    if kind == "phone":
        from xynap.shared.contacts.service import phone_prefix, to_e164

        text = _text(value, path)
        if operator in ("eq", "ne"):
            e164 = to_e164(text, ctx.region)
            if e164 is None:
                raise _Invalid(path, "not a valid phone number")
            return e164
        return phone_prefix(text, ctx.region) or text
    if kind == "enum":
        allowed = CONTACT_TYPES if field == "type" else CONTACT_SOURCES
        if value not in allowed:
            raise _Invalid(path, f"expected one of: {', '.join(allowed)}")
        return value
    if kind in ("uuid", "tag"):
        try:
            ident = uuid.UUID(str(value)) if isinstance(value, str) else None
        except ValueError:
            ident = None
        if ident is None:
            raise _Invalid(path, "expected an id")
        if kind == "tag" and ident not in ctx.tag_ids:
            raise _Invalid(path, "no such tag")
        return str(ident)
    if kind == "datetime":
        return _datetime(value, path)
    definition = ctx.definitions[field[3:]]
    if kind == "cf_number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or abs(value) > 1e15:
            raise _Invalid(path, "expected a number")
        return value
    if kind == "cf_date":
        if isinstance(value, str) and len(value) <= 10:
            try:
                return dt.date.fromisoformat(value).isoformat()
            except ValueError:
                pass
        raise _Invalid(path, "expected a date (YYYY-MM-DD)")
    if kind == "cf_checkbox":
        if not isinstance(value, bool):
            raise _Invalid(path, "expected true or false")
        return value
    text = _text(value, path)
    exact = operator in ("eq", "ne", "in") if kind == "cf_text" else True
    if definition.type in ("select", "multiselect") and exact and text not in definition.options:
        raise _Invalid(path, f"expected one of: {', '.join(definition.options)}")
    return text


def _leaf(node: dict[str, Any], path: str, ctx: Context) -> dict[str, Any]:
    extra = set(node) - {"field", "operator", "value"}
    if extra:
        raise _Invalid(f"{path}.{sorted(extra)[0]}", "unknown key")
    field = node.get("field")
    if not isinstance(field, str):
        raise _Invalid(f"{path}.field", "expected a field name")
    kind = field_kind(field, ctx)
    if kind is None:
        raise _Invalid(f"{path}.field", "no such custom field" if field.startswith("cf.") else "unknown field")
    operator = node.get("operator")
    if operator not in OPERATORS[kind]:
        raise _Invalid(f"{path}.operator", f"not allowed for this field; use one of: "
                                           f"{', '.join(sorted(OPERATORS[kind]))}")
    value = node.get("value")
    vpath = f"{path}.value"
    if operator in NO_VALUE:
        if value is not None:
            raise _Invalid(vpath, "this operator takes no value")
        return {"field": field, "operator": operator, "value": None}
    if operator == "in":
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST:
            raise _Invalid(vpath, f"expected a list of 1 to {MAX_LIST} values")
        out: Any = [_scalar(kind, field, operator, v, f"{vpath}.{i}", ctx) for i, v in enumerate(value)]
    elif operator == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise _Invalid(vpath, "expected a list of two values [from, to]")
        out = [_scalar(kind, field, operator, v, f"{vpath}.{i}", ctx) for i, v in enumerate(value)]
    else:
        out = _scalar(kind, field, operator, value, vpath, ctx)
    return {"field": field, "operator": operator, "value": out}


def _group(node: Any, path: str, ctx: Context, depth: int, counter: list[int],
           errors: list[dict[str, str]]) -> dict[str, Any]:
    if not isinstance(node, dict):
        errors.append({"field": path, "in": "body", "message": "expected a group or a condition"})
        return {}
    if "conditions" not in node and "field" in node:
        try:
            counter[0] += 1
            return _leaf(node, path, ctx)
        except _Invalid as exc:
            errors.append({"field": exc.field, "in": "body", "message": exc.message})
            return {}
    if depth > MAX_DEPTH:
        errors.append({"field": path, "in": "body", "message": f"groups nest at most {MAX_DEPTH} deep"})
        return {}
    op, conditions = node.get("op", "and"), node.get("conditions")
    if op not in ("and", "or"):
        errors.append({"field": f"{path}.op", "in": "body", "message": "expected and or or"})
    if not isinstance(conditions, list):
        errors.append({"field": f"{path}.conditions", "in": "body", "message": "expected a list of conditions"})
        return {}
    extra = set(node) - {"op", "conditions"}
    if extra:
        errors.append({"field": f"{path}.{sorted(extra)[0]}", "in": "body", "message": "unknown key"})
    out = [_group(c, f"{path}.conditions.{i}", ctx, depth + 1, counter, errors) for i, c in enumerate(conditions)]
    return {"op": op, "conditions": out}


def validate_filter(raw: Any, ctx: Context, path: str = "filter") -> dict[str, Any]:
    """The filter with normalised values, or ValidationFailed naming every bad part."""
    errors: list[dict[str, str]] = []
    counter = [0]
    if not isinstance(raw, dict) or "conditions" not in raw:
        errors.append({"field": path, "in": "body", "message": 'expected a group {"op": ..., "conditions": [...]}'})
        out: dict[str, Any] = {}
    else:
        out = _group(raw, path, ctx, 1, counter, errors)
    if counter[0] > MAX_CONDITIONS:
        errors.append({"field": path, "in": "body", "message": f"at most {MAX_CONDITIONS} conditions"})
    if errors:
        raise ValidationFailed("The filter is invalid: " + ", ".join(e["field"] for e in errors),
                               code="invalid_filter", errors=errors)
    return out


# --- compilation -------------------------------------------------------------------------------------


def _text_ops(column: Any, operator: str, value: Any) -> ColumnElement[bool]:
    """Case-insensitive text comparisons on a (nullable) text expression."""
    lowered = func.lower(column)
    if operator == "eq":
        return lowered == value.lower()
    if operator == "ne":
        return or_(column.is_(None), lowered != value.lower())
    if operator == "contains":
        return column.icontains(value, autoescape=True)
    if operator == "starts_with":
        return column.istartswith(value, autoescape=True)
    if operator == "in":
        return lowered.in_([v.lower() for v in value])
    if operator == "is_empty":
        return or_(column.is_(None), column == "")
    return and_(column.is_not(None), column != "")


def _keys_ops(keys_column: Any, kind: str, operator: str, value: Any) -> ColumnElement[bool]:
    """E-mail / phone: equality through the match-key index, the rest on the space-joined keys column."""
    if operator in ("eq", "ne"):
        holders = select(ContactMatchKey.contact_id).where(ContactMatchKey.kind == kind, ContactMatchKey.key == value)
        return Contact.id.in_(holders) if operator == "eq" else Contact.id.not_in(holders)
    if operator == "contains":
        return keys_column.contains(value, autoescape=True)
    if operator == "starts_with":
        return or_(keys_column.startswith(value, autoescape=True), keys_column.contains(" " + value, autoescape=True))
    return keys_column == "" if operator == "is_empty" else keys_column != ""


def _address_ops(ctx: Context, attribute: str, operator: str, value: Any) -> ColumnElement[bool]:
    """Any address whose city/country matches (``is_empty``/``ne``: no address matches)."""
    if ctx.dialect == "postgresql":
        elements = func.jsonb_array_elements(type_coerce(Contact.addresses, JSONB)).table_valued("value")
        attr = elements.c.value.op("->>")(attribute)
    else:
        elements = func.json_each(Contact.addresses).table_valued("value")
        attr = func.json_extract(elements.c.value, f"$.{attribute}")
    if operator in ("is_empty", "is_not_empty"):
        some = select(1).select_from(elements).where(_text_ops(attr, "is_not_empty", None)).exists()
        return not_(some) if operator == "is_empty" else some
    if operator == "ne":
        return not_(select(1).select_from(elements).where(_text_ops(attr, "eq", value)).exists())
    return select(1).select_from(elements).where(_text_ops(attr, operator, value)).exists()


def _inline(value: Any, type_: Any) -> Any:
    """A value rendered into the SQL text (safely quoted) instead of a parameter.

    Why: asyncpg runs prepared statements, and PostgreSQL soon switches them to a *generic* plan that
    does not know the value. For "tag = <rare tag>" or "branche = <rare value>" that plan walks the
    whole name index (measured: ~1 s on 300,000 contacts); with the value in the text the planner
    sees its frequency and starts from the key index (~20 ms)."""
    return bindparam(None, value, type_=type_, literal_execute=True)


def _json_literal(value: Any) -> Any:
    """A JSON value in the SQL text, as ``'…'::jsonb``: each value gets a plan of its own (see ``_inline``)."""
    return cast(_inline(json.dumps(value, ensure_ascii=False, sort_keys=True), String()), JSONB)


# --- holders: "contacts with tag X", "contacts whose field is V" --------------------------------------
#
# Such a filter has two good plans, and which one depends on how many contacts match: few → start from
# the holders (tag or key index) and sort them; many → walk the sort index (name) and probe each row's
# tag / key until the page is full. The planners guess the count badly (PostgreSQL sorted all 6,000
# holders of "Branche = IT" in 50,000 contacts, 64 ms; SQLite sorted all VIP contacts, 58 ms), so the
# list counts the holders up to MANY_HOLDERS first (an index range, < 1 ms) and picks the form.
# Walking costs about limit × tenant size / holders probed rows; sorting, one row per holder. The
# best switch is about sqrt(limit × tenant size) (1,600 for 50,000 contacts, 7,100 for 1,000,000);
# 4,000 keeps the worst case (a value held by just over 4,000 of a million contacts: ~13,000 rows
# walked for a page of 50) in the tens of milliseconds without knowing the tenant's size.
MANY_HOLDERS = 4_000


def _tag_holders(value: str) -> Any:
    return select(ContactTag.contact_id).where(ContactTag.tag_id == _inline(uuid.UUID(value), Uuid()))


def _field_holders(key: str, values: list[Any]) -> Any:
    """Contacts holding one of the values per the key table (keys are capped in length, so the
    caller adds the exact JSON comparison as a recheck)."""
    keys = [_inline(field_value_key(key, v), String()) for v in values]
    return select(ContactMatchKey.contact_id).where(ContactMatchKey.kind == _inline(FIELD_KIND, String()),
                                                    ContactMatchKey.key.in_(keys))


def _holds(holders: Any, probe: bool) -> ColumnElement[bool]:
    if not probe:
        return Contact.id.in_(holders)
    # Many holders: walk the sort index and probe each walked row with a correlated EXISTS, kept a
    # sub-plan by OFFSET 0 (pulled up into a semi-join, PostgreSQL started from the links instead: 647 ms
    # at 1,000,000 contacts). Each probe is one descent of the (tag_id, tenant_id, contact_id) index, and
    # the RLS settings are read once per statement: 12.9 ms for 408 probes at 1,000,000 contacts, where a
    # hash of all 133,000 holders (the former PostgreSQL form) cost 50-70 ms per request.
    column = holders.selected_columns[0]
    return holders.where(column == Contact.id).offset(0).exists()


def holders_of(leaf: dict[str, Any], ctx: Context) -> Any | None:
    """The holder query of a tag / custom-field-equality leaf, ``None`` for other leaves."""
    field_name, operator, value = leaf["field"], leaf["operator"], leaf["value"]
    kind = field_kind(field_name, ctx)
    if kind == "tag" and operator == "has":
        return _tag_holders(value)
    if field_name.startswith("cf.") and (operator in ("eq", "in") and kind != "cf_multiselect"
                                         or operator in ("contains", "in") and kind == "cf_multiselect"):
        return _field_holders(field_name[3:], value if operator == "in" else [value])
    return None


async def plan_holders(db: AsyncSession, leaf: dict[str, Any], ctx: Context) -> None:
    """Mark ``leaf`` for the per-row probe in ``ctx`` when more than MANY_HOLDERS contacts hold it."""
    holders = holders_of(leaf, ctx)
    if holders is None:
        return
    bounded = holders.limit(MANY_HOLDERS + 1).subquery()
    if await db.scalar(select(func.count()).select_from(bounded)) > MANY_HOLDERS:
        ctx.probe.add(leaf["field"])


def _cf_ops(ctx: Context, kind: str, key: str, operator: str, value: Any) -> ColumnElement[bool]:
    column = Contact.custom_fields
    postgres = ctx.dialect == "postgresql"
    probe = f"cf.{key}" in ctx.probe
    text = column[key].as_string()
    missing = or_(column.is_(None), text.is_(None))
    if operator == "is_empty":
        return missing
    if operator == "is_not_empty":
        return not_(missing)
    # Many holders (``probe``): the walked rows are tested on their own JSON alone — exact, and a few
    # microseconds a row. Testing them against the key table as well (a hashed sub-plan of every holder)
    # cost the whole key range on each request (64 ms for "Branche = IT" in 50,000 contacts; 0.7 ms without).
    def json_contains(value: Any) -> ColumnElement[bool]:
        literal = _json_literal(value)
        if probe:
            # The function, not its operator ``@>``: under row-level security PostgreSQL estimates a
            # non-leakproof operator without the column's statistics (a few rows of 50,000), and so seq-scanned
            # and sorted the whole company (47 ms) instead of walking the name index until the page is full
            # (under 1 ms); a function call gets the planner's fixed third, which picks the walk.
            return func.jsonb_contains(type_coerce(column, JSONB), literal)
        return type_coerce(column, JSONB).contains(literal)

    if kind == "cf_multiselect":
        def has(option: str) -> ColumnElement[bool]:
            if postgres:
                return json_contains({key: [option]})
            each = func.json_each(column, f'$."{key}"').table_valued("value")
            return select(each.c.value).where(each.c.value == option).exists()
        options = [value] if operator == "contains" else value
        exact = or_(*(has(v) for v in options))
        return exact if probe else and_(Contact.id.in_(_field_holders(key, options)), exact)
    typed = {"cf_number": column[key].as_float(), "cf_checkbox": column[key].as_boolean()}.get(kind, text)

    def equal(v: Any) -> ColumnElement[bool]:
        if postgres:
            return json_contains({key: v})
        return typed == v

    if operator == "eq":
        return equal(value) if probe else and_(Contact.id.in_(_field_holders(key, [value])), equal(value))
    if operator == "ne":
        return or_(missing, not_(equal(value)))
    if operator == "in":
        exact = or_(*(equal(v) for v in value))
        return exact if probe else and_(Contact.id.in_(_field_holders(key, value)), exact)
    if operator == "contains":
        return text.icontains(value, autoescape=True)
    if operator == "starts_with":
        return text.istartswith(value, autoescape=True)
    if operator == "gt":
        return typed > value
    if operator == "lt":
        return typed < value
    return typed.between(value[0], value[1])


def compile_leaf(leaf: dict[str, Any], ctx: Context) -> ColumnElement[bool]:
    field, operator, value = leaf["field"], leaf["operator"], leaf["value"]
    kind = field_kind(field, ctx)
    if kind is None:  # validated filters never get here
        raise ValidationFailed(f"Unknown filter field {field!r}.", code="invalid_filter",
                               errors=[{"field": field, "message": "unknown field"}])
    if field.startswith("cf."):
        return _cf_ops(ctx, kind, field[3:], operator, value)
    if kind == "tag":
        holders = _tag_holders(value)
        if operator != "has":
            return Contact.id.not_in(holders)
        return _holds(holders, "tag" in ctx.probe)
    if kind == "email":
        return _keys_ops(Contact.email_keys, "email", operator, value)
    if kind == "phone":
        return _keys_ops(Contact.phone_keys, "phone", operator, value)
    if kind == "address":
        return _address_ops(ctx, field, operator, value)
    column = getattr(Contact, field)
    if kind == "text":
        return _text_ops(column, operator, value)
    if kind == "uuid":
        if operator == "is_empty":
            return column.is_(None)
        if operator == "is_not_empty":
            return column.is_not(None)
        if operator == "in":
            return column.in_([uuid.UUID(v) for v in value])
        ident = uuid.UUID(value)
        return column == ident if operator == "eq" else or_(column.is_(None), column != ident)
    if kind == "datetime":
        if operator == "between":
            return column.between(dt.datetime.fromisoformat(value[0]), dt.datetime.fromisoformat(value[1]))
        moment = dt.datetime.fromisoformat(value)
        return column > moment if operator == "gt" else column < moment
    # enum
    if operator == "in":
        return column.in_(value)
    return column == value if operator == "eq" else column != value


def compile_filter(node: dict[str, Any], ctx: Context) -> ColumnElement[bool]:
    """One WHERE clause for a validated filter."""
    if "conditions" not in node:
        return compile_leaf(node, ctx)
    parts = [compile_filter(c, ctx) for c in node["conditions"]]
    if node.get("op", "and") == "or":
        return or_(false(), *parts)
    return and_(true(), *parts)


def query_value(definition: CustomFieldDefinition, raw: str, param: str) -> dict[str, Any]:
    """The leaf behind a list filter ``?cf.<key>=raw`` (exact match; "has the option" for multiselect)."""
    kind = CF_KINDS[definition.type]

    def bad(message: str) -> ValidationFailed:
        return ValidationFailed(f"Invalid value for: {param}", errors=[{"field": param, "in": "query",
                                                                        "message": message}])

    value: Any = raw
    if kind == "cf_number":
        try:
            value = float(raw)
        except ValueError:
            raise bad("expected a number") from None
        if not math.isfinite(value):
            raise bad("expected a number")
    elif kind == "cf_checkbox":
        if raw.lower() not in ("true", "false", "1", "0"):
            raise bad("expected true or false")
        value = raw.lower() in ("true", "1")
    operator = "contains" if kind == "cf_multiselect" else "eq"
    return {"field": f"cf.{definition.key}", "operator": operator, "value": value}
