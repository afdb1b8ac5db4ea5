"""Merging contacts: preview, chosen values, references moved (relations, tags, tasks, notes,
activities) in one transaction, audit and event — and refused merges that change nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from xynap.core.kernel_models import AuditRecord, OutboxEvent
from xynap.shared.worklog.models import Activity

BASE = "/api/contacts"


@pytest.fixture
async def company(factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    return tenant, admin


async def create(session: Any, **body: Any) -> dict[str, Any]:
    body.setdefault("type", "person")
    resp = await session.post(BASE, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def get(session: Any, contact_id: str) -> dict[str, Any]:
    resp = await session.get(f"{BASE}/{contact_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()


async def pair(admin: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Two records of one person, with tags, a relation each, a custom field and linked records."""
    field = await admin.post(f"{BASE}/fields", json={"key": "branche", "label": "Branche", "type": "text"})
    assert field.status_code == 201
    vip = (await admin.post("/api/tags", json={"name": "VIP"})).json()
    kunde = (await admin.post("/api/tags", json={"name": "Kunde"})).json()
    org = await create(admin, type="organization", company_name="Brenner GmbH")
    this = await create(admin, first_name="Erika", last_name="Mustermann", emails=[{"value": "erika@example.com"}],
                        phones=[{"value": "0151 23456789"}], custom_fields={"branche": "IT"}, notes="Erster Kontakt")
    other = await create(admin, first_name="Erica", last_name="Mustermann", emails=[{"value": "em@firma.de"}],
                         phones=[{"value": "0151 23456789"}], custom_fields={"branche": "Handel"}, notes="Messe",
                         addresses=[{"city": "Berlin"}])
    for contact, tag_ids in ((this, [vip["id"]]), (other, [vip["id"], kunde["id"]])):
        assert (await admin.put(f"{BASE}/{contact['id']}/tags", json={"tag_ids": tag_ids})).status_code == 200
    for contact in (this, other):  # the same relation twice: one survives
        resp = await admin.post(f"{BASE}/{contact['id']}/relations",
                                json={"contact_b_id": org["id"], "relation_type": "employee_of"})
        assert resp.status_code == 201
    resp = await admin.post(f"{BASE}/{this['id']}/relations", json={"contact_b_id": other["id"]})
    assert resp.status_code == 201  # becomes a self-relation and disappears
    return this, other, {"vip": vip["id"], "kunde": kunde["id"], "org": org["id"]}


async def test_preview_and_merge(company, runtime):
    tenant, admin = company
    this, other, ids = await pair(admin)
    task = (await admin.post("/api/tasks", json={"title": "Rückruf", "linked_contact_id": other["id"]})).json()
    note = (await admin.post("/api/notes", json={"content": "Notiz", "linked_contact_id": other["id"]})).json()
    async with runtime.db.tenant_session(tenant.id) as session:
        session.add(Activity(type="call", summary="Anruf", contact_id=uuid.UUID(other["id"])))

    resp = await admin.get(f"{BASE}/{this['id']}/merge-preview", params={"other_id": other["id"]})
    assert resp.status_code == 200, resp.text
    preview = resp.json()
    assert preview["this"]["id"] == this["id"] and preview["other"]["id"] == other["id"]
    assert {"first_name", "emails", "notes"} <= set(preview["conflicts"]) and "phones" not in preview["conflicts"]
    assert preview["custom_field_conflicts"] == ["branche"]
    assert preview["defaults"]["emails"] == "both" and preview["defaults"]["first_name"] == "this"
    assert preview["defaults"]["addresses"] == "both"
    assert {r["code"] for r in preview["reasons"]} == {"same_phone", "similar_name"}

    resp = await admin.post(f"{BASE}/{this['id']}/merge", json={
        "other_id": other["id"], "version": this["version"] + 2, "other_version": other["version"],
        "fields": {"first_name": "other", "emails": "both", "notes": "both", "addresses": "other"},
        "custom_fields": {"branche": "other"}})
    # a version this contact never had is refused (and nothing changed, see the other test)
    assert resp.status_code == 409
    resp = await admin.post(f"{BASE}/{this['id']}/merge", json={
        "other_id": other["id"], "version": this["version"], "other_version": other["version"],
        "fields": {"first_name": "other", "emails": "both", "notes": "both", "addresses": "other"},
        "custom_fields": {"branche": "other"}})
    assert resp.status_code == 200, resp.text
    result = resp.json()
    merged = result["contact"]
    assert result["merged_id"] == other["id"]
    assert merged["display_name"] == "Erica Mustermann" and merged["version"] == this["version"] + 1
    assert [e["value"] for e in merged["emails"]] == ["erika@example.com", "em@firma.de"]
    assert [p["value"] for p in merged["phones"]] == ["+4915123456789"]
    assert merged["notes"] == "Erster Kontakt\n\nMesse" and merged["addresses"][0]["city"] == "Berlin"
    assert merged["custom_fields"] == {"branche": "Handel"}
    assert sorted(t["name"] for t in merged["tags"]) == ["Kunde", "VIP"]
    assert result["moved"]["tasks.linked_contact_id"] == 1 and result["moved"]["notes.linked_contact_id"] == 1
    assert result["moved"]["activities.contact_id"] == 1

    assert (await admin.get(f"{BASE}/{other['id']}")).status_code == 404
    relations = (await admin.get(f"{BASE}/{this['id']}/relations")).json()
    assert [(r["other_contact_id"], r["relation_type"]) for r in relations] == [(ids["org"], "employee_of")]
    assert (await admin.get(f"/api/tasks/{task['id']}")).json()["linked_contact_id"] == this["id"]
    assert (await admin.get(f"/api/notes/{note['id']}")).json()["linked_contact_id"] == this["id"]
    tags = {t["id"]: t for t in (await admin.get("/api/tags")).json()}
    assert tags[ids["vip"]]["usage"]["contact"] == 1 and tags[ids["kunde"]]["usage"]["contact"] == 1
    assert (await admin.get(f"{BASE}/{this['id']}/duplicates")).json()["items"] == []

    async with runtime.db.tenant_session(tenant.id) as session:
        activity = await session.scalar(select(Activity).where(Activity.type == "call"))
        assert str(activity.contact_id) == this["id"]
        record = await session.scalar(select(AuditRecord).where(AuditRecord.action == "contact.merge"))
        assert record.entity_id == this["id"] and record.changes["merged_from"][0] == other["id"]
        assert record.changes["merged_into"][1] == this["id"]
        deleted = await session.scalar(select(AuditRecord).where(AuditRecord.action == "contact.delete",
                                                                 AuditRecord.entity_id == other["id"]))
        assert deleted is not None
        event = await session.scalar(select(OutboxEvent).where(OutboxEvent.name == "contact.merged"))
        assert event.payload["id"] == this["id"] and event.payload["merged_id"] == other["id"]


async def test_refused_merges_change_nothing(company, factory):
    tenant, admin = company
    this, other, _ = await pair(admin)
    before = (await get(admin, this["id"]), await get(admin, other["id"]))

    def body(**kw: Any) -> dict[str, Any]:
        return {"other_id": other["id"], "version": this["version"], "other_version": other["version"]} | kw

    url = f"{BASE}/{this['id']}/merge"
    resp = await admin.post(url, json=body(other_version=other["version"] + 1))
    assert resp.status_code == 409 and resp.json()["code"] == "version_conflict"
    resp = await admin.post(url, json=body(other_id=this["id"]))
    assert resp.status_code == 422 and resp.json()["code"] == "merge_same_contact"
    resp = await admin.post(url, json=body(fields={"first_name": "both"}))
    assert resp.status_code == 422
    resp = await admin.post(url, json=body(fields={"colour": "this"}))
    assert resp.status_code == 422
    resp = await admin.post(url, json=body(custom_fields={"unbekannt": "this"}))
    assert resp.status_code == 422 and {e["field"] for e in resp.json()["errors"]} == {"custom_fields.unbekannt"}
    org = await create(admin, type="organization", company_name="Mustermann GmbH")
    resp = await admin.post(url, json=body(other_id=org["id"], other_version=1,
                                           fields={"first_name": "other", "last_name": "other"}))
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "last_name"  # a person without a name

    other_tenant = await factory.tenant(modules=("example",))
    foreign = await create(await factory.member(other_tenant, "admin"), last_name="Fremd")
    resp = await admin.post(url, json=body(other_id=foreign["id"]))
    assert resp.status_code == 404 and resp.json()["code"] == "contact_not_found"
    resp = await admin.get(f"{BASE}/{this['id']}/merge-preview", params={"other_id": foreign["id"]})
    assert resp.status_code == 404

    # a staff member may merge only into their own contacts and only delete their own
    staff = await factory.member(tenant, "staff")
    resp = await staff.post(url, json=body())
    assert resp.status_code == 403 and resp.json()["code"] == "permission_scope"
    mine = await create(staff, last_name="Mustermann")
    resp = await staff.post(f"{BASE}/{mine['id']}/merge", json=body(version=1))
    assert resp.status_code == 403 and resp.json()["code"] == "permission_scope"

    after = (await get(admin, this["id"]), await get(admin, other["id"]))
    assert after == before
    assert len((await admin.get(f"{BASE}/{this['id']}/relations")).json()) == 2


async def test_preview_without_other_proposes_the_best_duplicate(company):
    _, admin = company
    lonely = await create(admin, first_name="Zoe", last_name="Einzeln")
    resp = await admin.get(f"{BASE}/{lonely['id']}/merge-preview")
    assert resp.status_code == 200 and resp.json()["other"] is None and resp.json()["conflicts"] == []
    this = await create(admin, first_name="Anna", last_name="Richter", emails=[{"value": "anna@web.de"}])
    twin = await create(admin, first_name="Anna", last_name="Richter", emails=[{"value": "anna@web.de"}])
    await create(admin, first_name="Anne", last_name="Richter")
    preview = (await admin.get(f"{BASE}/{this['id']}/merge-preview")).json()
    assert preview["other"]["id"] == twin["id"] and preview["score"] > 0.99 and preview["conflicts"] == []
