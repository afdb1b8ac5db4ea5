"""The timeline is fed by events: every event with a ``contact_id`` in its payload becomes an activity,
and so do the contacts component's own events (``contact.created/updated/tag_added/merged``, which name
the contact as ``id``).

Subscribed (by name pattern, so no other component is imported) to ``task.*``, ``note.created``,
``note.deleted``, ``contact.*`` and ``lead.converted`` (the CRM's conversion names the new contact in
``contact_id``). ``note.updated`` is deliberately not on the timeline: a note is a living document that
is edited (typos, pinning, tags) far more often than anything happens with the contact, the note itself
always shows its current text, and its creation entry stays; an entry per edit would bury the real
history. A deletion is recorded, so the reader of the creation entry learns the note is gone.

Re-linking is the exception: when ``note.updated`` or ``task.updated`` names ``linked_contact_id`` (or the
entity link) in ``changed``, the record's timeline entries move with it (``follow_relink``): they are
re-pointed to the contact the record is linked to *now* (read from the table, so a late or redelivered
event cannot move them back), keep their original time, and leave the old contact's timeline. A note
written without a contact has no entry yet; linking it adds its creation entry at the note's creation
time. Each touched contact gets an ``activity.moved`` event so an open timeline reloads live.

``summary`` is stored German text (API consumers and the search read it); the web app renders the entry
from ``details.event`` and the payload fields in ``details`` in the user's language instead, falling
back to ``summary`` for events it does not know.
Delivery is at least once, so the handler is idempotent: the activity is keyed by the event's id
(``activities.source_event_id`` is unique), a redelivered event adds nothing.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from xynap.core.db import get_database
from xynap.core.events import Event, publish
from xynap.platform.users.models import User
from xynap.shared.worklog.models import Activity, Note, Task

log = logging.getLogger("xynap.worklog")

SUMMARIES = {
    "task.created": "Aufgabe angelegt: {title}",
    "task.updated": "Aufgabe geändert: {title}",
    "task.completed": "Aufgabe erledigt: {title}",
    "task.deleted": "Aufgabe gelöscht: {title}",
    "note.created": "Notiz: {excerpt}",
    "note.deleted": "Notiz gelöscht: {excerpt}",
    "contact.created": "Kontakt angelegt",
    "contact.updated": "Kontakt geändert",
    "contact.merged": "Zusammengeführt mit {merged_display_name}",
    "contact.tag_added": "Tag hinzugefügt: {tag_name}",
    "lead.converted": "Lead umgewandelt: {name}",
}


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def describe(event: Event) -> dict[str, Any]:
    """The activity an event stands for (type, summary, linked entity, details)."""
    payload = event.payload
    family = event.name.split(".", 1)[0]
    if family == "task":
        kind, entity_type, entity_id = "task", "task", _uuid(payload.get("id"))
    elif family == "note":
        kind, entity_type, entity_id = "note", "note", _uuid(payload.get("id"))
    elif family == "lead":
        kind, entity_type, entity_id = "lead", "lead", _uuid(payload.get("id"))
    else:
        kind = str(payload.get("activity_type") or f"{family}_update")[:30]
        entity_type = str(payload.get("entity_type") or family)[:50]
        entity_id = _uuid(payload.get("entity_id")) or _uuid(payload.get("contact_id"))
    template = SUMMARIES.get(event.name)
    fields = {k: (" ".join(str(v).split()) if v is not None else "") for k, v in payload.items()}
    summary = str(payload.get("summary") or "") if not template else template.format_map(_Missing(fields))
    summary = (summary or event.name)[:500]
    details = {"event": event.name, **{k: v for k, v in payload.items() if k not in ("contact_id",)}}
    return {"type": kind, "summary": summary, "entity_type": entity_type, "entity_id": entity_id,
            "details": details}


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return ""


def contact_of(event: Event) -> uuid.UUID | None:
    """The contact whose timeline ``event`` belongs on: ``contact_id`` in the payload, or for the contacts
    component's own events the contact itself (its ``id``) — except a deletion, whose timeline is gone."""
    contact_id = _uuid(event.payload.get("contact_id"))
    if contact_id is None and event.name.startswith("contact.") and event.name != "contact.deleted":
        contact_id = _uuid(event.payload.get("id"))
    return contact_id


async def record_activity(event: Event) -> None:
    """Write the activity of ``event`` once, if it names a contact; ignore a redelivery."""
    contact_id = contact_of(event)
    if event.tenant_id is None or contact_id is None:
        return
    db = get_database()
    try:
        async with db.tenant_session(event.tenant_id) as session:
            if await _already_recorded(session, event.id):
                return
            actor = await session.get(User, event.actor_id) if event.actor_id else None
            session.add(Activity(contact_id=contact_id, user_id=actor.id if actor else None,
                                 occurred_at=event.created_at, source_event_id=event.id, **describe(event)))
    except IntegrityError:
        # A concurrent delivery of the same event may have won the race; anything else is a real error.
        async with db.tenant_session(event.tenant_id) as session:
            if await _already_recorded(session, event.id):
                return
        raise


async def _already_recorded(session: Any, event_id: uuid.UUID) -> bool:
    return await session.scalar(select(Activity.id).where(Activity.source_event_id == event_id)) is not None


RELINK_FIELDS = frozenset({"linked_contact_id", "linked_entity_type", "linked_entity_id"})


async def follow_relink(event: Event) -> None:
    """Move a re-linked note's or task's timeline entries to the contact it is linked to now."""
    family = event.name.split(".", 1)[0]
    record_id = _uuid(event.payload.get("id"))
    if (event.tenant_id is None or record_id is None or family not in ("note", "task")
            or not RELINK_FIELDS & set(event.payload.get("changed") or ())):
        return
    model: Any = Note if family == "note" else Task
    async with get_database().tenant_session(event.tenant_id) as session:
        record = await session.get(model, record_id)
        if record is None:
            return  # deleted meanwhile: its deletion entry closes its history
        target = record.linked_contact_id
        rows = (await session.scalars(select(Activity).where(Activity.entity_type == family,
                                                             Activity.entity_id == record_id))).all()
        touched = {row.contact_id for row in rows if row.contact_id != target}
        for row in rows:
            row.contact_id = target
        created = any(row.details.get("event") == f"{family}.created" for row in rows)
        if (family == "note" and target is not None and not created
                and not await _already_recorded(session, event.id)):
            # written without a contact, so never on a timeline: its creation entry arrives at its own time
            session.add(Activity(contact_id=target, user_id=record.author_id, occurred_at=record.created_at,
                                 source_event_id=event.id, **describe(_note_created(record))))
            touched.add(target)
        if touched:
            touched.add(target)  # the new contact's timeline changed as much as the old one's
        owner = record.author_id if family == "note" else record.assigned_to
        for contact_id in sorted({c for c in touched if c is not None}, key=str):
            publish(session, "activity.moved",
                    {"contact_id": contact_id, "entity_type": family, "entity_id": record_id},
                    permission="activities.activity:read", owner_id=owner, actor_id=event.actor_id)


def _note_created(note: Note) -> Event:
    """The ``note.created`` event ``note`` would have had (fields of the API's note payload)."""
    return Event(id=uuid.uuid4(), name="note.created", tenant_id=None,
                 payload={"id": str(note.id), "excerpt": note.content[:200],
                          "author_id": str(note.author_id) if note.author_id else None,
                          "entity_type": note.linked_entity_type,
                          "entity_id": str(note.linked_entity_id) if note.linked_entity_id else None,
                          "is_pinned": note.is_pinned})


EVENT_HANDLERS = {
    "task.*": [record_activity],
    "task.updated": [follow_relink],
    "note.created": [record_activity],
    "note.updated": [follow_relink],  # only a re-link touches the timeline: see the module docstring
    "note.deleted": [record_activity],
    "contact.*": [record_activity],
    "lead.converted": [record_activity],
}
