"""Routes of the contacts component, mounted at ``/api/contacts`` behind the (shared) module gate.

Record scopes follow the example module: a contact outside the caller's read scope is reported
missing (404); one that is visible but outside the write scope is refused with 403
``permission_scope``. Custom field definitions (``/fields``) have no owner; tags moved to their own
component (``/api/tags``). Segments (``/segments``) are saved filters, private to their owner unless
shared. The fixed paths are declared before ``/{contact_id}`` so that they are not read as an id.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.audit import audit
from xynap.core.errors import Conflict, NotFound, ValidationFailed, check_version
from xynap.core.events import publish
from xynap.core.pagination import Page, paginate
from xynap.core.security.permissions import Access
from xynap.platform.auth.deps import DbDep, require
from xynap.shared.contacts import duplicates, merge, segments, service
from xynap.shared.contacts.models import (
    Contact,
    ContactMatchKey,
    ContactRelation,
    ContactTag,
    CustomFieldDefinition,
    Segment,
    Tag,
)
from xynap.shared.contacts.schemas import (
    ContactCreate,
    ContactRead,
    ContactSummary,
    ContactTagsSet,
    ContactUpdate,
    CountRead,
    DuplicateCandidate,
    DuplicateCandidates,
    DuplicatePair,
    FieldCreate,
    FieldRead,
    FieldUpdate,
    FilterBody,
    MatchReason,
    MergePreview,
    MergeRequest,
    MergeResult,
    RelationCreate,
    RelationRead,
    SegmentCreate,
    SegmentRead,
    SegmentUpdate,
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
    await db.execute(delete(ContactMatchKey).where(ContactMatchKey.kind == duplicates.FIELD_KIND,
                                                   ContactMatchKey.key.startswith(f"{key}=", autoescape=True)))
    await db.delete(definition)
    await db.flush()
    return Response(status_code=204)


# --- duplicates (tenant-wide review list) --------------------------------------------------------------

PAIR_BATCH = 200
PAIR_BATCHES_PER_PAGE = 10  # bounds the work of one request; a short page still carries a cursor


def _summary(contact: Contact) -> ContactSummary:
    return ContactSummary.model_validate(contact)


def _pair_cursor(kind: str, key: str, a: uuid.UUID, b: uuid.UUID) -> str:
    raw = json.dumps([kind, key, str(a), str(b)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_pair_cursor(cursor: str) -> tuple[str, str, uuid.UUID, uuid.UUID]:
    try:
        kind, key, a, b = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(kind, str) or not isinstance(key, str) or "\x00" in kind + key:
            raise ValueError
        return kind, key, uuid.UUID(a), uuid.UUID(b)
    except (ValueError, TypeError, AttributeError):
        raise ValidationFailed("The cursor is invalid; start again without it.", code="invalid_cursor",
                               errors=[{"field": "cursor", "message": "invalid cursor"}]) from None


@router.get("/duplicates", response_model=Page[DuplicatePair], summary="Likely duplicate pairs (review list)",
            description="Pairs of contacts that share an e-mail, a phone number or a (phonetically) equal name, "
                        "scored like the candidates of one contact; each pair once. Paged with a cursor over the "
                        "match-key index: a page may hold fewer than `limit` pairs and still have a next_cursor.")
async def list_duplicate_pairs(
    db: DbDep, access: ReadAccess,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    min_score: Annotated[float, Query(ge=0.5, le=1.0)] = duplicates.MIN_SCORE,
    cursor: str | None = None,
) -> Page[DuplicatePair]:
    stmt, first, second = duplicates.key_pairs_statement()
    position = _read_pair_cursor(cursor) if cursor else None
    items: list[DuplicatePair] = []
    next_cursor: str | None = None
    for _ in range(PAIR_BATCHES_PER_PAGE):
        batch_stmt = stmt
        if position is not None:
            kind, key, a, b = position
            batch_stmt = batch_stmt.where(or_(
                first.kind > kind, and_(first.kind == kind, first.key > key),
                and_(first.kind == kind, first.key == key, first.contact_id > a),
                and_(first.kind == kind, first.key == key, first.contact_id == a, second.contact_id > b)))
        rows = (await db.execute(batch_stmt.order_by(first.kind, first.key, first.contact_id, second.contact_id)
                                 .limit(PAIR_BATCH))).all()
        ids = {r[2] for r in rows} | {r[3] for r in rows}
        contacts = {c.id: c for c in await db.scalars(
            access.apply(select(Contact).where(Contact.id.in_(ids)), Contact.owner_id))} if ids else {}
        for kind, key, a_id, b_id in rows:
            position = (kind, key, a_id, b_id)
            a, b = contacts.get(a_id), contacts.get(b_id)
            if a is None or b is None or duplicates.first_shared_key(a, b) not in (None, (kind, key)):
                continue
            score, reasons = duplicates.score_pair(a, b)
            if score >= min_score:
                items.append(DuplicatePair(a=_summary(a), b=_summary(b), score=score,
                                           reasons=[MatchReason(**r) for r in reasons]))
                if len(items) == limit:
                    break
        if len(items) == limit or len(rows) < PAIR_BATCH:
            break
    if position is not None and (len(items) == limit or len(rows) == PAIR_BATCH):
        next_cursor = _pair_cursor(*position)
    return Page(items=items, next_cursor=next_cursor)


# --- segments ------------------------------------------------------------------------------------------

SEGMENT = "contacts.segment"


def _visible_segments(stmt: Any, read: Access) -> Any:
    """Own (within the read scope) and shared segments."""
    ids = read.owner_ids()
    if ids is None:
        return stmt
    return stmt.where(or_(Segment.shared.is_(True), Segment.owner_id.in_(ids)))


async def _segment(db: AsyncSession, segment_id: uuid.UUID, read: Access) -> Segment:
    segment = await db.scalar(_visible_segments(select(Segment).where(Segment.id == segment_id), read))
    if segment is None:
        raise NotFound("No such segment.", code="segment_not_found")
    return segment


async def _filter_context(db: AsyncSession) -> segments.Context:
    return await segments.load_context(db, await service.default_region(db))


async def _segment_clause(db: AsyncSession, raw: dict[str, Any]) -> Any:
    ctx = await _filter_context(db)
    return segments.compile_filter(segments.validate_filter(raw, ctx), ctx)


async def _count(db: AsyncSession, read: Access, clause: Any) -> int:
    stmt = read.apply(select(func.count()).select_from(Contact).where(clause), Contact.owner_id)
    return int(await db.scalar(stmt) or 0)


@router.get("/segments", response_model=list[SegmentRead], summary="Saved segments (own and shared)")
async def list_segments(db: DbDep, read: Annotated[Access, require(f"{SEGMENT}:read")]) -> list[SegmentRead]:
    rows = await db.scalars(_visible_segments(select(Segment), read).order_by(Segment.name, Segment.id))
    return [SegmentRead.model_validate(r) for r in rows]


@router.post("/segments", response_model=SegmentRead, status_code=201, summary="Save a segment",
             description="The filter is validated: 422 names each bad part (filter.conditions.0.operator, ...).")
async def create_segment(body: SegmentCreate, db: DbDep,
                         access: Annotated[Access, require(f"{SEGMENT}:create")]) -> SegmentRead:
    name = body.name.strip()
    if not name:
        raise service.invalid([service.field_error("name", "must not be blank")])
    normalised = segments.validate_filter(body.filter, await _filter_context(db))
    segment = Segment(name=name, entity=body.entity, filter=normalised, shared=body.shared,
                      owner_id=access.principal.user_id)
    db.add(segment)
    await db.flush()
    return SegmentRead.model_validate(segment)


@router.post("/segments/preview", response_model=CountRead,
             summary="Count the contacts an (unsaved) filter matches — for the segment editor")
async def preview_segment(body: FilterBody, db: DbDep, read: ReadAccess) -> CountRead:
    return CountRead(count=await _count(db, read, await _segment_clause(db, body.filter)))


@router.get("/segments/{segment_id}", response_model=SegmentRead, summary="One segment")
async def get_segment(segment_id: uuid.UUID, db: DbDep,
                      read: Annotated[Access, require(f"{SEGMENT}:read")]) -> SegmentRead:
    return SegmentRead.model_validate(await _segment(db, segment_id, read))


@router.get("/segments/{segment_id}/count", response_model=CountRead,
            summary="How many contacts (in the caller's scope) the segment matches now")
async def count_segment(segment_id: uuid.UUID, db: DbDep, read: ReadAccess,
                        segment_read: Annotated[Access, require(f"{SEGMENT}:read")]) -> CountRead:
    segment = await _segment(db, segment_id, segment_read)
    return CountRead(count=await _count(db, read, await _segment_clause(db, segment.filter)))


@router.patch("/segments/{segment_id}", response_model=SegmentRead, summary="Change a segment")
async def update_segment(segment_id: uuid.UUID, body: SegmentUpdate, db: DbDep,
                         read: Annotated[Access, require(f"{SEGMENT}:read")],
                         access: Annotated[Access, require(f"{SEGMENT}:update")]) -> SegmentRead:
    segment = await _segment(db, segment_id, read)
    access.ensure_owner(segment.owner_id)
    check_version(segment, body.version)
    values: dict[str, Any] = {}
    if body.name is not None:
        if not body.name.strip():
            raise service.invalid([service.field_error("name", "must not be blank")])
        values["name"] = body.name.strip()
    if body.filter is not None:
        values["filter"] = segments.validate_filter(body.filter, await _filter_context(db))
    if body.shared is not None:
        values["shared"] = body.shared
    for name, value in values.items():
        if getattr(segment, name) != value:
            setattr(segment, name, value)
    await db.flush()
    return SegmentRead.model_validate(segment)


@router.delete("/segments/{segment_id}", status_code=204, summary="Delete a segment")
async def delete_segment(segment_id: uuid.UUID, db: DbDep, read: Annotated[Access, require(f"{SEGMENT}:read")],
                         access: Annotated[Access, require(f"{SEGMENT}:delete")]) -> Response:
    segment = await _segment(db, segment_id, read)
    access.ensure_owner(segment.owner_id)
    await db.delete(segment)
    await db.flush()
    return Response(status_code=204)


# --- contacts ----------------------------------------------------------------------------------------


@router.get("", response_model=Page[ContactRead], summary="Contacts in the caller's scope",
            description="Filters: q (start of a name, e-mail or phone number), type, tag (a tag id), owner_id, "
                        "segment (a saved segment's id), and cf.<key>=<value> for custom fields. Sort: name, "
                        "created_at or cf.<key> (contacts without a value last), - for descending.")
async def list_contacts(
    request: Request,
    db: DbDep,
    access: ReadAccess,
    q: Annotated[str | None, Query(max_length=100, description="Start of a name, e-mail or phone number")] = None,
    type: Annotated[str | None, Query(pattern="^(person|organization)$")] = None,
    tag: Annotated[uuid.UUID | None, Query(description="A tag id")] = None,
    owner_id: uuid.UUID | None = None,
    segment: Annotated[uuid.UUID | None, Query(description="A segment id: only contacts it matches")] = None,
    sort: Annotated[str, Query(max_length=70, description="name, created_at or cf.<key>; prefix - for descending")]
    = "name",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[ContactRead]:
    stmt = access.apply(select(Contact), Contact.owner_id)
    if q and q.strip():
        stmt = stmt.where(service.search_clause(q, await service.default_region(db)))
    if type:
        stmt = stmt.where(Contact.type == type)
    if owner_id is not None:
        stmt = stmt.where(Contact.owner_id == owner_id)
    if segment is not None:
        # the segment's visibility follows the segment permission (own / shared), not the contact scope
        scope = access.principal.scope_for(f"{SEGMENT}:read") or "own"
        saved = await _segment(db, segment, Access(access.principal, f"{SEGMENT}:read", scope))
        stmt = stmt.where(await _segment_clause(db, saved.filter))
    cf = [(k[3:], v) for k, v in request.query_params.multi_items() if k.startswith("cf.")]
    sort_key = sort.lstrip("-")
    definitions = await service.field_definitions(db) if cf or sort_key.startswith("cf.") else {}
    ctx = segments.Context(db.bind.dialect.name, definitions, set())
    leaves = [{"field": "tag", "operator": "has", "value": str(tag)}] if tag is not None else []
    for key, raw in cf:
        definition = definitions.get(key)
        if definition is None:
            raise ValidationFailed(f"There is no custom field {key!r}.", code="unknown_custom_field",
                                   errors=[{"field": f"cf.{key}", "in": "query", "message": "no such field"}])
        leaves.append(segments.query_value(definition, raw, f"cf.{key}"))
    if sort_key in CONTACT_SORTS:  # walking the sort index pays only for an indexed sort (see plan_holders)
        for leaf in leaves:
            await segments.plan_holders(db, leaf, ctx)
    for leaf in leaves:
        stmt = stmt.where(segments.compile_leaf(leaf, ctx))
    if sort_key.startswith("cf."):
        definition = definitions.get(sort_key[3:])
        if definition is None:
            raise ValidationFailed(f"Cannot sort by {sort_key!r}: there is no such custom field.",
                                   code="invalid_sort", errors=[{"field": "sort", "message": "unknown sort field"}])
        keys = service.custom_field_sort_keys(db, definition, sort.startswith("-"))
        rows, next_cursor = await service.keyset_page(db, stmt, keys, limit, cursor)
    else:
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
    await service.store_match_keys(db, [contact])
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
    if {"emails", "phones", "display_name", "custom_fields"} & set(values):
        await service.refresh_match_keys(db, contact)
    _publish(db, "contact.updated", contact, changed=sorted(given - {"version"}))
    return await _read(db, contact)


@router.delete("/{contact_id}", status_code=204, summary="Delete a contact (with its relations and tags)")
async def delete_contact(contact_id: uuid.UUID, db: DbDep, read: ReadAccess,
                         access: Annotated[Access, require("contacts.contact:delete")]) -> Response:
    contact = await _visible_contact(db, contact_id, read)
    access.ensure_owner(contact.owner_id)
    await db.execute(delete(ContactTag).where(ContactTag.contact_id == contact.id))
    await service.delete_match_keys(db, [contact.id])
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


# --- duplicates and merge ------------------------------------------------------------------------------


def _reasons(raw: list[dict[str, Any]]) -> list[MatchReason]:
    return [MatchReason(**r) for r in raw]


@router.get("/{contact_id}/duplicates", response_model=DuplicateCandidates,
            summary="Likely duplicates of a contact, best first, with score and reasons")
async def contact_duplicates(contact_id: uuid.UUID, db: DbDep, read: ReadAccess,
                             limit: Annotated[int, Query(ge=1, le=50)] = 10,
                             min_score: Annotated[float, Query(ge=0.5, le=1.0)] = duplicates.MIN_SCORE,
                             ) -> DuplicateCandidates:
    contact = await _visible_contact(db, contact_id, read)
    ids = await duplicates.candidate_ids(db, contact)
    others = list(await db.scalars(read.apply(select(Contact).where(Contact.id.in_(ids)), Contact.owner_id))) \
        if ids else []
    ranked = duplicates.rank(contact, others, min_score)[:limit]
    return DuplicateCandidates(items=[DuplicateCandidate(contact=_summary(m.contact), score=m.score,
                                                         reasons=_reasons(m.reasons)) for m in ranked])


async def _merge_pair(db: AsyncSession, contact_id: uuid.UUID, other_id: uuid.UUID,
                      read: Access) -> tuple[Contact, Contact]:
    contact = await _visible_contact(db, contact_id, read)
    merge.ensure_distinct(contact.id, other_id)
    other = await db.scalar(read.apply(select(Contact).where(Contact.id == other_id), Contact.owner_id))
    if other is None:
        raise NotFound("No such contact to merge.", code="contact_not_found")
    return contact, other


@router.get("/{contact_id}/merge-preview", response_model=MergePreview,
            summary="Both contacts side by side with their conflicting fields (for the merge wizard)",
            description="Without other_id the most likely duplicate is proposed (other is null when there is none).")
async def merge_preview(contact_id: uuid.UUID, db: DbDep, read: ReadAccess,
                        other_id: Annotated[uuid.UUID | None, Query(description="The contact to merge in")] = None,
                        ) -> MergePreview:
    if other_id is None:
        contact = await _visible_contact(db, contact_id, read)
        ids = await duplicates.candidate_ids(db, contact)
        others = list(await db.scalars(read.apply(select(Contact).where(Contact.id.in_(ids)), Contact.owner_id))) \
            if ids else []
        ranked = duplicates.rank(contact, others)
        if not ranked:
            return MergePreview(this=await _read(db, contact), other=None, conflicts=[], custom_field_conflicts=[],
                                defaults={}, custom_field_defaults={}, score=0.0, reasons=[])
        other = ranked[0].contact
    else:
        contact, other = await _merge_pair(db, contact_id, other_id, read)
    fields, keys = merge.conflicts(contact, other)
    score, reasons = duplicates.score_pair(contact, other)
    return MergePreview(this=await _read(db, contact), other=await _read(db, other), conflicts=fields,
                        custom_field_conflicts=keys, defaults=merge.default_choices(contact, other),
                        custom_field_defaults=merge.default_custom_choices(contact, other), score=score,
                        reasons=_reasons(reasons))


@router.post("/{contact_id}/merge", response_model=MergeResult,
             summary="Merge another contact into this one (the other is deleted)",
             description="The survivor takes the chosen values; relations, tags, and every registered reference "
                         "(tasks, notes, activities, ...) move to it; the other contact is deleted — one "
                         "transaction. 409 when either version is stale; nothing changes on any error.")
async def merge_contacts(contact_id: uuid.UUID, body: MergeRequest, request: Request, db: DbDep, read: ReadAccess,
                         update: Annotated[Access, require("contacts.contact:update")],
                         remove: Annotated[Access, require("contacts.contact:delete")]) -> MergeResult:
    contact, other = await _merge_pair(db, contact_id, body.other_id, read)
    update.ensure_owner(contact.owner_id)
    remove.ensure_owner(other.owner_id)
    check_version(contact, body.version)
    check_version(other, body.other_version)
    values = merge.merged_values(contact, other, body.fields.model_dump(exclude_none=True), body.custom_fields)
    if values["owner_id"] != contact.owner_id:
        update.ensure_owner(values["owner_id"])
    loser = {"id": other.id, "display_name": other.display_name}
    moved = await merge.merge(db, contact, other, values)
    audit(db, "contact.merge", request=request, entity_type="contact", entity_id=contact.id,
          tenant_id=read.principal.tenant_id,
          changes={"merged_from": [str(loser["id"]), None], "merged_into": [None, str(contact.id)],
                   "merged_from_name": [loser["display_name"], None], "moved": [None, moved]})
    _publish(db, "contact.merged", contact, merged_id=loser["id"], merged_display_name=loser["display_name"])
    return MergeResult(contact=await _read(db, contact), merged_id=loser["id"], moved=moved)


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
