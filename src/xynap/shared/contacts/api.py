"""Routes of the contacts component, mounted at ``/api/contacts`` behind the (shared) module gate.

Record scopes follow the example module: a contact outside the caller's read scope is reported
missing (404); one that is visible but outside the write scope is refused with 403
``permission_scope``. Tags (``/tags``) and custom field definitions (``/fields``) have no owner.
The fixed paths are declared before ``/{contact_id}`` so that they are not read as an id.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.errors import Conflict, NotFound, ValidationFailed, check_version
from xynap.core.events import publish
from xynap.core.pagination import Page, paginate
from xynap.core.security.permissions import Access
from xynap.platform.auth.deps import DbDep, require
from xynap.shared.contacts import service
from xynap.shared.contacts.models import Contact, ContactRelation, ContactTag, CustomFieldDefinition, Tag
from xynap.shared.contacts.schemas import (
    ContactCreate,
    ContactRead,
    ContactTagsSet,
    ContactUpdate,
    FieldCreate,
    FieldRead,
    FieldUpdate,
    RelationCreate,
    RelationRead,
    TagCreate,
    TagRead,
    TagUpdate,
)

router = APIRouter(tags=["contacts"])

CONTACT_SORTS = {"name": Contact.display_name, "created_at": Contact.created_at}
READ = "contacts.contact:read"

ReadAccess = Annotated[Access, require(READ)]


# --- helpers -----------------------------------------------------------------------------------------


async def _visible_contact(db: AsyncSession, contact_id: uuid.UUID, read: Access) -> Contact:
    contact = await db.scalar(read.apply(select(Contact).where(Contact.id == contact_id), Contact.owner_id))
    if contact is None:
        raise NotFound("No such contact.", code="contact_not_found")
    return contact


async def _read(db: AsyncSession, contact: Contact) -> ContactRead:
    tags = await service.tags_by_contact(db, [contact.id])
    return ContactRead.model_validate(contact).model_copy(update={"tags": tags[contact.id]})


def _event_payload(contact: Contact, **extra: Any) -> dict[str, Any]:
    return {"id": contact.id, "type": contact.type, "display_name": contact.display_name,
            "owner_id": contact.owner_id, **extra}


def _publish(db: AsyncSession, name: str, contact: Contact, **extra: Any) -> None:
    publish(db, name, _event_payload(contact, **extra), permission=READ, owner_id=contact.owner_id)


# --- tags --------------------------------------------------------------------------------------------


async def _tag(db: AsyncSession, tag_id: uuid.UUID) -> Tag:
    tag = await db.get(Tag, tag_id)
    if tag is None:
        raise NotFound("No such tag.", code="tag_not_found")
    return tag


async def _ensure_tag_name_free(db: AsyncSession, name: str, exclude: uuid.UUID | None = None) -> None:
    stmt = select(Tag.id).where(func.lower(Tag.name) == name.lower())
    if exclude is not None:
        stmt = stmt.where(Tag.id != exclude)
    if await db.scalar(stmt.limit(1)) is not None:
        raise Conflict(f"A tag named {name!r} exists already.", code="tag_exists",
                       errors=[service.field_error("name", "already taken")])


@router.get("/tags", response_model=list[TagRead], summary="All tags of the company")
async def list_tags(db: DbDep, _: Annotated[Access, require("contacts.tag:read")]) -> list[TagRead]:
    rows = await db.scalars(select(Tag).order_by(Tag.name, Tag.id))
    return [TagRead.model_validate(t) for t in rows]


@router.post("/tags", response_model=TagRead, status_code=201, summary="Create a tag")
async def create_tag(body: TagCreate, db: DbDep, _: Annotated[Access, require("contacts.tag:create")]) -> TagRead:
    name = body.name.strip()
    if not name:
        raise service.invalid([service.field_error("name", "must not be blank")])
    await _ensure_tag_name_free(db, name)
    tag = Tag(name=name, color=body.color)
    db.add(tag)
    await db.flush()
    return TagRead.model_validate(tag)


@router.get("/tags/{tag_id}", response_model=TagRead, summary="One tag")
async def get_tag(tag_id: uuid.UUID, db: DbDep, _: Annotated[Access, require("contacts.tag:read")]) -> TagRead:
    return TagRead.model_validate(await _tag(db, tag_id))


@router.patch("/tags/{tag_id}", response_model=TagRead, summary="Rename or recolour a tag")
async def update_tag(tag_id: uuid.UUID, body: TagUpdate, db: DbDep,
                     _: Annotated[Access, require("contacts.tag:update")]) -> TagRead:
    tag = await _tag(db, tag_id)
    if body.name is not None:
        name = body.name.strip()
        if not name:
            raise service.invalid([service.field_error("name", "must not be blank")])
        await _ensure_tag_name_free(db, name, exclude=tag.id)
        tag.name = name
    if body.color is not None:
        tag.color = body.color
    await db.flush()
    return TagRead.model_validate(tag)


@router.delete("/tags/{tag_id}", status_code=204, summary="Delete a tag (removes it from every contact)")
async def delete_tag(tag_id: uuid.UUID, db: DbDep, _: Annotated[Access, require("contacts.tag:delete")]) -> Response:
    tag = await _tag(db, tag_id)
    await db.execute(delete(ContactTag).where(ContactTag.tag_id == tag.id))
    await db.delete(tag)
    await db.flush()
    return Response(status_code=204)


# --- custom field definitions ------------------------------------------------------------------------


async def _field(db: AsyncSession, field_id: uuid.UUID) -> CustomFieldDefinition:
    definition = await db.get(CustomFieldDefinition, field_id)
    if definition is None:
        raise NotFound("No such custom field.", code="field_not_found")
    return definition


def _check_options(kind: str, options: list[str]) -> list[str]:
    options = list(dict.fromkeys(o.strip() for o in options if o.strip()))
    if kind in ("select", "multiselect") and not options:
        raise service.invalid([service.field_error("options", "a select field needs options")])
    return options if kind in ("select", "multiselect") else []


@router.get("/fields", response_model=list[FieldRead], summary="Custom field definitions")
async def list_fields(db: DbDep, _: Annotated[Access, require("contacts.field:read")]) -> list[FieldRead]:
    rows = await db.scalars(select(CustomFieldDefinition).order_by(
        CustomFieldDefinition.entity, CustomFieldDefinition.position, CustomFieldDefinition.key))
    return [FieldRead.model_validate(r) for r in rows]


@router.post("/fields", response_model=FieldRead, status_code=201, summary="Define a custom field")
async def create_field(body: FieldCreate, db: DbDep,
                       _: Annotated[Access, require("contacts.field:create")]) -> FieldRead:
    exists = await db.scalar(select(CustomFieldDefinition.id).where(
        CustomFieldDefinition.entity == body.entity, CustomFieldDefinition.key == body.key))
    if exists is not None:
        raise Conflict(f"The field key {body.key!r} exists already.", code="field_exists",
                       errors=[service.field_error("key", "already taken")])
    definition = CustomFieldDefinition(entity=body.entity, key=body.key, label=body.label.strip() or body.key,
                                       type=body.type, options=_check_options(body.type, body.options),
                                       required=body.required, position=body.position)
    db.add(definition)
    await db.flush()
    return FieldRead.model_validate(definition)


@router.get("/fields/{field_id}", response_model=FieldRead, summary="One custom field definition")
async def get_field(field_id: uuid.UUID, db: DbDep, _: Annotated[Access, require("contacts.field:read")]) -> FieldRead:
    return FieldRead.model_validate(await _field(db, field_id))


@router.patch("/fields/{field_id}", response_model=FieldRead,
              summary="Change a custom field's label, options, required flag or position (key and type stay)")
async def update_field(field_id: uuid.UUID, body: FieldUpdate, db: DbDep,
                       _: Annotated[Access, require("contacts.field:update")]) -> FieldRead:
    definition = await _field(db, field_id)
    if body.label is not None:
        definition.label = body.label.strip() or definition.label
    if body.options is not None:
        definition.options = _check_options(definition.type, body.options)
    if body.required is not None:
        definition.required = body.required
    if body.position is not None:
        definition.position = body.position
    await db.flush()
    return FieldRead.model_validate(definition)


@router.delete("/fields/{field_id}", status_code=204,
               summary="Delete a custom field definition and its values on every contact")
async def delete_field(field_id: uuid.UUID, db: DbDep,
                       _: Annotated[Access, require("contacts.field:delete")]) -> Response:
    definition = await _field(db, field_id)
    key = definition.key
    # Drop the stored values too, so that a later field with the same key starts clean.
    holders = list(await db.scalars(select(Contact).where(Contact.custom_fields[key].as_string().is_not(None))))
    for contact in holders:
        contact.custom_fields = {k: v for k, v in (contact.custom_fields or {}).items() if k != key}
    await db.delete(definition)
    await db.flush()
    return Response(status_code=204)


# --- contacts ----------------------------------------------------------------------------------------


@router.get("", response_model=Page[ContactRead], summary="Contacts in the caller's scope",
            description="Filters: q (start of a name, e-mail or phone number), type, tag (a tag id), owner_id, "
                        "and cf.<key>=<value> for custom fields.")
async def list_contacts(
    request: Request,
    db: DbDep,
    access: ReadAccess,
    q: Annotated[str | None, Query(max_length=100, description="Start of a name, e-mail or phone number")] = None,
    type: Annotated[str | None, Query(pattern="^(person|organization)$")] = None,
    tag: Annotated[uuid.UUID | None, Query(description="A tag id")] = None,
    owner_id: uuid.UUID | None = None,
    sort: Annotated[str, Query(description="name or created_at; prefix - for descending")] = "name",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[ContactRead]:
    stmt = access.apply(select(Contact), Contact.owner_id)
    if q and q.strip():
        stmt = stmt.where(service.search_clause(q, await service.default_region(db)))
    if type:
        stmt = stmt.where(Contact.type == type)
    if tag is not None:
        stmt = stmt.where(Contact.id.in_(select(ContactTag.contact_id).where(ContactTag.tag_id == tag)))
    if owner_id is not None:
        stmt = stmt.where(Contact.owner_id == owner_id)
    cf = [(k[3:], v) for k, v in request.query_params.multi_items() if k.startswith("cf.")]
    if cf:
        definitions = await service.field_definitions(db)
        for key, raw in cf:
            definition = definitions.get(key)
            if definition is None:
                raise ValidationFailed(f"There is no custom field {key!r}.", code="unknown_custom_field",
                                       errors=[{"field": f"cf.{key}", "in": "query", "message": "no such field"}])
            stmt = stmt.where(service.custom_field_filter(db, definition, raw))
    rows, next_cursor = await paginate(db, stmt, model=Contact, sort=sort, sortable=CONTACT_SORTS, limit=limit,
                                       cursor=cursor)
    tags = await service.tags_by_contact(db, [r.id for r in rows])
    items = [ContactRead.model_validate(r).model_copy(update={"tags": tags[r.id]}) for r in rows]
    return Page(items=items, next_cursor=next_cursor)


@router.post("", response_model=ContactRead, status_code=201, summary="Create a contact")
async def create_contact(body: ContactCreate, db: DbDep,
                         access: Annotated[Access, require("contacts.contact:create")]) -> ContactRead:
    owner_id = body.owner_id or access.principal.user_id
    access.ensure_owner(owner_id)
    if body.owner_id is not None:
        await service.ensure_user(db, body.owner_id)
    name = service.check_names(body.type, body.first_name, body.last_name, body.company_name)
    phones = service.normalize_phones(body.phones, await service.default_region(db))
    emails = [e.model_dump() for e in body.emails]
    custom = service.validate_custom_fields(body.custom_fields, await service.field_definitions(db))
    contact = Contact(
        type=body.type, display_name=name, first_name=body.first_name, last_name=body.last_name,
        company_name=body.company_name, emails=emails, phones=phones,
        addresses=[a.model_dump() for a in body.addresses], custom_fields=custom, avatar_url=body.avatar_url,
        notes=body.notes, source=body.source, owner_id=owner_id,
        email_keys=service.email_keys(emails), phone_keys=service.phone_keys(phones),
    )
    db.add(contact)
    await db.flush()
    _publish(db, "contact.created", contact)
    return await _read(db, contact)


@router.get("/{contact_id}", response_model=ContactRead, summary="One contact")
async def get_contact(contact_id: uuid.UUID, db: DbDep, access: ReadAccess) -> ContactRead:
    return await _read(db, await _visible_contact(db, contact_id, access))


@router.patch("/{contact_id}", response_model=ContactRead, summary="Change a contact")
async def update_contact(contact_id: uuid.UUID, body: ContactUpdate, db: DbDep, read: ReadAccess,
                         access: Annotated[Access, require("contacts.contact:update")]) -> ContactRead:
    contact = await _visible_contact(db, contact_id, read)
    access.ensure_owner(contact.owner_id)
    check_version(contact, body.version)
    given = body.model_fields_set
    # Everything that reads the database or may refuse the change comes first: a query after the
    # first attribute change would autoflush and count the version up twice.
    if "owner_id" in given and body.owner_id != contact.owner_id:
        access.ensure_owner(body.owner_id)
        if body.owner_id is not None:
            await service.ensure_user(db, body.owner_id)
    values: dict[str, Any] = {}
    for name in ("first_name", "last_name", "company_name", "avatar_url", "owner_id"):
        if name in given:
            values[name] = getattr(body, name)
    for name in ("type", "notes", "source"):
        if name in given and getattr(body, name) is not None:
            values[name] = getattr(body, name)
    merged = {name: values.get(name, getattr(contact, name))
              for name in ("type", "first_name", "last_name", "company_name")}
    values["display_name"] = service.check_names(merged["type"], merged["first_name"], merged["last_name"],
                                                 merged["company_name"])
    if "emails" in given:
        values["emails"] = [e.model_dump() for e in body.emails or []]
        values["email_keys"] = service.email_keys(values["emails"])
    if "phones" in given:
        values["phones"] = service.normalize_phones(body.phones or [], await service.default_region(db))
        values["phone_keys"] = service.phone_keys(values["phones"])
    if "addresses" in given:
        values["addresses"] = [a.model_dump() for a in body.addresses or []]
    if "custom_fields" in given and body.custom_fields is not None:
        values["custom_fields"] = service.validate_custom_fields(
            body.custom_fields, await service.field_definitions(db), existing=contact.custom_fields)
    for name, value in values.items():
        if getattr(contact, name) != value:
            setattr(contact, name, value)
    await db.flush()
    _publish(db, "contact.updated", contact, changed=sorted(given - {"version"}))
    return await _read(db, contact)


@router.delete("/{contact_id}", status_code=204, summary="Delete a contact (with its relations and tags)")
async def delete_contact(contact_id: uuid.UUID, db: DbDep, read: ReadAccess,
                         access: Annotated[Access, require("contacts.contact:delete")]) -> Response:
    contact = await _visible_contact(db, contact_id, read)
    access.ensure_owner(contact.owner_id)
    await db.execute(delete(ContactTag).where(ContactTag.contact_id == contact.id))
    await db.execute(delete(ContactRelation).where(
        or_(ContactRelation.contact_a_id == contact.id, ContactRelation.contact_b_id == contact.id)))
    _publish(db, "contact.deleted", contact)
    await db.delete(contact)
    await db.flush()
    return Response(status_code=204)


@router.put("/{contact_id}/tags", response_model=ContactRead, summary="Set the tags of a contact")
async def set_contact_tags(contact_id: uuid.UUID, body: ContactTagsSet, db: DbDep, read: ReadAccess,
                           access: Annotated[Access, require("contacts.contact:update")]) -> ContactRead:
    contact = await _visible_contact(db, contact_id, read)
    access.ensure_owner(contact.owner_id)
    wanted = list(dict.fromkeys(body.tag_ids))
    tags = {t.id: t for t in await db.scalars(select(Tag).where(Tag.id.in_(wanted)))} if wanted else {}
    missing = [i for i, tag_id in enumerate(wanted) if tag_id not in tags]
    if missing:
        raise service.invalid([service.field_error(f"tag_ids.{i}", "no such tag") for i in missing])
    current = {ct.tag_id: ct for ct in await db.scalars(select(ContactTag).where(ContactTag.contact_id == contact.id))}
    for tag_id, link in current.items():
        if tag_id not in tags:
            await db.delete(link)
    for tag_id in wanted:
        if tag_id not in current:
            db.add(ContactTag(contact_id=contact.id, tag_id=tag_id))
            _publish(db, "contact.tag_added", contact, tag_id=tag_id, tag_name=tags[tag_id].name)
    await db.flush()
    return await _read(db, contact)


# --- relations ---------------------------------------------------------------------------------------


def _relation_read(relation: ContactRelation, seen_from: uuid.UUID, names: dict[uuid.UUID, str]) -> RelationRead:
    other = relation.contact_b_id if relation.contact_a_id == seen_from else relation.contact_a_id
    return RelationRead.model_validate(relation).model_copy(
        update={"other_contact_id": other, "other_display_name": names.get(other)})


@router.get("/{contact_id}/relations", response_model=list[RelationRead], summary="Relations of a contact")
async def list_relations(contact_id: uuid.UUID, db: DbDep, read: ReadAccess) -> list[RelationRead]:
    contact = await _visible_contact(db, contact_id, read)
    rows = list(await db.scalars(select(ContactRelation).where(
        or_(ContactRelation.contact_a_id == contact.id, ContactRelation.contact_b_id == contact.id))
        .order_by(ContactRelation.created_at, ContactRelation.id)))
    others = {r.contact_b_id if r.contact_a_id == contact.id else r.contact_a_id for r in rows}
    names = dict((await db.execute(select(Contact.id, Contact.display_name).where(Contact.id.in_(others)))).all()) \
        if others else {}
    return [_relation_read(r, contact.id, names) for r in rows]


@router.post("/{contact_id}/relations", response_model=RelationRead, status_code=201,
             summary="Relate a contact to another one")
async def create_relation(contact_id: uuid.UUID, body: RelationCreate, db: DbDep, read: ReadAccess,
                          access: Annotated[Access, require("contacts.contact:update")]) -> RelationRead:
    contact = await _visible_contact(db, contact_id, read)
    access.ensure_owner(contact.owner_id)
    if body.contact_b_id == contact.id:
        raise service.invalid([service.field_error("contact_b_id", "a contact cannot be related to itself")])
    other = await db.scalar(read.apply(select(Contact).where(Contact.id == body.contact_b_id), Contact.owner_id))
    if other is None:
        raise service.invalid([service.field_error("contact_b_id", "no such contact")])
    relation = ContactRelation(contact_a_id=contact.id, contact_b_id=other.id, relation_type=body.relation_type,
                               role=body.role, department=body.department, position=body.position)
    db.add(relation)
    await db.flush()
    return _relation_read(relation, contact.id, {other.id: other.display_name})


@router.delete("/{contact_id}/relations/{relation_id}", status_code=204, summary="Remove a relation")
async def delete_relation(contact_id: uuid.UUID, relation_id: uuid.UUID, db: DbDep, read: ReadAccess,
                          access: Annotated[Access, require("contacts.contact:update")]) -> Response:
    contact = await _visible_contact(db, contact_id, read)
    relation = await db.scalar(select(ContactRelation).where(
        ContactRelation.id == relation_id,
        or_(ContactRelation.contact_a_id == contact.id, ContactRelation.contact_b_id == contact.id)))
    if relation is None:
        raise NotFound("No such relation of this contact.", code="relation_not_found")
    access.ensure_owner(contact.owner_id)
    await db.delete(relation)
    await db.flush()
    return Response(status_code=204)
