"""Contacts: CRUD, phone/e-mail/custom-field validation, list filters and paging, record scopes,
version conflicts, tags, relations and the events they publish."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from xynap.core.kernel_models import OutboxEvent
from xynap.shared.contacts.service import phone_prefix, region_of_locale, to_e164

BASE = "/api/contacts"


def fields_of(resp: Any) -> set[str]:
    return {e["field"] for e in resp.json().get("errors") or []}


def names(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [c["display_name"] for c in resp.json()["items"]]


@pytest.fixture
async def company(factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    return tenant, admin


async def create(session: Any, **body: Any) -> dict[str, Any]:
    body.setdefault("type", "person")
    if body["type"] == "person":
        body.setdefault("last_name", "Muster")
    resp = await session.post(BASE, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def outbox(runtime: Any, tenant_id: uuid.UUID, name: str) -> list[OutboxEvent]:
    async with runtime.db.tenant_session(tenant_id) as session:
        return list(await session.scalars(select(OutboxEvent).where(OutboxEvent.name == name)))


# --- helpers -------------------------------------------------------------------------------------------


def _library_e164(value: str, region: str) -> str | None:
    """phonenumbers alone: what ``to_e164`` must answer, fast path or not."""
    import phonenumbers

    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    valid = phonenumbers.is_valid_number(number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if valid else None


@pytest.mark.parametrize("region", ["DE", "AT", "CH", "FR", "NL", "GB", "IT", "US", "HU", "RU"])
def test_e164_fast_path_agrees_with_the_library(region):
    import random

    rng = random.Random(region)
    numbers = ["0151 23456789", "030 1234567", "040/2441057", "089-123456", "0221 9876543", "06 12345678",
               "01 42 68 53 00", "020 7946 0958", "0664 1234567", "044 668 18 00", "0612345678", "06 1 234 5678",
               "8 495 123-45-67", "0049 30 1234567", "(030) 1234567", "030 12", "0800 1234567", "0 30 1234567",
               "0123", "0999 9999999", "+49 30 1234567", "0301234567x12"]
    numbers += [f"0{rng.randint(1, 9)}{rng.randint(0, 99999999):08d}"[: rng.randint(6, 13)] for _ in range(300)]
    for value in numbers:
        assert to_e164(value, region) == _library_e164(value, region), (value, region)


def test_phone_helpers():
    assert to_e164("0151 23456789", "DE") == "+4915123456789"
    assert to_e164("+43 1 5123456", "DE") == "+4315123456"
    assert to_e164("12", "DE") is None and to_e164("kein Telefon", "DE") is None
    assert region_of_locale("de") == "DE" and region_of_locale("de-AT") == "AT" and region_of_locale(None) == "DE"
    assert phone_prefix("0151 23", "DE") == "+4915123" and phone_prefix("Müller", "DE") is None


# --- CRUD ----------------------------------------------------------------------------------------------


async def test_crud_with_normalisation(company, runtime):
    tenant, admin = company
    created = await create(
        admin, first_name="Erika", last_name="Mustermann",
        emails=[{"type": "work", "value": "Erika.Mustermann@Example.COM"}],
        phones=[{"type": "mobile", "value": "0151 234 567 89"}, {"type": "work", "value": "+49 (30) 1234567"}],
        addresses=[{"type": "work", "street": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin"}],
        notes="Messe 2026",
    )
    assert created["display_name"] == "Erika Mustermann"
    assert created["emails"] == [{"type": "work", "value": "erika.mustermann@example.com"}]
    assert [p["value"] for p in created["phones"]] == ["+4915123456789", "+49301234567"]
    assert created["addresses"][0]["country"] == "DE"
    assert created["owner_id"] == str(admin.user_id) and created["source"] == "manual" and created["version"] == 1

    org = await create(admin, type="organization", company_name="Muster GmbH")
    assert org["display_name"] == "Muster GmbH"

    resp = await admin.get(f"{BASE}/{created['id']}")
    assert resp.status_code == 200 and resp.json()["notes"] == "Messe 2026"

    resp = await admin.patch(f"{BASE}/{created['id']}", json={"version": 1, "last_name": "Musterfrau",
                                                               "phones": [{"value": "030 7654321"}]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["display_name"] == "Erika Musterfrau" and resp.json()["version"] == 2
    assert resp.json()["phones"] == [{"type": "work", "value": "+49307654321"}]

    resp = await admin.delete(f"{BASE}/{created['id']}")
    assert resp.status_code == 204
    assert (await admin.get(f"{BASE}/{created['id']}")).status_code == 404

    assert sorted(e.payload["display_name"] for e in await outbox(runtime, tenant.id, "contact.created")) == [
        "Erika Mustermann", "Muster GmbH"]
    updated = await outbox(runtime, tenant.id, "contact.updated")
    assert len(updated) == 1 and set(updated[0].payload["changed"]) == {"last_name", "phones"}
    deleted = await outbox(runtime, tenant.id, "contact.deleted")
    assert len(deleted) == 1 and deleted[0].permission == "contacts.contact:read"
    assert deleted[0].owner_id == admin.user_id


async def test_phone_region_follows_company_locale(company, runtime):
    from xynap.platform.settings.models import TenantSetting

    tenant, admin = company
    async with runtime.db.tenant_session(tenant.id) as session:
        session.add(TenantSetting(key="company.locale", value="de-AT"))
    created = await create(admin, phones=[{"value": "01 5123456"}])
    assert created["phones"][0]["value"] == "+4315123456"


async def test_invalid_input_names_the_field(company):
    _, admin = company
    resp = await admin.post(BASE, json={"last_name": "X", "phones": [{"value": "+49 30 1234567"},
                                                                     {"value": "123"}]})
    assert resp.status_code == 422 and resp.json()["code"] == "validation_error"
    assert fields_of(resp) == {"phones.1.value"}

    resp = await admin.post(BASE, json={"last_name": "X", "emails": [{"value": "keine-mail"}]})
    assert resp.status_code == 422 and "emails.0.value" in fields_of(resp)

    resp = await admin.post(BASE, json={"type": "organization", "first_name": "Nur"})
    assert resp.status_code == 422 and fields_of(resp) == {"company_name"}
    resp = await admin.post(BASE, json={"type": "person"})
    assert resp.status_code == 422 and fields_of(resp) == {"last_name"}

    created = await create(admin)
    resp = await admin.patch(f"{BASE}/{created['id']}", json={"version": 1, "phones": [{"value": "abc"}]})
    assert resp.status_code == 422 and fields_of(resp) == {"phones.0.value"}


# --- custom fields -------------------------------------------------------------------------------------


async def test_custom_fields_validated_and_filterable(company):
    _, admin = company
    for body in (
        {"key": "branche", "label": "Branche", "type": "select", "options": ["IT", "Handel"]},
        {"key": "mitarbeiter", "label": "Mitarbeiter", "type": "number"},
        {"key": "gegruendet", "label": "Gegründet", "type": "date"},
        {"key": "newsletter", "label": "Newsletter", "type": "checkbox"},
        {"key": "themen", "label": "Themen", "type": "multiselect", "options": ["A", "B", "C"]},
        {"key": "kundennr", "label": "Kundennummer", "type": "text", "required": True},
    ):
        resp = await admin.post(f"{BASE}/fields", json=body)
        assert resp.status_code == 201, resp.text
    resp = await admin.post(f"{BASE}/fields", json={"key": "branche", "label": "X", "type": "text"})
    assert resp.status_code == 409 and resp.json()["code"] == "field_exists"
    resp = await admin.post(f"{BASE}/fields", json={"key": "leer", "label": "X", "type": "select"})
    assert resp.status_code == 422 and fields_of(resp) == {"options"}

    bad = {"branche": "Bau", "mitarbeiter": "viele", "gegruendet": "gestern", "newsletter": "ja",
           "themen": ["A", "Z"], "unbekannt": 1}
    resp = await admin.post(BASE, json={"last_name": "X", "custom_fields": bad})
    assert resp.status_code == 422
    assert fields_of(resp) == {f"custom_fields.{k}" for k in [*bad, "kundennr"]}

    a = await create(admin, last_name="Alpha", custom_fields={
        "kundennr": "K1", "branche": "IT", "mitarbeiter": 12, "gegruendet": "2001-02-03", "newsletter": True,
        "themen": ["A", "B"]})
    assert a["custom_fields"]["mitarbeiter"] == 12 and a["custom_fields"]["themen"] == ["A", "B"]
    b = await create(admin, last_name="Beta", custom_fields={"kundennr": "K2", "branche": "Handel", "mitarbeiter": 3,
                                                         "newsletter": False, "themen": ["C"]})
    await create(admin, last_name="Gamma", custom_fields={"kundennr": "K3"})

    assert names(await admin.get(BASE, params={"cf.branche": "IT"})) == ["Alpha"]
    assert names(await admin.get(BASE, params={"cf.mitarbeiter": "3"})) == ["Beta"]
    assert names(await admin.get(BASE, params={"cf.gegruendet": "2001-02-03"})) == ["Alpha"]
    assert names(await admin.get(BASE, params={"cf.newsletter": "false"})) == ["Beta"]
    assert names(await admin.get(BASE, params={"cf.themen": "B"})) == ["Alpha"]
    assert names(await admin.get(BASE, params={"cf.kundennr": "K3"})) == ["Gamma"]
    assert names(await admin.get(BASE, params={"cf.branche": "IT", "cf.newsletter": "true"})) == ["Alpha"]
    resp = await admin.get(BASE, params={"cf.nope": "1"})
    assert resp.status_code == 422 and fields_of(resp) == {"cf.nope"}
    resp = await admin.get(BASE, params={"cf.mitarbeiter": "viele"})
    assert resp.status_code == 422 and fields_of(resp) == {"cf.mitarbeiter"}

    # a patch merges values; null removes one; required stays enforced
    resp = await admin.patch(f"{BASE}/{a['id']}", json={"version": 1, "custom_fields": {"branche": None}})
    assert resp.status_code == 200, resp.text
    assert "branche" not in resp.json()["custom_fields"] and resp.json()["custom_fields"]["kundennr"] == "K1"
    resp = await admin.patch(f"{BASE}/{a['id']}", json={"version": 2, "custom_fields": {"kundennr": None}})
    assert resp.status_code == 422 and fields_of(resp) == {"custom_fields.kundennr"}

    # stored values survive a narrower option list until the field itself is edited
    fields = {f["key"]: f for f in (await admin.get(f"{BASE}/fields")).json()}
    resp = await admin.patch(f"{BASE}/fields/{fields['branche']['id']}", json={"options": ["IT", "Bau"]})
    assert resp.status_code == 200 and resp.json()["options"] == ["IT", "Bau"]
    resp = await admin.patch(f"{BASE}/{b['id']}", json={"version": 1, "custom_fields": {"newsletter": True}})
    assert resp.status_code == 200 and resp.json()["custom_fields"]["branche"] == "Handel"
    resp = await admin.patch(f"{BASE}/{b['id']}", json={"version": 2, "custom_fields": {"branche": "Handel"}})
    assert resp.status_code == 422 and fields_of(resp) == {"custom_fields.branche"}

    # deleting a definition removes its values; the key can then be defined afresh
    fields = {f["key"]: f for f in (await admin.get(f"{BASE}/fields")).json()}
    assert (await admin.delete(f"{BASE}/fields/{fields['mitarbeiter']['id']}")).status_code == 204
    resp = await admin.get(f"{BASE}/{a['id']}")
    assert "mitarbeiter" not in resp.json()["custom_fields"] and resp.json()["custom_fields"]["kundennr"] == "K1"
    resp = await admin.post(f"{BASE}/fields", json={"key": "mitarbeiter", "label": "Mitarbeiter", "type": "text"})
    assert resp.status_code == 201
    assert names(await admin.get(BASE, params={"cf.mitarbeiter": "3"})) == []


async def test_only_admins_define_fields(company, factory):
    tenant, _ = company
    manager = await factory.member(tenant, "manager")
    assert (await manager.get(f"{BASE}/fields")).status_code == 200
    resp = await manager.post(f"{BASE}/fields", json={"key": "x", "label": "X", "type": "text"})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_denied"


# --- list ----------------------------------------------------------------------------------------------


async def test_keyset_pagination_and_filters(company):
    _, admin = company
    for i in range(7):
        await create(admin, first_name=f"P{i}", last_name="Person")
    org = await create(admin, type="organization", company_name="Zeta AG",
                       emails=[{"value": "info@zeta.example"}], phones=[{"value": "0711 123456"}])
    seen, cursor = [], None
    while True:
        resp = await admin.get(BASE, params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        seen += names(resp)
        cursor = resp.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"P{i} Person" for i in range(7)] + ["Zeta AG"]
    assert names(await admin.get(BASE, params={"sort": "-name", "limit": 2})) == ["Zeta AG", "P6 Person"]
    assert names(await admin.get(BASE, params={"sort": "-created_at", "limit": 1})) == ["Zeta AG"]

    assert names(await admin.get(BASE, params={"type": "organization"})) == ["Zeta AG"]
    assert names(await admin.get(BASE, params={"q": "zet"})) == ["Zeta AG"]
    assert names(await admin.get(BASE, params={"q": "INFO@ze"})) == ["Zeta AG"]
    assert names(await admin.get(BASE, params={"q": "0711 12"})) == ["Zeta AG"]
    assert names(await admin.get(BASE, params={"q": "+49711"})) == ["Zeta AG"]
    assert len(names(await admin.get(BASE, params={"q": "pers"}))) == 7
    assert names(await admin.get(BASE, params={"q": "100%"})) == []
    assert names(await admin.get(BASE, params={"owner_id": str(admin.user_id), "q": "p3"})) == ["P3 Person"]

    tag = (await admin.post("/api/tags", json={"name": "VIP"})).json()
    resp = await admin.put(f"{BASE}/{org['id']}/tags", json={"tag_ids": [tag["id"]]})
    assert resp.status_code == 200 and [t["name"] for t in resp.json()["tags"]] == ["VIP"]
    listed = await admin.get(BASE, params={"tag": tag["id"]})
    assert names(listed) == ["Zeta AG"] and listed.json()["items"][0]["tags"][0]["id"] == tag["id"]

    resp = await admin.get(BASE, params={"sort": "notes"})
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_sort"


# --- scopes, versions ----------------------------------------------------------------------------------


async def test_record_scope(company, factory):
    tenant, admin = company
    staff1 = await factory.member(tenant, "staff")
    staff2 = await factory.member(tenant, "staff")
    external = await factory.member(tenant, "external")
    mine = await create(staff1, last_name="Eigen")
    theirs = await create(admin, last_name="Fremd")

    # staff read everything, change only their own
    assert (await staff2.get(f"{BASE}/{mine['id']}")).status_code == 200
    resp = await staff2.patch(f"{BASE}/{mine['id']}", json={"version": 1, "notes": "x"})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_scope"
    resp = await staff2.delete(f"{BASE}/{mine['id']}")
    assert resp.status_code == 403 and resp.json()["code"] == "permission_scope"
    resp = await staff2.put(f"{BASE}/{mine['id']}/tags", json={"tag_ids": []})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_scope"
    resp = await staff1.post(BASE, json={"last_name": "Für andere", "owner_id": str(staff2.user_id)})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_scope"
    resp = await staff1.patch(f"{BASE}/{mine['id']}", json={"version": 1, "notes": "ok"})
    assert resp.status_code == 200

    # externals see only their own contacts and cannot create any
    assert (await external.get(f"{BASE}/{theirs['id']}")).status_code == 404
    assert names(await external.get(BASE)) == []
    resp = await external.post(BASE, json={"last_name": "X"})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_denied"

    # an admin may give a contact to someone else, but only to a user of the company
    resp = await admin.post(BASE, json={"last_name": "Geschenkt", "owner_id": str(external.user_id)})
    assert resp.status_code == 201
    assert names(await external.get(BASE)) == ["Geschenkt"]
    resp = await admin.post(BASE, json={"last_name": "X", "owner_id": str(uuid.uuid4())})
    assert resp.status_code == 422 and fields_of(resp) == {"owner_id"}


async def test_version_conflict(company):
    _, admin = company
    created = await create(admin)
    assert (await admin.patch(f"{BASE}/{created['id']}", json={"version": 1, "notes": "a"})).status_code == 200
    resp = await admin.patch(f"{BASE}/{created['id']}", json={"version": 1, "notes": "b"})
    assert resp.status_code == 409 and resp.json()["code"] == "version_conflict"


# --- tags ----------------------------------------------------------------------------------------------


async def test_tags(company, factory, runtime):
    tenant, admin = company
    vip = await admin.post("/api/tags", json={"name": "VIP", "color": "#eab308"})
    assert vip.status_code == 201, vip.text
    vip = vip.json()
    resp = await admin.post("/api/tags", json={"name": "vip"})
    assert resp.status_code == 409 and resp.json()["code"] == "tag_exists"
    kunde = (await admin.post("/api/tags", json={"name": "Kunde"})).json()
    resp = await admin.patch(f"/api/tags/{kunde['id']}", json={"name": "VIP"})
    assert resp.status_code == 409
    resp = await admin.patch(f"/api/tags/{kunde['id']}", json={"name": "Stammkunde", "color": "#22c55e"})
    assert resp.status_code == 200 and resp.json()["name"] == "Stammkunde"
    assert [t["name"] for t in (await admin.get("/api/tags")).json()] == ["Stammkunde", "VIP"]

    contact = await create(admin)
    resp = await admin.put(f"{BASE}/{contact['id']}/tags", json={"tag_ids": [vip["id"], kunde["id"]]})
    assert resp.status_code == 200 and {t["name"] for t in resp.json()["tags"]} == {"VIP", "Stammkunde"}
    resp = await admin.put(f"{BASE}/{contact['id']}/tags", json={"tag_ids": [kunde["id"], str(uuid.uuid4())]})
    assert resp.status_code == 422 and fields_of(resp) == {"tag_ids.1"}
    resp = await admin.put(f"{BASE}/{contact['id']}/tags", json={"tag_ids": [kunde["id"]]})
    assert [t["name"] for t in resp.json()["tags"]] == ["Stammkunde"]
    added = await outbox(runtime, tenant.id, "contact.tag_added")
    assert sorted(e.payload["tag_name"] for e in added) == ["Stammkunde", "VIP"]
    assert all(e.payload["id"] == contact["id"] and e.owner_id == admin.user_id for e in added)

    assert (await admin.delete(f"/api/tags/{kunde['id']}")).status_code == 204
    assert (await admin.get(f"{BASE}/{contact['id']}")).json()["tags"] == []
    assert (await admin.get(f"/api/tags/{kunde['id']}")).status_code == 404

    staff = await factory.member(tenant, "staff")
    assert (await staff.post("/api/tags", json={"name": "Neu"})).status_code == 201
    resp = await staff.delete(f"/api/tags/{vip['id']}")
    assert resp.status_code == 403 and resp.json()["code"] == "permission_denied"


# --- relations -----------------------------------------------------------------------------------------


async def test_relations(company):
    _, admin = company
    person = await create(admin, first_name="Hans", last_name="Huber")
    org = await create(admin, type="organization", company_name="Huber Bau GmbH")
    resp = await admin.post(f"{BASE}/{person['id']}/relations", json={
        "contact_b_id": org["id"], "relation_type": "employee_of", "position": "Bauleiter", "department": "Bau"})
    assert resp.status_code == 201, resp.text
    relation = resp.json()
    assert relation["other_display_name"] == "Huber Bau GmbH" and relation["relation_type"] == "employee_of"

    from_org = (await admin.get(f"{BASE}/{org['id']}/relations")).json()
    assert [(r["id"], r["other_contact_id"], r["other_display_name"]) for r in from_org] == [
        (relation["id"], person["id"], "Hans Huber")]

    resp = await admin.post(f"{BASE}/{person['id']}/relations", json={"contact_b_id": person["id"]})
    assert resp.status_code == 422 and fields_of(resp) == {"contact_b_id"}
    resp = await admin.post(f"{BASE}/{person['id']}/relations", json={"contact_b_id": str(uuid.uuid4())})
    assert resp.status_code == 422 and fields_of(resp) == {"contact_b_id"}
    resp = await admin.post(f"{BASE}/{person['id']}/relations", json={"contact_b_id": org["id"],
                                                                      "relation_type": "boss_of"})
    assert resp.status_code == 422

    other = await create(admin, last_name="Dritter")
    resp = await admin.delete(f"{BASE}/{other['id']}/relations/{relation['id']}")
    assert resp.status_code == 404
    assert (await admin.delete(f"{BASE}/{org['id']}/relations/{relation['id']}")).status_code == 204
    assert (await admin.get(f"{BASE}/{person['id']}/relations")).json() == []

    # deleting a contact removes its relations
    await admin.post(f"{BASE}/{person['id']}/relations", json={"contact_b_id": org["id"]})
    assert (await admin.delete(f"{BASE}/{org['id']}")).status_code == 204
    assert (await admin.get(f"{BASE}/{person['id']}/relations")).json() == []


# --- gate ----------------------------------------------------------------------------------------------


async def test_closed_without_a_booked_module(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    for resp in (await admin.get(BASE), await admin.post(BASE, json={"last_name": "X"}),
                 await admin.get("/api/tags")):
        assert resp.status_code == 403 and resp.json()["code"] == "module_not_enabled"


async def test_demo_data(runtime):
    from tests.factories import unique
    from xynap.platform.demo import seed_demo
    from xynap.shared.contacts.models import Contact, ContactRelation, ContactTag, CustomFieldDefinition, Tag

    result = await seed_demo(runtime, slug=unique("contacts-demo"), strict=True)
    async with runtime.db.tenant_session(result.tenant_id) as session:
        contacts = list(await session.scalars(select(Contact)))
        assert len(contacts) == 12 and {c.type for c in contacts} == {"person", "organization"}
        assert all(c.phones[0]["value"].startswith("+49") for c in contacts)
        assert {t.name for t in await session.scalars(select(Tag))} == {"VIP", "Lieferant", "Kunde"}
        assert len(list(await session.scalars(select(ContactTag)))) > 5
        assert len(list(await session.scalars(select(ContactRelation)))) == 7
        field = await session.scalar(select(CustomFieldDefinition))
        assert field.key == "branche" and field.type == "select"
