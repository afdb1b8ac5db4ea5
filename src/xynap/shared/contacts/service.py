"""Business rules of contacts: derived names, E.164 phones, search keys and custom field values.

Nothing here commits; the request (or job) that calls it does. The duplicate finder's match keys
are kept in step on every create/update/delete; ``store_match_keys(db, contacts)`` (re-exported from
``duplicates``) is the one call for a batch of new contacts, e.g. from the CSV import.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import math
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import phonenumbers
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core import keyset
from xynap.core.errors import ValidationFailed
from xynap.core.keyset import Key
from xynap.platform.settings.models import TenantSetting
from xynap.platform.users.models import User
from xynap.shared.contacts.duplicates import delete_match_keys, refresh_match_keys, store_match_keys  # noqa: F401
from xynap.shared.contacts.models import Contact, ContactTag, CustomFieldDefinition, Tag
from xynap.shared.tags.service import tags_by_record

DEFAULT_REGION = "DE"
# A bare language in company.locale says little about the country; these are the usual ones.
LANGUAGE_REGIONS = {"de": "DE", "fr": "FR", "it": "IT", "nl": "NL", "es": "ES", "pl": "PL", "da": "DK",
                    "cs": "CZ"}
MAX_TEXT_FIELD = 2000
URL = re.compile(r"^https?://\S+$")


def field_error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "in": "body", "message": message}


def invalid(errors: list[dict[str, str]]) -> ValidationFailed:
    fields = ", ".join(e["field"] for e in errors)
    return ValidationFailed(f"Invalid value for: {fields}", errors=errors)


# --- names and search keys ---------------------------------------------------------------------------


def display_name_of(contact_type: str, first: str | None, last: str | None, company: str | None) -> str:
    if contact_type == "organization":
        return (company or "").strip()
    return " ".join(p.strip() for p in (first, last) if p and p.strip())


def check_names(contact_type: str, first: str | None, last: str | None, company: str | None) -> str:
    name = display_name_of(contact_type, first, last, company)
    if not name:
        field = "company_name" if contact_type == "organization" else "last_name"
        what = "an organisation needs company_name" if contact_type == "organization" else \
            "a person needs first_name or last_name"
        raise invalid([field_error(field, what)])
    return name


def email_keys(emails: Iterable[dict[str, Any]]) -> str:
    return " ".join(dict.fromkeys(e["value"].casefold() for e in emails if e.get("value")))


def phone_keys(phones: Iterable[dict[str, Any]]) -> str:
    return " ".join(dict.fromkeys(p["value"] for p in phones if p.get("value")))


# --- phones ------------------------------------------------------------------------------------------


def region_of_locale(locale: Any) -> str:
    """``de`` → DE, ``de-AT`` / ``de_AT`` → AT, anything unknown → DE."""
    if not isinstance(locale, str) or not locale:
        return DEFAULT_REGION
    parts = re.split(r"[-_]", locale.strip())
    if len(parts) > 1 and len(parts[-1]) == 2 and parts[-1].isalpha():
        return parts[-1].upper()
    return LANGUAGE_REGIONS.get(parts[0].lower(), DEFAULT_REGION)


async def default_region(db: AsyncSession) -> str:
    locale = await db.scalar(select(TenantSetting.value).where(TenantSetting.key == "company.locale"))
    return region_of_locale(locale)


_NATIONAL_FORM = re.compile(r"0[1-9][0-9 ()/.\-]*")  # "040 2441057", "089/1234-56": digits, separators
_NOT_DIGITS = re.compile(r"[^0-9]")


@functools.lru_cache(maxsize=256)
def _plain_national_prefix(region: str) -> int | None:
    """The country code of a region whose national numbers are written with a plain "0" trunk prefix and
    nothing else to strip or transform (DE, AT, CH, FR, NL, BE, TR, …), else None."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.national_prefix != "0" or meta.national_prefix_for_parsing not in (None, "0") \
            or meta.national_prefix_transform_rule is not None:
        return None
    return meta.country_code


def to_e164(value: str, region: str) -> str | None:
    """The number in E.164, or None when it is not a valid number.

    A number written nationally in a region with a plain "0" trunk prefix (most of what a German CSV
    holds) skips phonenumbers' parser: the national number is the digits after the 0, and phonenumbers
    still decides whether it is valid (4.5 µs instead of 18 µs; a contact import checks one or two per
    row). Anything else, and any number that path does not find valid, takes the full parse."""
    country = _plain_national_prefix(region)
    if country is not None and _NATIONAL_FORM.fullmatch(value):
        national = _NOT_DIGITS.sub("", value)[1:]
        if phonenumbers.is_valid_number(phonenumbers.PhoneNumber(country_code=country, national_number=int(national))):
            return f"+{country}{national}"
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phones(phones: Sequence[Any], region: str) -> list[dict[str, str]]:
    out, errors = [], []
    for i, phone in enumerate(phones):
        e164 = to_e164(phone.value, region)
        if e164 is None:
            errors.append(field_error(f"phones.{i}.value", "not a valid phone number"))
        else:
            out.append({"type": phone.type, "value": e164})
    if errors:
        raise invalid(errors)
    return out


def phone_prefix(q: str, region: str) -> str | None:
    """A search text as the start of an E.164 number (``0151 23`` → ``+4915123``), if it looks like one."""
    digits = re.sub(r"[\s()./-]", "", q)
    if not digits or not re.fullmatch(r"\+?\d+", digits):
        return None
    if digits.startswith("+"):
        return digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        code = phonenumbers.country_code_for_region(region)
        return f"+{code}{digits[1:]}" if code else None
    return None


# --- custom fields -----------------------------------------------------------------------------------


async def field_definitions(db: AsyncSession, entity: str = "contact") -> dict[str, CustomFieldDefinition]:
    rows = await db.scalars(select(CustomFieldDefinition).where(CustomFieldDefinition.entity == entity))
    return {row.key: row for row in rows}


def _check_value(definition: CustomFieldDefinition, value: Any) -> tuple[Any, str | None]:
    """(normalised value, error message or None)."""
    kind = definition.type
    if kind == "text":
        if not isinstance(value, str) or len(value) > MAX_TEXT_FIELD:
            return None, f"expected text of at most {MAX_TEXT_FIELD} characters"
        return value, None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or abs(value) > 1e15:
            return None, "expected a number"
        return value, None
    if kind == "date":
        if isinstance(value, str) and len(value) <= 10:
            try:
                return dt.date.fromisoformat(value).isoformat(), None
            except ValueError:
                pass
        return None, "expected a date (YYYY-MM-DD)"
    if kind == "link":
        if not isinstance(value, str) or len(value) > 1000 or not URL.match(value):
            return None, "expected an http(s) link"
        return value, None
    if kind == "select":
        if not isinstance(value, str) or value not in definition.options:
            return None, f"expected one of: {', '.join(definition.options)}"
        return value, None
    if kind == "multiselect":
        if not isinstance(value, list) or not all(isinstance(v, str) and v in definition.options for v in value):
            return None, f"expected a list of: {', '.join(definition.options)}"
        return list(dict.fromkeys(value)), None
    if kind == "checkbox":
        if not isinstance(value, bool):
            return None, "expected true or false"
        return value, None
    return None, "unknown field type"


def validate_custom_fields(values: dict[str, Any], definitions: dict[str, CustomFieldDefinition],
                           existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """``existing`` updated with ``values`` (a null value removes a key), the new values checked against
    the definitions (type, options) and the result against ``required``. Values already stored are kept
    as they are, so a changed option list does not block edits of other fields."""
    out: dict[str, Any] = dict(existing or {})
    errors = []
    for key, value in values.items():
        out.pop(key, None)
        definition = definitions.get(key)
        if definition is None:
            if value is not None:
                errors.append(field_error(f"custom_fields.{key}", "no such custom field"))
            continue
        if value is None or value == "" or value == []:
            continue
        normalised, problem = _check_value(definition, value)
        if problem:
            errors.append(field_error(f"custom_fields.{key}", problem))
        else:
            out[key] = normalised
    for key, definition in definitions.items():
        if definition.required and key not in out and not any(e["field"] == f"custom_fields.{key}" for e in errors):
            errors.append(field_error(f"custom_fields.{key}", "required"))
    if errors:
        raise invalid(errors)
    return out


def custom_field_filter(db: AsyncSession, definition: CustomFieldDefinition, raw: str) -> Any:
    """A WHERE clause for ``?cf.<key>=raw`` on both engines (compiled like a segment condition)."""
    from xynap.shared.contacts import segments

    ctx = segments.Context(db.bind.dialect.name, {definition.key: definition}, set())
    return segments.compile_leaf(segments.query_value(definition, raw, f"cf.{definition.key}"), ctx)


def custom_field_sort_keys(db: AsyncSession, definition: CustomFieldDefinition, descending: bool) -> list[Key]:
    """Keyset keys for ``sort=cf.<key>``: contacts without a value last (either direction), then the
    value; the paginator adds the id as the tie-breaker."""
    key, kind = definition.key, definition.type
    if kind == "multiselect":
        raise ValidationFailed("Cannot sort by a multiselect field.", code="invalid_sort",
                               errors=[{"field": "sort", "in": "query", "message": "not sortable"}])
    column = Contact.custom_fields
    raw = column[key].as_string()
    missing = case((or_(column.is_(None), raw.is_(None)), 1), else_=0)

    def value_of(row: Any) -> Any:
        return (row.custom_fields or {}).get(key)

    if kind == "number":
        expr = func.coalesce(column[key].as_float(), 0.0)
        kind_name, py = "float", (lambda row: float(value_of(row) if value_of(row) is not None else 0.0))
    elif kind == "checkbox":
        expr = case((column[key].as_boolean().is_(True), 1), else_=0)
        kind_name, py = "int", (lambda row: 1 if value_of(row) is True else 0)
    else:
        expr = func.coalesce(raw, "")
        kind_name, py = "str", (lambda row: value_of(row) if isinstance(value_of(row), str) else "")
    return [Key(missing, lambda row: 1 if value_of(row) is None else 0, "int"),
            Key(expr, py, kind_name, descending=descending)]


# --- contacts ----------------------------------------------------------------------------------------


async def ensure_user(db: AsyncSession, user_id: uuid.UUID, field: str = "owner_id") -> None:
    if await db.scalar(select(User.id).where(User.id == user_id)) is None:
        raise invalid([field_error(field, "no such user")])


async def tags_by_contact(db: AsyncSession, contact_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Tag]]:
    return await tags_by_record(db, ContactTag.contact_id, contact_ids)


def search_clause(q: str, region: str) -> Any:
    """Name, e-mail or phone starting with ``q``."""
    folded = q.strip().casefold()
    clauses = [
        Contact.display_name.istartswith(q.strip(), autoescape=True),
        Contact.first_name.istartswith(q.strip(), autoescape=True),
        Contact.last_name.istartswith(q.strip(), autoescape=True),
        Contact.company_name.istartswith(q.strip(), autoescape=True),
        Contact.email_keys.startswith(folded, autoescape=True),
        Contact.email_keys.contains(" " + folded, autoescape=True),
    ]
    prefix = phone_prefix(q, region)
    if prefix:
        clauses += [Contact.phone_keys.startswith(prefix, autoescape=True),
                    Contact.phone_keys.contains(" " + prefix, autoescape=True)]
    return or_(*clauses)


# --- keyset pages over computed keys -------------------------------------------------------------------


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed("The cursor is invalid; start again without it.", code="invalid_cursor",
                            errors=[{"field": "cursor", "message": "invalid cursor"}])


def _cursor_value(raw: Any, kind: str) -> Any:
    if kind == "str":
        if not isinstance(raw, str) or "\x00" in raw or len(raw) > MAX_TEXT_FIELD:
            raise _bad_cursor()
        return raw
    if kind == "float":
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
            raise _bad_cursor()
        return float(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not -(2**31) <= raw < 2**31:
        raise _bad_cursor()
    return raw


async def keyset_page(db: AsyncSession, stmt: Any, keys: Sequence[Key], limit: int,
                      cursor: str | None) -> tuple[Sequence[Any], str | None]:
    """``xynap.core.keyset.page`` for keys that are also texts or numbers ("str" / "float"), which the
    kernel's cursor decoder does not read: the cursor (same format) is decoded here, the rest is the
    kernel's paginator."""
    if cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            if not isinstance(raw, list) or len(raw) != len(keys) + 1:
                raise ValueError
            last_id = uuid.UUID(raw[-1])
        except (ValueError, TypeError, AttributeError):
            raise _bad_cursor() from None
        values = [_cursor_value(v, k.kind) for v, k in zip(raw[:-1], keys, strict=True)]
        clauses, equal = [], []
        for key, value in zip(keys, values, strict=True):
            clauses.append(and_(*equal, key.expr < value if key.descending else key.expr > value))
            equal.append(key.expr == value)
        clauses.append(and_(*equal, Contact.id > last_id))
        stmt = stmt.where(or_(*clauses))
    return await keyset.page(db, stmt, keys=keys, id_col=Contact.id, limit=limit, cursor=None)
