"""A note or task moved to another contact takes its timeline entries along: the old contact's timeline
no longer lists them, the new one does at their original time; other edits add nothing to the timeline."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from tests.factories import Factory
from xynap.core.events import Event, drain
from xynap.core.kernel_models import OutboxEvent
from xynap.shared.worklog.events import EVENT_HANDLERS, follow_relink


async def _timeline(member: Any, contact: uuid.UUID) -> list[dict[str, Any]]:
    resp = await member.get("/api/activities", params={"contact_id": str(contact)})
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def _moved_events(factory: Factory, tenant_id: uuid.UUID) -> list[OutboxEvent]:
    async with factory.runtime.db.tenant_session(tenant_id) as session:
        return list(await session.scalars(select(OutboxEvent).where(OutboxEvent.name == "activity.moved")
                                          .order_by(OutboxEvent.created_at, OutboxEvent.id)))


async def test_a_relinked_note_moves_its_timeline_entry(factory: Factory):
    tenant = await factory.tenant(modules=("example",))
    julia = await factory.member(tenant, "staff")
    old, new = uuid.uuid4(), uuid.uuid4()
    assert await drain(factory.runtime)

    note = (await julia.post("/api/notes", json={"content": "Angebot geschickt", "linked_contact_id": str(old)}))
    assert note.status_code == 201, note.text
    note = note.json()
    assert await drain(factory.runtime)
    [entry] = await _timeline(julia, old)
    assert entry["details"]["event"] == "note.created" and entry["entity_id"] == note["id"]

    # an ordinary edit (text, pin) stays off the timeline and moves nothing
    edited = await julia.patch(f"/api/notes/{note['id']}", json={"version": 1, "content": "Angebot angenommen",
                                                                   "is_pinned": True})
    assert edited.status_code == 200, edited.text
    assert await drain(factory.runtime)
    assert [a["id"] for a in await _timeline(julia, old)] == [entry["id"]]
    assert await _moved_events(factory, tenant.id) == []

    moved = await julia.patch(f"/api/notes/{note['id']}", json={"version": 2, "linked_contact_id": str(new)})
    assert moved.status_code == 200, moved.text
    assert await drain(factory.runtime)
    assert await _timeline(julia, old) == []
    [after] = await _timeline(julia, new)
    # the same entry, at the note's original time, still the creation entry (no entry per edit)
    assert after["id"] == entry["id"] and after["occurred_at"] == entry["occurred_at"]
    assert after["contact_id"] == str(new) and after["summary"] == "Notiz: Angebot geschickt"
    # both timelines are told live (the contact detail page reloads on activity.*)
    events = await _moved_events(factory, tenant.id)
    assert sorted(e.payload["contact_id"] for e in events) == sorted([str(old), str(new)])
    assert all(e.payload["entity_type"] == "note" and e.payload["entity_id"] == note["id"] for e in events)
    assert all(e.permission == "activities.activity:read" and e.owner_id == julia.user_id for e in events)

    # unlinked: on no contact's timeline any more
    unlinked = await julia.patch(f"/api/notes/{note['id']}", json={"version": 3, "linked_contact_id": None})
    assert unlinked.status_code == 200, unlinked.text
    assert await drain(factory.runtime)
    assert await _timeline(julia, new) == [] and await _timeline(julia, old) == []


async def test_a_note_linked_later_appears_at_its_creation_time(factory: Factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    contact = uuid.uuid4()
    note = (await admin.post("/api/notes", json={"content": "Messe-Gespräch"})).json()
    assert await drain(factory.runtime)
    linked = await admin.patch(f"/api/notes/{note['id']}", json={"version": 1, "linked_contact_id": str(contact)})
    assert linked.status_code == 200, linked.text
    assert await drain(factory.runtime)
    [entry] = await _timeline(admin, contact)
    assert entry["details"]["event"] == "note.created" and entry["summary"] == "Notiz: Messe-Gespräch"
    assert entry["entity_type"] == "note" and entry["entity_id"] == note["id"]
    assert entry["occurred_at"] == note["created_at"] and entry["user_id"] == str(admin.user_id)

    # a redelivered relink event adds nothing; a stale one cannot move the entry back (the table decides)
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        [relink] = list(await session.scalars(select(OutboxEvent).where(OutboxEvent.name == "note.updated")))
    await follow_relink(Event(id=relink.id, name=relink.name, payload=dict(relink.payload), tenant_id=tenant.id))
    stale = {**relink.payload, "contact_id": str(uuid.uuid4())}
    await follow_relink(Event(id=uuid.uuid4(), name="note.updated", payload=stale, tenant_id=tenant.id))
    assert [a["id"] for a in await _timeline(admin, contact)] == [entry["id"]]


async def test_a_relinked_task_moves_its_history(factory: Factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    old, new = uuid.uuid4(), uuid.uuid4()
    task = (await admin.post("/api/tasks", json={"title": "Rückruf", "linked_contact_id": str(old)})).json()
    assert await drain(factory.runtime)
    created = await _timeline(admin, old)
    assert [a["details"]["event"] for a in created] == ["task.created"]

    moved = await admin.patch(f"/api/tasks/{task['id']}", json={"version": task["version"],
                                                                 "linked_contact_id": str(new)})
    assert moved.status_code == 200, moved.text
    assert await drain(factory.runtime)
    assert await _timeline(admin, old) == []
    items = await _timeline(admin, new)
    assert [a["details"]["event"] for a in items] == ["task.updated", "task.created"]
    assert items[1]["id"] == created[0]["id"] and items[1]["occurred_at"] == created[0]["occurred_at"]


def test_only_updates_of_notes_and_tasks_are_followed():
    assert follow_relink in EVENT_HANDLERS["note.updated"] and follow_relink in EVENT_HANDLERS["task.updated"]
    assert all(follow_relink not in handlers for name, handlers in EVENT_HANDLERS.items()
               if name not in ("note.updated", "task.updated"))
