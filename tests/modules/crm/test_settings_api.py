"""What the CRM settings pages need beyond plain CRUD: submissions counted per web form, the field
errors the stage and pipeline editors show at their fields, and the stage order the drag & drop saves."""

from __future__ import annotations

from typing import Any

from tests.factories import Factory, TenantHandle


async def _company(factory: Factory) -> TenantHandle:
    return await factory.tenant(modules=("crm",))


def _fields(resp: Any) -> set[str]:
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return {e["field"] for e in resp.json().get("errors", [])}


async def test_forms_count_their_submissions(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    first = (await admin.post("/api/crm/lead-forms", json={"name": "Kontakt"})).json()
    second = (await admin.post("/api/crm/lead-forms", json={"name": "Messe"})).json()
    assert first["submission_count"] == 0 and second["submission_count"] == 0
    public = {"X-Tenant": tenant.slug}
    for i in range(3):
        resp = await factory.client.post(first["submit_url"], headers=public, json={"email": f"k{i}@example.com"})
        assert resp.status_code == 202, resp.text
    resp = await factory.client.post(second["submit_url"], headers=public, json={"email": "m@example.com"})
    assert resp.status_code == 202
    # a lead captured by API belongs to no form
    assert (await admin.post("/api/crm/leads", json={"email": "api@example.com"})).status_code == 201

    counts = {f["name"]: f["submission_count"] for f in (await admin.get("/api/crm/lead-forms")).json()}
    assert counts == {"Kontakt": 3, "Messe": 1}
    assert (await admin.get(f"/api/crm/lead-forms/{first['id']}")).json()["submission_count"] == 3
    changed = await admin.patch(f"/api/crm/lead-forms/{second['id']}", json={"version": 1, "name": "Messe 2027"})
    assert changed.status_code == 200 and changed.json()["submission_count"] == 1
    # the count is per company: another company's form with the same name starts at zero
    other = await _company(factory)
    other_admin = await factory.member(other, "admin")
    assert (await other_admin.post("/api/crm/lead-forms", json={"name": "Kontakt"})).json()["submission_count"] == 0
    assert {f["submission_count"] for f in (await other_admin.get("/api/crm/lead-forms")).json()} == {0}


async def test_stage_editor_errors_name_their_fields_and_order_is_saved(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    resp = await admin.post("/api/crm/pipelines", json={"name": "Projekte", "stages": [
        {"name": "Anfrage"}, {"name": "", "probability": 120}]})
    assert resp.status_code == 422 and {"stages.1.name", "stages.1.probability"} <= _fields(resp)
    pipeline = (await admin.post("/api/crm/pipelines", json={"name": "Projekte", "stages": [
        {"name": "Anfrage", "probability": 10}, {"name": "Angebot", "probability": 50},
        {"name": "Auftrag", "probability": 100}]})).json()
    ids = [s["id"] for s in pipeline["stages"]]
    url = f"/api/crm/pipelines/{pipeline['id']}"
    resp = await admin.patch(f"{url}/stages/{ids[0]}", json={"color": "red", "rotting_days": 0})
    assert resp.status_code == 422 and _fields(resp) == {"color", "rotting_days"}
    resp = await admin.put(f"{url}/stage-order", json={"stage_ids": ids[:2]})
    assert resp.status_code == 422 and _fields(resp) == {"stage_ids"}

    resp = await admin.put(f"{url}/stage-order", json={"stage_ids": [ids[2], ids[0], ids[1]]})
    assert resp.status_code == 200
    stages = (await admin.get(url)).json()["stages"]
    assert [s["name"] for s in stages] == ["Auftrag", "Anfrage", "Angebot"]
    assert [s["position"] for s in stages] == [0, 1, 2]
    # staff may read but not reorder (the page shows itself read-only to them)
    staff = await factory.member(tenant, "staff")
    assert (await staff.get(url)).status_code == 200
    assert (await staff.put(f"{url}/stage-order", json={"stage_ids": ids})).status_code == 403
