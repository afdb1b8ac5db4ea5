"""The CRM module on the live API: pipelines, deals, line items, board, moves, rotting, forecast."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.factories import Factory, TenantHandle
from xynap.core.db import utcnow
from xynap.core.events import Event
from xynap.core.kernel_models import OutboxEvent
from xynap.modules.crm.events import record_deal_activity
from xynap.modules.crm.jobs import rotting_scan
from xynap.modules.crm.models import Deal, DealItem, DealStageHistory
from xynap.modules.crm.service import POSITION_GAP, line_total
from xynap.shared.contacts.models import CustomFieldDefinition
from xynap.shared.contacts.references import CONTACT_REFERENCES

STAGES = [
    {"name": "Lead", "color": "#94a3b8", "probability": 10, "rotting_days": 7},
    {"name": "Angebot", "color": "#6366f1", "probability": 50, "rotting_days": 14},
    {"name": "Verhandlung", "color": "#f59e0b", "probability": 80},
]


async def _company(factory: Factory) -> TenantHandle:
    return await factory.tenant(modules=("crm",))


async def _pipeline(session: Any, name: str = "Neugeschäft", stages: list[dict[str, Any]] | None = None
                    ) -> dict[str, Any]:
    resp = await session.post("/api/crm/pipelines", json={"name": name, "stages": stages or STAGES})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _deal(session: Any, pipeline: dict[str, Any], **body: Any) -> dict[str, Any]:
    resp = await session.post("/api/crm/deals", json={"title": "Deal", "pipeline_id": pipeline["id"], **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _contact(session: Any, **body: Any) -> dict[str, Any]:
    resp = await session.post("/api/contacts", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _code(resp: Any) -> str:
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return resp.json()["code"]


async def _count(factory: Factory, tenant: TenantHandle, model: Any) -> int:
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _events(factory: Factory, tenant: TenantHandle, name: str) -> list[dict[str, Any]]:
    async with factory.runtime.db.platform_session() as session:
        rows = await session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == tenant.id,
                                                               OutboxEvent.name == name)
                                     .order_by(OutboxEvent.created_at, OutboxEvent.id))
        return [r.payload for r in rows]


async def _board(session: Any, pipeline: dict[str, Any], **params: Any) -> dict[str, Any]:
    resp = await session.get(f"/api/crm/pipelines/{pipeline['id']}/board", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _column(board: dict[str, Any], stage: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in board["columns"] if c["stage"]["id"] == stage["id"])


# --- pipelines and stages ----------------------------------------------------------------------------


async def test_pipelines_with_stages_reorder_and_guards(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    staff = await factory.member(tenant, "staff")
    pipeline = await _pipeline(admin)
    assert pipeline["is_default"] is True  # the first pipeline is the default one
    assert [s["name"] for s in pipeline["stages"]] == ["Lead", "Angebot", "Verhandlung"]
    assert [s["position"] for s in pipeline["stages"]] == [0, 1, 2]
    assert pipeline["stages"][2]["rotting_days"] is None

    second = await _pipeline(admin, "Upsell", [{"name": "Bedarf"}])
    resp = await admin.patch(f"/api/crm/pipelines/{second['id']}", json={"version": second["version"],
                                                                          "is_default": True})
    assert resp.status_code == 200 and resp.json()["is_default"] is True
    listed = (await staff.get("/api/crm/pipelines")).json()  # everybody reads pipelines
    assert {p["name"]: p["is_default"] for p in listed} == {"Neugeschäft": False, "Upsell": True}
    resp = await admin.patch(f"/api/crm/pipelines/{second['id']}", json={"version": second["version"], "name": "x"})
    assert resp.status_code == 409 and _code(resp) == "version_conflict"

    # staff may read but not shape the process
    resp = await staff.post("/api/crm/pipelines", json={"name": "Mine"})
    assert resp.status_code == 403 and _code(resp) == "permission_denied"

    # validation: probability 0..100, colour, rotting days
    resp = await admin.post(f"/api/crm/pipelines/{pipeline['id']}/stages", json={"name": "X", "probability": 101})
    assert resp.status_code == 422 and {e["field"] for e in resp.json()["errors"]} == {"probability"}
    resp = await admin.post(f"/api/crm/pipelines/{pipeline['id']}/stages",
                            json={"name": "Qualifiziert", "probability": 25, "position": 1, "color": "#0ea5e9"})
    assert resp.status_code == 201
    qualified = resp.json()
    stages = (await admin.get(f"/api/crm/pipelines/{pipeline['id']}")).json()["stages"]
    assert [s["name"] for s in stages] == ["Lead", "Qualifiziert", "Angebot", "Verhandlung"]

    # reorder: every stage exactly once
    order = [s["id"] for s in reversed(stages)]
    resp = await admin.put(f"/api/crm/pipelines/{pipeline['id']}/stage-order", json={"stage_ids": order[:-1]})
    assert resp.status_code == 422 and _code(resp) == "invalid_stage_order"
    resp = await admin.put(f"/api/crm/pipelines/{pipeline['id']}/stage-order", json={"stage_ids": order})
    assert resp.status_code == 200 and [s["id"] for s in resp.json()] == order
    stages = (await admin.get(f"/api/crm/pipelines/{pipeline['id']}")).json()["stages"]
    assert [s["name"] for s in stages] == ["Verhandlung", "Angebot", "Qualifiziert", "Lead"]

    # a stage of another pipeline is not found under this one
    resp = await admin.patch(f"/api/crm/pipelines/{second['id']}/stages/{qualified['id']}", json={"name": "y"})
    assert resp.status_code == 404 and _code(resp) == "stage_not_found"
    resp = await admin.patch(f"/api/crm/pipelines/{pipeline['id']}/stages/{qualified['id']}",
                             json={"rotting_days": 3, "probability": 30})
    assert resp.json()["rotting_days"] == 3 and resp.json()["probability"] == 30

    # stages and pipelines with deals cannot be deleted
    await _deal(admin, pipeline, stage_id=qualified["id"])
    resp = await admin.delete(f"/api/crm/pipelines/{pipeline['id']}/stages/{qualified['id']}")
    assert resp.status_code == 409 and _code(resp) == "stage_has_deals"
    resp = await admin.delete(f"/api/crm/pipelines/{pipeline['id']}")
    assert resp.status_code == 409 and _code(resp) == "pipeline_has_deals"
    empty = stages[0]
    assert (await admin.delete(f"/api/crm/pipelines/{pipeline['id']}/stages/{empty['id']}")).status_code == 204
    assert (await admin.delete(f"/api/crm/pipelines/{second['id']}")).status_code == 204
    stages = (await admin.get(f"/api/crm/pipelines/{pipeline['id']}")).json()["stages"]
    assert [s["position"] for s in stages] == [0, 1, 2]


# --- deals, line items, money ------------------------------------------------------------------------


def test_line_totals_use_decimal_arithmetic():
    assert line_total(Decimal("3"), Decimal("19.99"), Decimal("10")) == Decimal("53.97")
    assert line_total(Decimal("0.1"), Decimal("0.70"), Decimal("0")) == Decimal("0.07")
    assert line_total(Decimal("1"), Decimal("0.05"), Decimal("50")) == Decimal("0.03")  # half up
    assert line_total(Decimal("2.5"), Decimal("100"), Decimal("100")) == Decimal("0.00")


async def test_deal_with_line_items_contacts_tags_and_detail(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    pipeline = await _pipeline(admin)
    person = await _contact(admin, type="person", first_name="Anna", last_name="Richter")
    org = await _contact(admin, type="organization", company_name="Brenner GmbH")
    tag = (await admin.post("/api/tags", json={"name": "Heiß", "color": "#ef4444"})).json()

    deal = await _deal(admin, pipeline, title="Maschinen", currency="EUR", contact_id=person["id"],
                       organization_id=org["id"], tag_ids=[tag["id"]], expected_close_date="2027-03-15",
                       source="Messe",
                       items=[{"product_name": "Fräse", "quantity": "3", "unit_price": "19.99",
                               "discount_percent": "10"},
                              {"product_name": "Service", "quantity": "0.5", "unit_price": "120.00"}])
    assert [i["total"] for i in deal["items"]] == ["53.97", "60.00"]
    assert deal["value"] == "113.97"  # the value is the sum of the line items
    assert deal["stage_id"] == pipeline["stages"][0]["id"]  # default: the first stage
    assert deal["probability"] == 10 and deal["probability_override"] is None
    assert deal["status"] == "open" and deal["rotting"] is False and deal["version"] == 1
    assert [t["name"] for t in deal["tags"]] == ["Heiß"]
    assert len(deal["stage_history"]) == 1 and deal["stage_history"][0]["left_at"] is None

    got = (await admin.get(f"/api/crm/deals/{deal['id']}")).json()
    assert got["items"] == deal["items"] and got["contact_id"] == person["id"]
    usage = (await admin.get(f"/api/tags/{tag['id']}")).json()["usage"]
    assert usage["deal"] == 1  # registered as a tag link

    # replacing the items recomputes the value; the probability override wins over the stage's
    resp = await admin.patch(f"/api/crm/deals/{deal['id']}", json={
        "version": deal["version"], "probability": 65,
        "items": [{"product_name": "Fräse", "quantity": "2", "unit_price": "1000.10", "discount_percent": "2.5"}]})
    assert resp.status_code == 200, resp.text
    changed = resp.json()
    assert changed["value"] == "1950.20" and changed["items"][0]["total"] == "1950.20"
    assert changed["probability"] == 65 and changed["probability_override"] == 65
    assert changed["version"] == 2
    # tags only: still a new version (the card changed)
    resp = await admin.patch(f"/api/crm/deals/{deal['id']}", json={"version": 2, "tag_ids": []})
    assert resp.json()["tags"] == [] and resp.json()["version"] == 3
    resp = await admin.patch(f"/api/crm/deals/{deal['id']}", json={"version": 3, "probability": None})
    assert resp.json()["probability"] == 10
    events = await _events(factory, tenant, "deal.updated")
    assert events[0]["changed"] == ["items", "probability", "value"]

    # the deal search source
    resp = await admin.get("/api/search", params={"q": "Maschinen"})
    assert resp.status_code == 200, resp.text
    hits = [(h["type"], h["id"], h["url"]) for h in resp.json()["items"]]
    assert ("deal", deal["id"], f"/crm/deals/{deal['id']}") in hits


async def test_bad_deal_input_is_refused_and_writes_nothing(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    pipeline = await _pipeline(admin)
    other = await _pipeline(admin, "Partner", [{"name": "Erstkontakt"}])
    person = await _contact(admin, type="person", first_name="Max", last_name="Muster")
    before = await _count(factory, tenant, Deal)

    async def refused(body: dict[str, Any], status: int, code: str, field: str | None = None) -> None:
        resp = await admin.post("/api/crm/deals", json={"title": "X", "pipeline_id": pipeline["id"], **body})
        assert resp.status_code == status, resp.text
        assert _code(resp) == code
        if field:
            assert field in {e["field"] for e in resp.json()["errors"]}, resp.json()

    await refused({"currency": "XYZ"}, 422, "unknown_currency", "currency")
    await refused({"currency": "eur"}, 422, "validation_error", "currency")
    await refused({"items": [{"product_name": "A", "quantity": "-1", "unit_price": "1"}]}, 422, "validation_error",
                  "items.0.quantity")
    await refused({"items": [{"product_name": "A", "quantity": "0", "unit_price": "1"}]}, 422, "validation_error",
                  "items.0.quantity")
    await refused({"items": [{"product_name": "A", "quantity": "1", "unit_price": "-0.01"}]}, 422,
                  "validation_error", "items.0.unit_price")
    await refused({"items": [{"product_name": "A", "quantity": "1", "unit_price": "1", "discount_percent": "101"}]},
                  422, "validation_error", "items.0.discount_percent")
    await refused({"items": [{"product_name": "A", "quantity": "1", "unit_price": "1.001"}]}, 422,
                  "validation_error", "items.0.unit_price")
    await refused({"items": [{"product_name": "A", "quantity": "9999999999", "unit_price": "999999999999.99"}]},
                  422, "validation_error", "items.0.quantity")
    await refused({"value": "-5"}, 422, "validation_error", "value")
    await refused({"value": "NaN"}, 422, "validation_error", "value")
    await refused({"probability": 120}, 422, "validation_error", "probability")
    await refused({"stage_id": other["stages"][0]["id"]}, 422, "stage_not_in_pipeline", "stage_id")
    await refused({"contact_id": str(uuid.uuid4())}, 422, "invalid_contact", "contact_id")
    await refused({"organization_id": person["id"]}, 422, "invalid_contact", "organization_id")
    await refused({"tag_ids": [str(uuid.uuid4())]}, 422, "invalid_tag", "tag_ids")
    await refused({"owner_id": str(uuid.uuid4())}, 422, "validation_error", "owner_id")
    await refused({"custom_fields": {"budget": 5}}, 422, "validation_error", "custom_fields.budget")
    resp = await admin.post("/api/crm/deals", json={"title": "X", "pipeline_id": str(uuid.uuid4())})
    assert resp.status_code == 422 and _code(resp) == "pipeline_not_found"
    assert await _count(factory, tenant, Deal) == before
    assert await _count(factory, tenant, DealItem) == 0

    # a valid deal, then refused edits leave it as it was
    deal = await _deal(admin, pipeline, value="100.00",
                       items=[{"product_name": "A", "quantity": "1", "unit_price": "100"}])
    for body, code in (({"currency": "ABC"}, "unknown_currency"),
                       ({"items": [{"product_name": "B", "quantity": "-2", "unit_price": "1"}]}, "validation_error"),
                       ({"contact_id": str(uuid.uuid4()), "title": "Neu"}, "invalid_contact")):
        resp = await admin.patch(f"/api/crm/deals/{deal['id']}", json={"version": deal["version"], **body})
        assert resp.status_code == 422 and _code(resp) == code, resp.text
    resp = await admin.patch(f"/api/crm/deals/{deal['id']}", json={"version": deal["version"] + 5, "title": "Neu"})
    assert resp.status_code == 409 and _code(resp) == "version_conflict"
    got = (await admin.get(f"/api/crm/deals/{deal['id']}")).json()
    assert got["title"] == "Deal" and got["version"] == 1 and got["currency"] == "EUR"
    assert [i["product_name"] for i in got["items"]] == ["A"]


async def test_custom_fields_of_entity_deal(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    pipeline = await _pipeline(admin)
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        session.add(CustomFieldDefinition(entity="deal", key="budget_approved", label="Budget freigegeben",
                                          type="checkbox", options=[], required=False, position=0))
    deal = await _deal(admin, pipeline, custom_fields={"budget_approved": True})
    assert deal["custom_fields"] == {"budget_approved": True}
    resp = await admin.patch(f"/api/crm/deals/{deal['id']}", json={"version": 1, "custom_fields": {"budget_approved":
                                                                                                    "ja"}})
    assert resp.status_code == 422 and "custom_fields.budget_approved" in {e["field"] for e in resp.json()["errors"]}


# --- board and moves ---------------------------------------------------------------------------------


async def test_board_counts_sums_per_currency_and_pages(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    pipeline = await _pipeline(admin)
    lead, offer, _ = pipeline["stages"]
    created = [await _deal(admin, pipeline, title=f"D{i}", value=f"{100 + i}.50", currency="EUR") for i in range(5)]
    await _deal(admin, pipeline, title="Dollar", value="1000", currency="USD")
    await _deal(admin, pipeline, title="Offer", value="10", currency="EUR", stage_id=offer["id"], probability=90)
    lost = await _deal(admin, pipeline, title="Lost", value="5000")
    await admin.post(f"/api/crm/deals/{lost['id']}/lost", json={"version": 1, "reason": "Preis"})

    board = await _board(admin, pipeline, limit=4)
    column = _column(board, lead)
    assert column["count"] == 6  # lost deals are off the board
    assert column["sums"] == [{"currency": "EUR", "value": "512.50"}, {"currency": "USD", "value": "1000.00"}]
    assert column["weighted"] == [{"currency": "EUR", "value": "51.25"}, {"currency": "USD", "value": "100.00"}]
    assert [d["title"] for d in column["deals"]] == ["D0", "D1", "D2", "D3"]  # order of creation, new at the end
    assert column["next_cursor"]
    more = await admin.get(f"/api/crm/pipelines/{pipeline['id']}/stages/{lead['id']}/deals",
                           params={"cursor": column["next_cursor"], "limit": 4})
    assert [d["title"] for d in more.json()["items"]] == ["D4", "Dollar"] and more.json()["next_cursor"] is None
    assert _column(board, offer)["weighted"] == [{"currency": "EUR", "value": "9.00"}]
    assert _column(board, pipeline["stages"][2]) | {"stage": None} == {
        "stage": None, "count": 0, "sums": [], "weighted": [], "deals": [], "next_cursor": None}
    resp = await admin.get(f"/api/crm/pipelines/{pipeline['id']}/stages/{lead['id']}/deals",
                           params={"cursor": "bm9wZQ"})
    assert resp.status_code == 422 and _code(resp) == "invalid_cursor"
    assert created[0]["position"] < created[1]["position"]


async def test_moves_keep_order_record_history_and_publish(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    pipeline = await _pipeline(admin)
    other = await _pipeline(admin, "Partner", [{"name": "Erstkontakt"}])
    lead, offer, _ = pipeline["stages"]
    a, b, c = [await _deal(admin, pipeline, title=t) for t in "ABC"]

    async def titles(stage: dict[str, Any]) -> list[str]:
        return [d["title"] for d in _column(await _board(admin, pipeline), stage)["deals"]]

    async def move(deal: dict[str, Any], **body: Any) -> Any:
        version = (await admin.get(f"/api/crm/deals/{deal['id']}")).json()["version"]
        return await admin.post(f"/api/crm/deals/{deal['id']}/move", json={"version": version, **body})

    # within the stage: by index, before/after another card
    assert (await move(c, stage_id=lead["id"], position=0)).status_code == 200
    assert await titles(lead) == ["C", "A", "B"]
    assert (await move(a, stage_id=lead["id"], after_id=b["id"])).status_code == 200
    assert await titles(lead) == ["C", "B", "A"]
    assert (await move(a, stage_id=lead["id"], before_id=c["id"])).status_code == 200
    assert await titles(lead) == ["A", "C", "B"]
    assert await _events(factory, tenant, "deal.stage_changed") == []
    assert len(await _events(factory, tenant, "deal.reordered")) == 3

    # to another stage: history, stage_entered_at, event with the pipeline id
    resp = await move(c, stage_id=offer["id"])
    assert resp.status_code == 200, resp.text
    moved = resp.json()
    assert moved["stage_id"] == offer["id"] and moved["probability"] == 50
    assert await titles(lead) == ["A", "B"] and await titles(offer) == ["C"]
    detail = (await admin.get(f"/api/crm/deals/{c['id']}")).json()
    history = detail["stage_history"]
    assert [h["stage_id"] for h in history] == [lead["id"], offer["id"]]
    assert history[0]["left_at"] is not None and history[1]["left_at"] is None
    assert history[1]["entered_at"] == detail["stage_entered_at"]
    (event,) = await _events(factory, tenant, "deal.stage_changed")
    assert event["pipeline_id"] == pipeline["id"] and event["from_stage_id"] == lead["id"]
    assert event["to_stage_id"] == offer["id"] and event["stage_name"] == "Angebot"

    # a stage of another pipeline: refused, nothing changed
    resp = await move(a, stage_id=other["stages"][0]["id"])
    assert resp.status_code == 422 and _code(resp) == "stage_not_in_pipeline"
    resp = await move(a, stage_id=offer["id"], before_id=b["id"])  # B is not in the target stage
    assert resp.status_code == 422 and _code(resp) == "anchor_not_in_stage"
    got = (await admin.get(f"/api/crm/deals/{a['id']}")).json()
    assert got["stage_id"] == lead["id"] and len(got["stage_history"]) == 1
    # a stale version
    resp = await admin.post(f"/api/crm/deals/{a['id']}/move", json={"version": 99, "stage_id": offer["id"]})
    assert resp.status_code == 409 and _code(resp) == "version_conflict"
    assert (await admin.get(f"/api/crm/deals/{a['id']}")).json()["stage_id"] == lead["id"]


async def test_positions_are_renumbered_when_no_gap_is_left(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    pipeline = await _pipeline(admin)
    lead = pipeline["stages"][0]
    first, last = await _deal(admin, pipeline, title="first"), await _deal(admin, pipeline, title="last")
    moved = []
    # every new card goes right before "last": the gap halves each time until it is gone
    for i in range(14):
        deal = await _deal(admin, pipeline, title=f"m{i}")
        resp = await admin.post(f"/api/crm/deals/{deal['id']}/move",
                                json={"version": deal["version"], "stage_id": lead["id"], "before_id": last["id"]})
        assert resp.status_code == 200, resp.text
        moved.append(f"m{i}")
    cards = _column(await _board(admin, pipeline), lead)["deals"]
    assert [d["title"] for d in cards] == ["first", *moved, "last"]
    positions = [d["position"] for d in cards]
    assert positions == sorted(set(positions))
    # a renumbering happened (the first gap was POSITION_GAP) and did not count other deals' versions up
    assert any(b - a == POSITION_GAP for a, b in zip(positions, positions[1:], strict=False))
    assert (await admin.get(f"/api/crm/deals/{first['id']}")).json()["version"] == 1


async def test_won_lost_reopen(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    pipeline = await _pipeline(admin)
    person = await _contact(admin, type="person", first_name="Eva", last_name="Lang")
    deal = await _deal(admin, pipeline, title="Großauftrag", value="5000", contact_id=person["id"])
    resp = await admin.post(f"/api/crm/deals/{deal['id']}/lost", json={"version": 1, "reason": "  "})
    assert resp.status_code == 422
    resp = await admin.post(f"/api/crm/deals/{deal['id']}/won", json={"version": 1})
    assert resp.status_code == 200 and resp.json()["status"] == "won" and resp.json()["won_at"]
    resp = await admin.post(f"/api/crm/deals/{deal['id']}/lost", json={"version": 2, "reason": "x"})
    assert resp.status_code == 409 and _code(resp) == "deal_not_open"
    resp = await admin.post(f"/api/crm/deals/{deal['id']}/move",
                            json={"version": 2, "stage_id": pipeline["stages"][1]["id"]})
    assert resp.status_code == 409 and _code(resp) == "deal_not_open"
    resp = await admin.post(f"/api/crm/deals/{deal['id']}/reopen", json={"version": 2})
    assert resp.status_code == 200 and resp.json()["status"] == "open" and resp.json()["won_at"] is None
    resp = await admin.post(f"/api/crm/deals/{deal['id']}/lost", json={"version": 3, "reason": "Zu teuer"})
    assert resp.json()["status"] == "lost" and resp.json()["lost_reason"] == "Zu teuer"
    (won,) = await _events(factory, tenant, "deal.won")
    (lost,) = await _events(factory, tenant, "deal.lost")
    assert won["id"] == deal["id"] and won["contact_id"] == person["id"]
    assert lost["reason"] == "Zu teuer" and lost["status"] == "lost"
    history = (await admin.get(f"/api/crm/deals/{deal['id']}")).json()["stage_history"]
    assert len(history) == 2 and all(h["left_at"] for h in history)

    # every event lands on the timeline of the deal and its contact (once, even when redelivered)
    async with factory.runtime.db.platform_session() as session:
        rows = list(await session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == tenant.id,
                                                                    OutboxEvent.name.like("deal.%"))))
    for row in rows:
        event = Event.from_row(row)
        await record_deal_activity(event)
        await record_deal_activity(event)
    resp = await admin.get("/api/activities", params={"entity_type": "deal", "entity_id": deal["id"]})
    assert resp.status_code == 200, resp.text
    summaries = [a["summary"] for a in resp.json()["items"]]
    assert len(summaries) == 4 and "Deal verloren: Großauftrag (Zu teuer)" in summaries
    resp = await admin.get("/api/activities", params={"contact_id": person["id"]})
    assert len([a for a in resp.json()["items"] if a["entity_type"] == "deal"]) == 4


# --- list, scopes ------------------------------------------------------------------------------------


async def test_deal_list_filters_and_cursor(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    pipeline = await _pipeline(admin)
    org = await _contact(admin, type="organization", company_name="Lindner KG")
    tag = (await admin.post("/api/tags", json={"name": "Messe"})).json()
    await _deal(admin, pipeline, title="Alpha Anlage", expected_close_date="2027-01-10", organization_id=org["id"])
    beta = await _deal(admin, pipeline, title="Beta Wartung", expected_close_date="2027-02-10",
                       tag_ids=[tag["id"]], stage_id=pipeline["stages"][1]["id"])
    await _deal(admin, pipeline, title="Gamma Anlage", expected_close_date="2027-03-10")
    await admin.post(f"/api/crm/deals/{beta['id']}/won", json={"version": 1})

    async def titles(**params: Any) -> list[str]:
        resp = await admin.get("/api/crm/deals", params={"sort": "title", **params})
        assert resp.status_code == 200, resp.text
        return [d["title"] for d in resp.json()["items"]]

    assert await titles() == ["Alpha Anlage", "Beta Wartung", "Gamma Anlage"]
    assert await titles(q="anlage") == ["Alpha Anlage", "Gamma Anlage"]
    assert await titles(status="won") == ["Beta Wartung"]
    assert await titles(tag_id=tag["id"]) == ["Beta Wartung"]
    assert await titles(contact_id=org["id"]) == ["Alpha Anlage"]
    assert await titles(stage_id=pipeline["stages"][1]["id"]) == ["Beta Wartung"]
    assert await titles(close_from="2027-02-01", close_to="2027-03-31") == ["Beta Wartung", "Gamma Anlage"]
    page = (await admin.get("/api/crm/deals", params={"sort": "-title", "limit": 2})).json()
    assert [d["title"] for d in page["items"]] == ["Gamma Anlage", "Beta Wartung"]
    rest = (await admin.get("/api/crm/deals", params={"sort": "-title", "limit": 2,
                                                      "cursor": page["next_cursor"]})).json()
    assert [d["title"] for d in rest["items"]] == ["Alpha Anlage"] and rest["next_cursor"] is None
    resp = await admin.get("/api/crm/deals", params={"status": "maybe"})
    assert resp.status_code == 422


async def test_staff_read_all_deals_but_change_only_their_own(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    staff = await factory.member(tenant, "staff")
    pipeline = await _pipeline(admin)
    theirs = await _deal(admin, pipeline, title="Chefsache")
    mine = await _deal(staff, pipeline, title="Meins")
    assert mine["owner_id"] == str(staff.user_id)
    assert {d["title"] for d in (await staff.get("/api/crm/deals")).json()["items"]} == {"Chefsache", "Meins"}
    assert _column(await _board(staff, pipeline), pipeline["stages"][0])["count"] == 2
    resp = await staff.patch(f"/api/crm/deals/{theirs['id']}", json={"version": 1, "title": "x"})
    assert resp.status_code == 403 and _code(resp) == "permission_scope"
    resp = await staff.post(f"/api/crm/deals/{theirs['id']}/move",
                            json={"version": 1, "stage_id": pipeline["stages"][1]["id"]})
    assert resp.status_code == 403 and _code(resp) == "permission_scope"
    resp = await staff.post("/api/crm/deals", json={"title": "Für Chefin", "pipeline_id": pipeline["id"],
                                                    "owner_id": str(admin.user_id)})
    assert resp.status_code == 403 and _code(resp) == "permission_scope"
    resp = await staff.post(f"/api/crm/deals/{mine['id']}/won", json={"version": 1})
    assert resp.status_code == 200
    assert (await staff.delete(f"/api/crm/deals/{theirs['id']}")).status_code == 403
    assert (await admin.delete(f"/api/crm/deals/{mine['id']}")).status_code == 204
    assert (await admin.get(f"/api/crm/deals/{mine['id']}")).status_code == 404


async def test_deal_contacts_are_merge_references():
    refs = {(r.model, r.column) for r in CONTACT_REFERENCES}
    assert {(Deal, "contact_id"), (Deal, "organization_id")} <= refs


async def test_contact_merge_moves_deals(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    pipeline = await _pipeline(admin)
    keep = await _contact(admin, type="organization", company_name="Nordlicht AG")
    gone = await _contact(admin, type="organization", company_name="Nordlicht Logistik AG")
    deal = await _deal(admin, pipeline, organization_id=gone["id"])
    resp = await admin.post(f"/api/contacts/{keep['id']}/merge", json={
        "other_id": gone["id"], "version": keep["version"], "other_version": gone["version"]})
    assert resp.status_code == 200, resp.text
    got = (await admin.get(f"/api/crm/deals/{deal['id']}")).json()
    assert got["organization_id"] == keep["id"] and got["version"] == 2


# --- rotting and forecast ----------------------------------------------------------------------------


class _Ctx:
    def __init__(self, session: Any) -> None:
        self.session = session


async def test_rotting_flag_and_the_scheduled_event_once_per_stay(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    pipeline = await _pipeline(admin)
    lead, offer, final = pipeline["stages"]
    old = await _deal(admin, pipeline, title="Alt")
    fresh = await _deal(admin, pipeline, title="Frisch")
    never = await _deal(admin, pipeline, title="Ohne Frist", stage_id=final["id"])
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        await session.execute(update(Deal).where(Deal.id.in_([uuid.UUID(old["id"]), uuid.UUID(never["id"])]))
                              .values(stage_entered_at=utcnow() - dt.timedelta(days=8)))

    cards = {d["title"]: d["rotting"] for c in (await _board(admin, pipeline))["columns"] for d in c["deals"]}
    assert cards == {"Alt": True, "Frisch": False, "Ohne Frist": False}
    listed = {d["title"]: d["rotting"] for d in (await admin.get("/api/crm/deals")).json()["items"]}
    assert listed["Alt"] is True and listed["Frisch"] is False

    async def scan() -> int:
        async with factory.runtime.db.platform_session() as session:
            return (await rotting_scan(_Ctx(session)))["notified"]

    before = len(await _events(factory, tenant, "deal.rotting"))
    await scan()
    await scan()  # the second run finds the deal already reported
    events = await _events(factory, tenant, "deal.rotting")
    assert len(events) - before == 1
    assert events[-1]["id"] == old["id"] and events[-1]["stage_name"] == "Lead" and events[-1]["days"] == 8
    assert (await admin.get(f"/api/crm/deals/{old['id']}")).json()["version"] == 1  # bookkeeping, not an edit

    # a move starts a new stay: no longer rotting, and reported again once it rots in the new stage
    resp = await admin.post(f"/api/crm/deals/{old['id']}/move", json={"version": 1, "stage_id": offer["id"]})
    assert resp.json()["rotting"] is False
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        await session.execute(update(Deal).where(Deal.id == uuid.UUID(old["id"]))
                              .values(stage_entered_at=utcnow() - dt.timedelta(days=15)))
    await scan()
    events = await _events(factory, tenant, "deal.rotting")
    assert len(events) - before == 2 and events[-1]["stage_name"] == "Angebot"
    assert fresh["rotting"] is False


async def test_weighted_forecast_per_group_and_currency(factory):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    staff = await factory.member(tenant, "staff")
    pipeline = await _pipeline(admin)
    lead, offer, final = pipeline["stages"]
    from xynap.platform.users.models import Team, TeamMember

    async with factory.runtime.db.tenant_session(tenant.id) as session:
        team = Team(name="Vertrieb Nord")
        session.add(team)
        await session.flush()
        session.add(TeamMember(team_id=team.id, user_id=staff.user_id))
        team_id = str(team.id)
    factory.runtime.invalidate_tenant(tenant.id)

    await _deal(admin, pipeline, value="1000.00", expected_close_date="2027-01-15")  # 10 % → 100
    await _deal(admin, pipeline, value="333.33", expected_close_date="2027-02-20",
                stage_id=offer["id"])  # 50 %: 166.665
    await _deal(admin, pipeline, value="200.00", currency="USD", expected_close_date="2027-02-01",
                stage_id=final["id"])  # 80 % → 160
    await _deal(staff, pipeline, value="50.00", expected_close_date="2027-04-02", probability=30)  # → 15
    await _deal(staff, pipeline, value="10.00")  # no date → 1
    won = await _deal(admin, pipeline, value="99999")
    await admin.post(f"/api/crm/deals/{won['id']}/won", json={"version": 1})  # closed: not forecast

    async def forecast(group: str, **params: Any) -> dict[str, Any]:
        resp = await admin.get("/api/crm/forecast", params={"group": group, **params})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def table(data: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(r["key"], r["currency"], r["count"], r["value"], r["weighted"]) for r in data["rows"]]

    by_month = await forecast("month")
    assert table(by_month) == [
        ("2027-01", "EUR", 1, "1000.00", "100.00"),
        ("2027-02", "EUR", 1, "333.33", "166.67"),
        ("2027-02", "USD", 1, "200.00", "160.00"),
        ("2027-04", "EUR", 1, "50.00", "15.00"),
        (None, "EUR", 1, "10.00", "1.00"),
    ]
    assert [(t["currency"], t["count"], t["value"], t["weighted"]) for t in by_month["totals"]] == [
        ("EUR", 4, "1393.33", "282.67"), ("USD", 1, "200.00", "160.00")]
    assert table(await forecast("quarter")) == [
        ("2027-Q1", "EUR", 2, "1333.33", "266.67"),
        ("2027-Q1", "USD", 1, "200.00", "160.00"),
        ("2027-Q2", "EUR", 1, "50.00", "15.00"),
        (None, "EUR", 1, "10.00", "1.00"),
    ]
    by_stage = await forecast("stage")
    assert [(r["label"], r["currency"], r["weighted"]) for r in by_stage["rows"]] == [
        ("Lead", "EUR", "116.00"), ("Angebot", "EUR", "166.67"), ("Verhandlung", "USD", "160.00")]
    by_owner = {(r["key"], r["currency"]): r["weighted"] for r in (await forecast("owner"))["rows"]}
    assert by_owner == {(str(admin.user_id), "EUR"): "266.67", (str(admin.user_id), "USD"): "160.00",
                        (str(staff.user_id), "EUR"): "16.00"}
    by_team = {(r["key"], r["currency"]): (r["label"], r["weighted"]) for r in (await forecast("team"))["rows"]}
    assert by_team == {(team_id, "EUR"): ("Vertrieb Nord", "16.00"), (None, "EUR"): ("—", "266.67"),
                       (None, "USD"): ("—", "160.00")}
    only = await forecast("month", close_from="2027-02-01", close_to="2027-02-28", pipeline_id=pipeline["id"])
    assert [r["key"] for r in only["rows"]] == ["2027-02", "2027-02"]
    resp = await admin.get("/api/crm/forecast", params={"group": "weekday"})
    assert resp.status_code == 422


async def test_crm_needs_a_booking(factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    resp = await admin.get("/api/crm/pipelines")
    assert resp.status_code == 403 and _code(resp) == "module_not_enabled"


@pytest.mark.parametrize("status", ["won", "lost"])
async def test_history_is_closed_when_a_deal_is_closed(factory, status):
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    pipeline = await _pipeline(admin)
    deal = await _deal(admin, pipeline)
    body = {"version": 1, **({"reason": "Kein Budget"} if status == "lost" else {})}
    assert (await admin.post(f"/api/crm/deals/{deal['id']}/{status}", json=body)).status_code == 200
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        rows = list(await session.scalars(select(DealStageHistory)))
    assert len(rows) == 1 and rows[0].left_at is not None


async def test_cards_carry_names_within_the_viewers_contact_scope(factory):
    """Board, list and deal carry contact, organization and owner names, so a board needs no lookup per
    card; a viewer whose contacts scope is "own" gets no name for a contact they may not read."""
    tenant = await _company(factory)
    admin = await factory.member(tenant, "admin")
    staff = await factory.member(tenant, "staff")
    pipeline = await _pipeline(admin)
    person = await _contact(admin, type="person", first_name="Rita", last_name="Berg")
    org = await _contact(admin, type="organization", company_name="Berg Bau GmbH")
    deal = await _deal(admin, pipeline, title="Dach", contact_id=person["id"], organization_id=org["id"])
    me = (await admin.get("/api/me")).json()
    assert (deal["contact_name"], deal["organization_name"], deal["owner_name"]) == (
        "Rita Berg", "Berg Bau GmbH", me["name"])
    card = _column(await _board(admin, pipeline), pipeline["stages"][0])["deals"][0]
    assert (card["contact_name"], card["organization_name"], card["owner_name"]) == (
        "Rita Berg", "Berg Bau GmbH", me["name"])
    listed = (await admin.get("/api/crm/deals")).json()["items"][0]
    assert listed["contact_name"] == "Rita Berg" and listed["organization_name"] == "Berg Bau GmbH"

    # staff may read every deal but, now, only their own contacts: the admin's contacts stay nameless
    roles = {r["name"]: r for r in (await admin.get("/api/roles")).json()}
    resp = await admin.patch(f"/api/roles/{roles['staff']['id']}",
                             json={"version": roles["staff"]["version"], "grants": {"contacts.contact:read": "own"}})
    assert resp.status_code == 200, resp.text
    seen = (await staff.get(f"/api/crm/deals/{deal['id']}")).json()
    assert (seen["contact_name"], seen["organization_name"], seen["owner_name"]) == (None, None, me["name"])
    card = _column(await _board(staff, pipeline), pipeline["stages"][0])["deals"][0]
    assert card["contact_name"] is None and card["owner_name"] == me["name"]
