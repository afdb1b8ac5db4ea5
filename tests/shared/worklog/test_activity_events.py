"""Which events reach the timeline and with what type: a lead conversion lands on the new contact's
timeline as a ``lead`` entry with a German summary; redelivery adds nothing."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from tests.factories import Factory
from xynap.core.events import Event
from xynap.shared.worklog.events import EVENT_HANDLERS, contact_of, describe, record_activity
from xynap.shared.worklog.models import Activity


async def test_lead_conversion_lands_on_the_contact_timeline(factory: Factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    contact, lead = uuid.uuid4(), uuid.uuid4()
    event = Event(id=uuid.uuid4(), name="lead.converted", tenant_id=tenant.id, actor_id=admin.user_id,
                  payload={"id": str(lead), "name": "Marie Vogel", "status": "converted",
                           "contact_id": str(contact), "deal_id": None})
    await record_activity(event)
    await record_activity(event)  # redelivered
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        rows = (await session.scalars(select(Activity))).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.type, row.entity_type, row.entity_id, row.contact_id) == ("lead", "lead", lead, contact)
    assert row.summary == "Lead umgewandelt: Marie Vogel" and row.details["event"] == "lead.converted"
    assert row.user_id == admin.user_id
    # on the API as the contact's timeline shows it
    items = (await admin.get("/api/activities", params={"contact_id": str(contact)})).json()["items"]
    assert [(a["type"], a["details"]["event"]) for a in items] == [("lead", "lead.converted")]


def test_subscriptions_and_types():
    assert record_activity in EVENT_HANDLERS["lead.converted"]
    assert "lead.*" not in EVENT_HANDLERS  # other lead events stay off the timeline
    # the types the web app translates (frontend/src/shared/contacts/activities.ts)
    kinds = {name: describe(Event(id=uuid.uuid4(), name=name, payload={"id": str(uuid.uuid4())}))["type"]
             for name in ("task.created", "note.created", "contact.merged", "lead.converted")}
    assert kinds == {"task.created": "task", "note.created": "note", "contact.merged": "contact_update",
                     "lead.converted": "lead"}
    deal = describe(Event(id=uuid.uuid4(), name="deal.won", payload={"activity_type": "deal", "summary": "x"}))
    assert deal["type"] == "deal" and deal["details"]["event"] == "deal.won"


async def test_contact_events_land_on_their_own_timeline(factory: Factory):
    """The contacts component's events carry the contact as ``id``: created, changed, tagged and merged
    appear on that contact's timeline; a deletion does not (there is no timeline left to write to)."""
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    created = await admin.post("/api/contacts", json={"type": "person", "first_name": "Ida", "last_name": "Roth"})
    assert created.status_code == 201, created.text
    contact = created.json()
    changed = await admin.patch(f"/api/contacts/{contact['id']}",
                                json={"first_name": "Ida Maria", "version": contact["version"]})
    assert changed.status_code == 200, changed.text
    for name, extra in (("contact.created", {}), ("contact.updated", {"changed": ["first_name"]}),
                        ("contact.merged", {"merged_id": str(uuid.uuid4()), "merged_display_name": "I. Roth"})):
        await record_activity(Event(id=uuid.uuid4(), name=name, tenant_id=tenant.id, actor_id=admin.user_id,
                                    payload={"id": contact["id"], "display_name": "Ida Maria Roth", **extra}))
    deleted = Event(id=uuid.uuid4(), name="contact.deleted", tenant_id=tenant.id, payload={"id": contact["id"]})
    assert contact_of(deleted) is None
    items = (await admin.get("/api/activities", params={"contact_id": contact["id"]})).json()["items"]
    summaries = {a["details"]["event"]: a["summary"] for a in items}
    assert summaries["contact.created"] == "Kontakt angelegt"
    assert summaries["contact.updated"] == "Kontakt geändert"
    assert summaries["contact.merged"] == "Zusammengeführt mit I. Roth"
    assert all(a["type"] == "contact_update" for a in items if a["details"]["event"].startswith("contact."))
