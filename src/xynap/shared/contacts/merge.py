"""Merging two contacts: the survivor takes the chosen values, everything that pointed at the other
contact moves to the survivor, the other contact is deleted — all in the caller's transaction.

Nothing is changed before every check passed (versions, names, owner), so a refused merge leaves
both records as they were; a failure later rolls back with the request's transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.db import utcnow
from xynap.core.errors import ValidationFailed
from xynap.shared.contacts import duplicates, service
from xynap.shared.contacts.models import Contact, ContactRelation, ContactTag
from xynap.shared.contacts.references import CONTACT_REFERENCES

SCALAR_FIELDS = ("type", "first_name", "last_name", "company_name", "avatar_url", "source", "owner_id")
LIST_FIELDS = ("emails", "phones", "addresses", "notes")  # notes: "both" joins the two texts
MERGE_FIELDS = SCALAR_FIELDS + LIST_FIELDS


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _entry_key(field: str, entry: dict[str, Any]) -> Any:
    if field == "emails":
        return str(entry.get("value", "")).casefold()
    if field == "phones":
        return entry.get("value")
    return tuple(str(entry.get(k, "")).strip().casefold() for k in ("street", "postal_code", "city", "country"))


def _both(field: str, mine: Any, theirs: Any) -> Any:
    if field == "notes":
        parts = [p for p in (mine, theirs) if p and p.strip()]
        return "\n\n".join(dict.fromkeys(parts))
    out, seen = [], set()
    for entry in list(mine or []) + list(theirs or []):
        key = _entry_key(field, entry)
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return out


def default_choices(this: Contact, other: Contact) -> dict[str, str]:
    """What the wizard preselects: the survivor's value unless it is empty; lists of both."""
    out = {}
    for field in MERGE_FIELDS:
        mine, theirs = getattr(this, field), getattr(other, field)
        if field in LIST_FIELDS and field != "notes":
            out[field] = "both"
        else:
            out[field] = "other" if _empty(mine) and not _empty(theirs) else "this"
    return out


def default_custom_choices(this: Contact, other: Contact) -> dict[str, str]:
    mine, theirs = this.custom_fields or {}, other.custom_fields or {}
    return {key: "this" if key in mine else "other" for key in sorted(set(mine) | set(theirs))}


def conflicts(this: Contact, other: Contact) -> tuple[list[str], list[str]]:
    """Fields (and custom field keys) where both records hold a value and the values differ."""
    fields = []
    for name in MERGE_FIELDS:
        mine, theirs = getattr(this, name), getattr(other, name)
        if not _empty(mine) and not _empty(theirs) and mine != theirs:
            fields.append(name)
    mine, theirs = this.custom_fields or {}, other.custom_fields or {}
    keys = sorted(k for k in set(mine) & set(theirs) if mine[k] != theirs[k])
    return fields, keys


def merged_values(this: Contact, other: Contact, choices: dict[str, str],
                  custom_choices: dict[str, str]) -> dict[str, Any]:
    """The survivor's new values; ValidationFailed for a choice that does not fit."""
    errors = []
    picked = default_choices(this, other) | {k: v for k, v in choices.items() if v is not None}
    values: dict[str, Any] = {}
    for field in MERGE_FIELDS:
        choice = picked[field]
        if choice == "both" and field not in LIST_FIELDS:
            errors.append(service.field_error(f"fields.{field}", "only list fields take both"))
            continue
        mine, theirs = getattr(this, field), getattr(other, field)
        values[field] = mine if choice == "this" else theirs if choice == "other" else _both(field, mine, theirs)
    mine, theirs = this.custom_fields or {}, other.custom_fields or {}
    custom = {}
    for key, choice in (default_custom_choices(this, other) | custom_choices).items():
        if key not in mine and key not in theirs:
            errors.append(service.field_error(f"custom_fields.{key}", "neither contact has this field"))
            continue
        source = mine if choice == "this" else theirs
        if key in source:
            custom[key] = source[key]
    values["custom_fields"] = custom
    if errors:
        raise service.invalid(errors)
    values["display_name"] = service.check_names(values["type"], values["first_name"], values["last_name"],
                                                 values["company_name"])
    values["email_keys"] = service.email_keys(values["emails"])
    values["phone_keys"] = service.phone_keys(values["phones"])
    return values


async def move_references(db: AsyncSession, survivor: Contact, loser: Contact) -> dict[str, int]:
    """Point every registered reference, relation and tag of ``loser`` at ``survivor``; counts moved."""
    moved: dict[str, int] = {}
    for ref in CONTACT_REFERENCES:
        column = getattr(ref.model, ref.column)
        values: dict[str, Any] = {ref.column: survivor.id}
        if "version" in ref.model.__table__.c:  # someone editing the record sees that it changed
            values["version"] = ref.model.version + 1
        result = await db.execute(update(ref.model).where(column == loser.id).values(values)
                                  .execution_options(synchronize_session=False))
        moved[f"{ref.model.__tablename__}.{ref.column}"] = result.rowcount or 0

    # relations: re-point, then drop those that became self-relations or duplicates
    relations = list(await db.scalars(select(ContactRelation).where(or_(
        ContactRelation.contact_a_id.in_([survivor.id, loser.id]),
        ContactRelation.contact_b_id.in_([survivor.id, loser.id]))).order_by(ContactRelation.created_at,
                                                                            ContactRelation.id)))
    seen: set[tuple[Any, ...]] = set()
    count = 0
    for relation in relations:
        a = survivor.id if relation.contact_a_id == loser.id else relation.contact_a_id
        b = survivor.id if relation.contact_b_id == loser.id else relation.contact_b_id
        key = (a, b, relation.relation_type)
        if a == b or key in seen:
            await db.delete(relation)
            continue
        seen.add(key)
        if (a, b) != (relation.contact_a_id, relation.contact_b_id):
            relation.contact_a_id, relation.contact_b_id = a, b
            count += 1
    moved["contact_relations"] = count

    # tags: the union, each (contact, tag) pair once
    have = set(await db.scalars(select(ContactTag.tag_id).where(ContactTag.contact_id == survivor.id)))
    count = 0
    for link in list(await db.scalars(select(ContactTag).where(ContactTag.contact_id == loser.id))):
        if link.tag_id in have:
            await db.delete(link)
        else:
            link.contact_id = survivor.id
            count += 1
    moved["contact_tags"] = count
    await duplicates.delete_match_keys(db, [loser.id])
    await db.flush()
    return moved


async def merge(db: AsyncSession, survivor: Contact, loser: Contact, values: dict[str, Any]) -> dict[str, int]:
    """Apply checked ``values`` (from ``merged_values``) and fold ``loser`` into ``survivor``."""
    moved = await move_references(db, survivor, loser)
    for name, value in values.items():
        if getattr(survivor, name) != value:
            setattr(survivor, name, value)
    survivor.updated_at = utcnow()  # the survivor changed (references, tags) even if no field did
    await db.flush()
    await duplicates.refresh_match_keys(db, survivor)
    await db.delete(loser)
    await db.flush()
    return moved


def ensure_distinct(contact_id: uuid.UUID, other_id: uuid.UUID) -> None:
    if contact_id == other_id:
        raise ValidationFailed("A contact cannot be merged with itself.", code="merge_same_contact",
                               errors=[service.field_error("other_id", "must be another contact")])
