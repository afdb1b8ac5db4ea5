"""Leads of the CRM module: capture (API and public web form), scoring, routing and conversion."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from tests.factories import Factory, TenantHandle
from xynap.core.kernel_models import OutboxEvent
from xynap.modules.crm.models import Lead
from xynap.shared.contacts.models import Contact, ContactRelation


async def _company(factory: Factory) -> TenantHandle:
    return await factory.tenant(modules=("crm",))


def _code(resp: Any) -> str:
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return resp.json()["code"]


async def _lead(session: Any, **body: Any) -> dict[str, Any]:
    resp = await session.post("/api/crm/leads", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _events(factory: Factory, tenant: TenantHandle, name: str) -> list[dict[str, Any]]:
    async with factory.runtime.db.platform_session() as session:
        rows = await session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == tenant.id,
                                                               OutboxEvent.name == name)
                                     .order_by(OutboxEvent.created_at, OutboxEvent.id))
        return [r.payload for r in rows]


async def _count(factory: Factory, tenant: TenantHandle, model: Any) -> int:
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _settings(session: Any, **body: Any) -> dict[str, Any]:
    current = (await session.get("/api/crm/lead-settings")).json()
    resp = await session.put("/api/crm/lead-settings", json={"version": current["version"], **body})
    assert resp.status_code == 200, resp.text
    return resp.json()


# --- routing -----------------------------------------------------------------------------------------


async def test_routing_rules_round_robin_and_fallback(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    north, a, b, tagged, fallback = [await factory.member(tenant, "staff") for _ in range(5)]
    tag = (await admin.post("/api/tags", json={"name": "Großkunde"})).json()

    # without settings the caller owns what they capture
    assert (await _lead(admin, email="ohne@example.com"))["owner_id"] == str(admin.user_id)

    settings = await _settings(admin, routing_rules=[
        {"kind": "field", "field": "region", "value": "Nord", "user_id": str(north.user_id)},
        {"kind": "tag", "tag_id": tag["id"], "user_id": str(tagged.user_id)},
    ], round_robin_user_ids=[str(a.user_id), str(b.user_id)], fallback_owner_id=str(fallback.user_id))
    assert settings["version"] == 1 and settings["score_threshold"] == 50
    resp = await admin.put("/api/crm/lead-settings", json={"version": 0})
    assert resp.status_code == 409 and _code(resp) == "version_conflict"

    assert (await _lead(admin, email="n@example.com", region="nord"))["owner_id"] == str(north.user_id)
    assert (await _lead(admin, email="t@example.com", tag_ids=[tag["id"]]))["owner_id"] == str(tagged.user_id)
    owners = [(await _lead(admin, email=f"rr{i}@example.com"))["owner_id"] for i in range(4)]
    assert owners == [str(a.user_id), str(b.user_id), str(a.user_id), str(b.user_id)]
    routed = await _lead(admin, email="x@example.com")
    assert routed["routed_at"] is not None
    # an explicit owner wins over routing
    given = await _lead(admin, email="g@example.com", region="Nord", owner_id=str(admin.user_id))
    assert given["owner_id"] == str(admin.user_id) and given["routed_at"] is None

    await _settings(admin, round_robin_user_ids=[], fallback_owner_id=str(fallback.user_id))
    assert (await _lead(admin, email="f@example.com"))["owner_id"] == str(fallback.user_id)

    # bad settings are refused, field by field
    resp = await admin.put("/api/crm/lead-settings", json={
        "version": 2, "round_robin_user_ids": [str(uuid.uuid4())],
        "routing_rules": [{"kind": "tag", "user_id": str(a.user_id)}]})
    assert resp.status_code == 422
    assert {e["field"] for e in resp.json()["errors"]} == {"round_robin_user_ids.0", "routing_rules.0.tag_id"}
    staff_put = await a.put("/api/crm/lead-settings", json={"version": 2})
    assert staff_put.status_code == 403 and _code(staff_put) == "permission_denied"
    assert (await a.get("/api/crm/lead-settings")).status_code == 200


# --- scoring -----------------------------------------------------------------------------------------


async def test_scoring_rules_history_and_threshold_event(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    tag = (await admin.post("/api/tags", json={"name": "Newsletter"})).json()
    await _settings(admin, score_threshold=40)

    async def rule(**body: Any) -> dict[str, Any]:
        resp = await admin.post("/api/crm/score-rules", json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    industry = await rule(name="Branche IT", field="data.branche", operator="equals", value="it", points=10)
    company = await rule(name="Firma", field="company_name", operator="exists", points=30)
    await rule(name="Newsletter", field="tag", operator="has_tag", value=tag["id"], points=5)
    await rule(name="Freemail", field="email", operator="contains", value="@gmx.", points=-15)
    for bad in ({"field": "colour", "operator": "equals"}, {"field": "tag", "operator": "has_tag", "value": "x"},
                {"field": "email", "operator": "has_tag", "value": tag["id"]},
                {"field": "email", "operator": "equals", "points": 5000}):
        resp = await admin.post("/api/crm/score-rules", json={"name": "x", "points": 1, **bad})
        assert resp.status_code == 422, (bad, resp.text)

    lead = await _lead(admin, first_name="Ida", email="ida@gmx.de", data={"branche": "IT"}, tag_ids=[tag["id"]])
    assert lead["score"] == 0  # 10 + 5 - 15
    assert sorted(h["delta"] for h in lead["score_history"]) == [-15, 5, 10]
    assert await _events(factory, tenant, "lead.score_threshold") == []

    resp = await admin.patch(f"/api/crm/leads/{lead['id']}", json={
        "version": lead["version"], "company_name": "Ida GmbH", "email": "ida@ida-gmbh.de"})
    assert resp.status_code == 200, resp.text
    changed = resp.json()
    assert changed["score"] == 45 and changed["version"] == lead["version"] + 1
    assert {h["reason"] for h in changed["score_history"][-2:]} == {
        "Regel „Firma“ trifft zu", "Regel „Freemail“ trifft nicht mehr zu"}
    assert changed["score_history"][-1]["score"] == 45
    (crossed,) = await _events(factory, tenant, "lead.score_threshold")
    assert crossed["id"] == lead["id"] and crossed["score"] == 45 and crossed["threshold"] == 40

    # changed points and a deleted rule give back exactly what they granted
    resp = await admin.patch(f"/api/crm/score-rules/{industry['id']}", json={"version": 1, "points": 20})
    assert resp.status_code == 200
    assert (await admin.delete(f"/api/crm/score-rules/{company['id']}")).status_code == 204
    rescored = (await admin.post(f"/api/crm/leads/{lead['id']}/rescore")).json()
    assert rescored["score"] == 25  # 20 + 5
    reasons = [h["reason"] for h in rescored["score_history"]]
    assert "Regel „Branche IT“: Punkte geändert" in reasons and "Regel „Firma“ entfällt" in reasons
    # crossing upwards again publishes again
    await rule(name="Rückruf", field="message", operator="contains", value="rückruf", points=20)
    again = await admin.patch(f"/api/crm/leads/{lead['id']}", json={"version": rescored["version"],
                                                                     "message": "Bitte RÜCKRUF"})
    assert again.json()["score"] == 45
    assert len(await _events(factory, tenant, "lead.score_threshold")) == 2
    listed = (await admin.get("/api/crm/leads", params={"min_score": 40, "sort": "-score"})).json()["items"]
    assert [x["id"] for x in listed] == [lead["id"]]


# --- public web form ---------------------------------------------------------------------------------


async def test_public_web_form_honeypot_rate_limit_and_embed(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    tag = (await admin.post("/api/tags", json={"name": "Website"})).json()
    resp = await admin.post("/api/crm/lead-forms", json={"name": "Kontakt", "extra_fields": ["branche"],
                                                           "tag_ids": [tag["id"]]})
    assert resp.status_code == 201, resp.text
    form = resp.json()
    assert len(form["form_key"]) >= 20 and form["submit_url"].endswith(form["form_key"])
    bad = await admin.post("/api/crm/lead-forms", json={"name": "x", "extra_fields": ["email"]})
    assert bad.status_code == 422
    public = {"X-Tenant": tenant.slug}
    client = factory.client

    resp = await client.post(form["submit_url"], headers=public, json={
        "first_name": "Paul", "last_name": "Berg", "email": "Paul@Berg.de", "branche": "Handel", "ignored": "x"})
    assert resp.status_code == 202 and resp.json()["status"] == "accepted"
    leads = (await admin.get("/api/crm/leads")).json()["items"]
    assert len(leads) == 1
    lead = leads[0]
    assert lead["source"] == "web_form" and lead["form_id"] == form["id"] and lead["email"] == "paul@berg.de"
    assert lead["data"] == {"branche": "Handel"} and [t["name"] for t in lead["tags"]] == ["Website"]
    (created,) = await _events(factory, tenant, "lead.created")
    assert created["id"] == lead["id"] and created["source"] == "web_form"

    # a plain HTML form post: a thank-you page, or the form's redirect
    resp = await client.post(form["submit_url"], headers=public, data={"email": "html@example.com", "website": ""})
    assert resp.status_code == 202 and "Vielen Dank" in resp.text
    await admin.patch(f"/api/crm/lead-forms/{form['id']}", json={"version": 1, "redirect_url": "https://x.example/ok"})
    resp = await client.post(form["submit_url"], headers=public, data={"email": "redirect@example.com"})
    assert resp.status_code == 303 and resp.headers["location"] == "https://x.example/ok"
    # the honeypot: looks accepted, stores nothing
    before = await _count(factory, tenant, Lead)
    resp = await client.post(form["submit_url"], headers=public, json={"email": "bot@spam.example",
                                                                       "website": "http://spam.example"})
    assert resp.status_code == 202
    assert await _count(factory, tenant, Lead) == before
    # bad input: 4xx, nothing stored
    resp = await client.post(form["submit_url"], headers=public, json={"message": "nur Text"})
    assert resp.status_code == 422 and _code(resp) == "lead_empty"
    resp = await client.post(form["submit_url"], headers=public, json={"email": "kein-mail"})
    assert resp.status_code == 422 and "email" in {e["field"] for e in resp.json()["errors"]}
    resp = await client.post(form["submit_url"], headers={**public, "Content-Type": "application/json"},
                             content=b"{nope")
    assert resp.status_code == 400
    assert await _count(factory, tenant, Lead) == before
    # unknown or inactive forms are not found
    resp = await client.post("/api/crm/public/forms/unknown-key", headers=public, json={"email": "a@b.de"})
    assert resp.status_code == 404 and _code(resp) == "form_not_found"

    # the embeddable snippet
    resp = await client.get(form["embed_url"], headers=public)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert f'action="http://testserver/api/crm/public/forms/{form["form_key"]}"' in resp.text
    assert 'name="website"' in resp.text and 'name="branche"' in resp.text and 'name="email"' in resp.text

    # the per-IP limit (10 a minute per company) — other companies are not affected
    statuses = [(await client.post(form["submit_url"], headers=public, json={"email": f"r{i}@example.com"})).status_code
                for i in range(12)]
    assert 429 in statuses and statuses.count(202) <= 10
    limited = await client.post(form["submit_url"], headers=public, json={"email": "late@example.com"})
    assert limited.status_code == 429 and _code(limited) == "rate_limited" and limited.headers["retry-after"] == "60"

    await admin.patch(f"/api/crm/lead-forms/{form['id']}", json={"version": 2, "is_active": False})
    resp = await client.get(form["embed_url"], headers=public)
    assert resp.status_code == 404


# --- conversion --------------------------------------------------------------------------------------


async def test_conversion_with_duplicate_check(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    resp = await admin.post("/api/crm/pipelines", json={"name": "Neugeschäft", "stages": [
        {"name": "Lead", "probability": 10}, {"name": "Angebot", "probability": 50}]})
    pipeline = resp.json()
    existing = (await admin.post("/api/contacts", json={
        "type": "person", "first_name": "Marie", "last_name": "Vogel",
        "emails": [{"type": "work", "value": "marie.vogel@vogel-bau.de"}]})).json()
    lead = await _lead(admin, first_name="Marie", last_name="Vogel", email="marie.vogel@vogel-bau.de",
                       company_name="Vogel Bau GmbH", phone="0711 1234567")

    dupes = (await admin.get(f"/api/crm/leads/{lead['id']}/duplicates")).json()
    assert [(d["id"], d["role"]) for d in dupes] == [(existing["id"], "person")]

    contacts_before = await _count(factory, tenant, Contact)
    resp = await admin.post(f"/api/crm/leads/{lead['id']}/convert", json={"version": lead["version"]})
    assert resp.status_code == 409 and _code(resp) == "lead_duplicates"
    assert [c["id"] for c in resp.json()["candidates"]] == [existing["id"]]
    assert await _count(factory, tenant, Contact) == contacts_before  # nothing written

    resp = await admin.post(f"/api/crm/leads/{lead['id']}/convert", json={
        "version": lead["version"], "contact_id": existing["id"], "value": "12000.00", "currency": "EUR",
        "stage_id": pipeline["stages"][1]["id"]})
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["contact_id"] == existing["id"] and result["organization_id"]
    assert result["lead"]["status"] == "converted" and result["lead"]["converted_deal_id"] == result["deal"]["id"]
    deal = result["deal"]
    assert deal["title"] == "Vogel Bau GmbH" and deal["value"] == "12000.00"
    assert deal["pipeline_id"] == pipeline["id"] and deal["stage_id"] == pipeline["stages"][1]["id"]
    assert deal["contact_id"] == existing["id"] and deal["organization_id"] == result["organization_id"]
    org = (await admin.get(f"/api/contacts/{result['organization_id']}")).json()
    assert org["type"] == "organization" and org["display_name"] == "Vogel Bau GmbH"
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        relation = await session.scalar(select(ContactRelation).where(
            ContactRelation.contact_a_id == uuid.UUID(existing["id"])))
    assert relation is not None and str(relation.contact_b_id) == result["organization_id"]
    assert (await _events(factory, tenant, "lead.converted"))[0]["deal_id"] == deal["id"]
    resp = await admin.post(f"/api/crm/leads/{lead['id']}/convert", json={"version": result["lead"]["version"]})
    assert resp.status_code == 409 and _code(resp) == "lead_converted"
    resp = await admin.patch(f"/api/crm/leads/{lead['id']}", json={"version": result["lead"]["version"],
                                                                    "first_name": "x"})
    assert resp.status_code == 409 and _code(resp) == "lead_converted"

    # ignore_duplicates makes new contacts; without a deal
    twin = await _lead(admin, first_name="Marie", last_name="Vogel", email="marie.vogel@vogel-bau.de")
    resp = await admin.post(f"/api/crm/leads/{twin['id']}/convert", json={
        "version": twin["version"], "ignore_duplicates": True, "create_deal": False})
    assert resp.status_code == 200, resp.text
    assert resp.json()["deal"] is None and resp.json()["contact_id"] not in (existing["id"], None)
    person = (await admin.get(f"/api/contacts/{resp.json()['contact_id']}")).json()
    assert person["emails"][0]["value"] == "marie.vogel@vogel-bau.de" and person["source"] == "web"

    # bad choices are refused before anything is written
    third = await _lead(admin, first_name="Ole", email="ole@example.com")
    for body, code in (({"contact_id": result["organization_id"]}, "invalid_contact"),
                       ({"pipeline_id": str(uuid.uuid4())}, "pipeline_not_found"),
                       ({"currency": "XXX"}, "unknown_currency"),
                       ({"version": 99}, "version_conflict")):
        resp = await admin.post(f"/api/crm/leads/{third['id']}/convert", json={"version": third["version"], **body})
        assert resp.status_code in (409, 422) and _code(resp) == code, resp.text
    assert (await admin.get(f"/api/crm/leads/{third['id']}")).json()["status"] == "new"


async def test_staff_work_on_their_own_leads(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    staff = await factory.member(tenant, "staff")
    theirs = await _lead(admin, email="chef@example.com")
    mine = await _lead(staff, email="mine@example.com")
    assert mine["owner_id"] == str(staff.user_id)
    assert len((await staff.get("/api/crm/leads")).json()["items"]) == 2
    resp = await staff.patch(f"/api/crm/leads/{theirs['id']}", json={"version": 1, "status": "qualified"})
    assert resp.status_code == 403 and _code(resp) == "permission_scope"
    resp = await staff.patch(f"/api/crm/leads/{mine['id']}", json={"version": 1, "status": "qualified"})
    assert resp.status_code == 200 and resp.json()["status"] == "qualified"
    assert (await staff.post("/api/crm/score-rules", json={"name": "x", "field": "email", "operator": "exists",
                                                           "points": 1})).status_code == 403
    assert (await staff.delete(f"/api/crm/leads/{mine['id']}")).status_code == 204
    assert (await staff.get(f"/api/crm/leads/{mine['id']}")).status_code == 404
