"""CRM sales reports (figures on hand-built data, currencies, scopes, filters, CSV/PDF) and the
rescoring job that runs after a scoring rule changes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any

from pypdf import PdfReader
from sqlalchemy import select, update

from tests.factories import Factory, TenantHandle
from xynap.core.db import utcnow
from xynap.core.jobs import Worker
from xynap.core.kernel_models import Job, OutboxEvent
from xynap.modules.crm.jobs import RESCORE_JOB
from xynap.modules.crm.models import Deal, DealStageHistory, Lead, LeadScoreEvent

STAGES = [
    {"name": "Lead", "color": "#94a3b8", "probability": 10},
    {"name": "Angebot", "color": "#6366f1", "probability": 50},
    {"name": "Verhandlung", "color": "#f59e0b", "probability": 80},
]
BASE = "/api/crm/reports"


def _code(resp: Any) -> str:
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return resp.json()["code"]


async def _pipeline(session: Any, name: str = "Neugeschäft") -> dict[str, Any]:
    resp = await session.post("/api/crm/pipelines", json={"name": name, "stages": STAGES})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _deal(session: Any, pipeline: dict[str, Any], stage: int, value: str, **body: Any) -> dict[str, Any]:
    resp = await session.post("/api/crm/deals", json={"title": f"Deal {value}", "pipeline_id": pipeline["id"],
                                                      "stage_id": pipeline["stages"][stage]["id"], "value": value,
                                                      **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _move(session: Any, deal: dict[str, Any], pipeline: dict[str, Any], stage: int) -> dict[str, Any]:
    resp = await session.post(f"/api/crm/deals/{deal['id']}/move",
                              json={"stage_id": pipeline["stages"][stage]["id"], "version": deal["version"]})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _close(session: Any, deal: dict[str, Any], status: str, reason: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"version": deal["version"]}
    if reason:
        body["reason"] = reason
    resp = await session.post(f"/api/crm/deals/{deal['id']}/{status}", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _report(session: Any, name: str, **params: Any) -> dict[str, Any]:
    resp = await session.get(f"{BASE}/{name}", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _sums(items: list[dict[str, str]]) -> dict[str, str]:
    return {s["currency"]: s["value"] for s in items}


async def _sales_data(factory: Factory) -> tuple[TenantHandle, Any, dict[str, Any], dict[str, dict[str, Any]]]:
    """Six deals of one admin in one pipeline, with controlled timestamps:

    A EUR 1000 open in Lead · B EUR 2000 open in Angebot (own probability 25) · C CHF 3000 open in Angebot
    D EUR 5000 Lead → Angebot → Verhandlung → won (10 days) · E EUR 700 Lead → Angebot → lost "Preis zu hoch"
    (4 days) · F EUR 300 lost "Kein Budget" in Lead (2 days).
    """
    tenant = await factory.tenant(modules=("crm",), name="Musterfirma Vertrieb GmbH")
    admin = await factory.member(tenant, "admin")
    pipeline = await _pipeline(admin)
    today = utcnow().date()
    deals = {"A": await _deal(admin, pipeline, 0, "1000.00", expected_close_date=today.isoformat()),
             "B": await _deal(admin, pipeline, 1, "2000.00", probability=25,
                              expected_close_date=_next_month(today).isoformat()),
             "C": await _deal(admin, pipeline, 1, "3000.00", currency="CHF",
                              expected_close_date=_next_month(today).isoformat())}
    d = await _deal(admin, pipeline, 0, "5000.00")
    d = await _move(admin, d, pipeline, 1)
    d = await _move(admin, d, pipeline, 2)
    deals["D"] = await _close(admin, d, "won")
    e = await _move(admin, await _deal(admin, pipeline, 0, "700.00"), pipeline, 1)
    deals["E"] = await _close(admin, e, "lost", "Preis zu hoch")
    deals["F"] = await _close(admin, await _deal(admin, pipeline, 0, "300.00"), "lost", "Kein Budget")

    # Controlled durations: created N days before closing; each finished stay lasts a known number of days.
    now = utcnow()
    lifetimes = {"D": 10, "E": 4, "F": 2}
    stays = {("D", 0): 2, ("D", 1): 3, ("D", 2): 5, ("E", 0): 1, ("E", 1): 5, ("F", 0): 3}
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        for key, days in lifetimes.items():
            deal_id = uuid.UUID(deals[key]["id"])
            closed = {"won_at": now} if key == "D" else {"lost_at": now}
            await session.execute(update(Deal).where(Deal.id == deal_id)
                                  .values(created_at=now - dt.timedelta(days=days), **closed))
        for (key, stage), days in stays.items():
            await session.execute(update(DealStageHistory).where(
                DealStageHistory.deal_id == uuid.UUID(deals[key]["id"]),
                DealStageHistory.stage_id == uuid.UUID(pipeline["stages"][stage]["id"]))
                .values(entered_at=now - dt.timedelta(days=days), left_at=now))
    return tenant, admin, pipeline, deals


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=7)).replace(day=15)


# --- figures -----------------------------------------------------------------------------------------


async def test_report_figures_on_hand_built_data(factory):
    tenant, admin, pipeline, deals = await _sales_data(factory)
    stage_ids = [s["id"] for s in pipeline["stages"]]

    value = await _report(admin, "pipeline-value")  # the only pipeline is the default
    assert value["pipeline"]["id"] == pipeline["id"]
    rows = {s["stage_id"]: s for s in value["stages"]}
    assert [s["stage_id"] for s in value["stages"]] == stage_ids
    assert (rows[stage_ids[0]]["count"], _sums(rows[stage_ids[0]]["values"]),
            _sums(rows[stage_ids[0]]["weighted"])) == (1, {"EUR": "1000.00"}, {"EUR": "100.00"})
    # two currencies in one stage stay apart; B's own probability (25 %) beats the stage's 50 %
    assert rows[stage_ids[1]]["count"] == 2
    assert _sums(rows[stage_ids[1]]["values"]) == {"CHF": "3000.00", "EUR": "2000.00"}
    assert _sums(rows[stage_ids[1]]["weighted"]) == {"CHF": "1500.00", "EUR": "500.00"}
    assert rows[stage_ids[2]]["count"] == 0 and rows[stage_ids[2]]["values"] == []
    assert value["count"] == 3
    assert _sums(value["values"]) == {"CHF": "3000.00", "EUR": "3000.00"}
    assert _sums(value["weighted"]) == {"CHF": "1500.00", "EUR": "600.00"}

    funnel = await _report(admin, "funnel", pipeline_id=pipeline["id"])
    assert funnel["deals"] == 6
    assert [(s["reached"], s["dropped"]) for s in funnel["stages"]] == [(6, 2), (4, 3), (1, 0)]
    assert [s["rate_from_previous"] for s in funnel["stages"]] == ["100.0", "66.7", "25.0"]
    assert [s["rate_from_start"] for s in funnel["stages"]] == ["100.0", "66.7", "16.7"]
    assert (funnel["won"], funnel["lost"], funnel["open"], funnel["win_rate"]) == (1, 2, 3, "16.7")

    durations = await _report(admin, "durations")
    assert (durations["won_count"], durations["won_average_days"]) == (1, "10.0")
    assert (durations["lost_count"], durations["lost_average_days"]) == (2, "3.0")
    assert durations["closed_average_days"] == "5.3"
    assert [(s["stays"], s["average_days"]) for s in durations["stages"]] == [(3, "2.0"), (2, "4.0"), (1, "5.0")]

    win_loss = await _report(admin, "win-loss")
    assert (win_loss["won"], win_loss["lost"], win_loss["win_rate"]) == (1, 2, "33.3")
    assert _sums(win_loss["won_values"]) == {"EUR": "5000.00"}
    assert _sums(win_loss["lost_values"]) == {"EUR": "1000.00"}
    assert [(r["reason"], r["count"], _sums(r["values"])) for r in win_loss["reasons"]] == [
        ("Kein Budget", 1, {"EUR": "300.00"}), ("Preis zu hoch", 1, {"EUR": "700.00"})]

    owners = await _report(admin, "owners")
    assert [(o["owner_id"], o["won"], o["lost"], o["win_rate"], _sums(o["revenue"])) for o in owners["owners"]] == [
        (str(admin.user_id), 1, 2, "33.3", {"EUR": "5000.00"})]

    # a deal won a year ago counts for the same month last year, not for this year's figures
    today = utcnow().date()
    g = await _close(admin, await _deal(admin, pipeline, 0, "800.00"), "won")
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        await session.execute(update(Deal).where(Deal.id == uuid.UUID(g["id"]))
                              .values(won_at=utcnow().replace(year=today.year - 1, day=min(today.day, 28))))
    forecast = await _report(admin, "forecast")
    this_month, next_month = today.strftime("%Y-%m"), _next_month(today).strftime("%Y-%m")
    assert len(forecast["months"]) == 12 and forecast["months"][5] == this_month
    assert forecast["currencies"] == ["CHF", "EUR"]
    rows = {(r["month"], r["currency"]): r for r in forecast["rows"]}
    assert len(rows) == 24  # every month for every currency
    now_eur = rows[(this_month, "EUR")]
    assert (now_eur["count"], now_eur["weighted"], now_eur["won"], now_eur["previous_year_won"]) == (
        1, "100.00", "5000.00", "800.00")
    assert (rows[(next_month, "EUR")]["weighted"], rows[(next_month, "EUR")]["value"]) == ("500.00", "2000.00")
    assert (rows[(next_month, "CHF")]["weighted"], rows[(next_month, "CHF")]["won"]) == ("1500.00", "0.00")
    # the trend is a straight line: equal steps from month to month
    trend = [float(rows[(m, "EUR")]["trend"]) for m in forecast["months"]]
    steps = {round(b - a, 1) for a, b in zip(trend, trend[1:], strict=False)}
    assert max(steps) - min(steps) <= 0.02


async def test_filters_narrow_every_report(factory):
    tenant, admin, pipeline, deals = await _sales_data(factory)
    other = await _pipeline(admin, "Upsell")
    await _close(admin, await _deal(admin, other, 0, "9999.00"), "won")

    # pipeline
    assert _sums((await _report(admin, "win-loss", pipeline_id=pipeline["id"]))["won_values"]) == {"EUR": "5000.00"}
    assert _sums((await _report(admin, "win-loss"))["won_values"]) == {"EUR": "14999.00"}
    assert (await _report(admin, "pipeline-value", pipeline_id=other["id"]))["count"] == 0
    # currency
    value = await _report(admin, "pipeline-value", pipeline_id=pipeline["id"], currency="chf")
    assert (value["count"], _sums(value["values"])) == (1, {"CHF": "3000.00"})
    # period: nothing was closed last year
    last_year = utcnow().date().year - 1
    period = {"date_from": f"{last_year}-01-01", "date_to": f"{last_year}-12-31"}
    closed = await _report(admin, "win-loss", **period)
    assert (closed["won"], closed["lost"], closed["win_rate"], closed["reasons"]) == (0, 0, None, [])
    assert (await _report(admin, "funnel", pipeline_id=pipeline["id"], **period))["deals"] == 0
    assert (await _report(admin, "owners", **period))["owners"] == []
    today = utcnow().date().isoformat()
    assert (await _report(admin, "win-loss", date_from=today, date_to=today))["won"] == 2
    # owner and team
    manager = await factory.member(tenant, "manager")
    await _close(admin, await _deal(admin, pipeline, 0, "400.00", owner_id=str(manager.user_id)), "won")
    mine = await _report(admin, "owners", owner_id=str(manager.user_id))
    assert [(o["owner_id"], _sums(o["revenue"])) for o in mine["owners"]] == [(str(manager.user_id),
                                                                               {"EUR": "400.00"})]
    team = await admin.post("/api/teams", json={"name": "Außendienst"})
    assert team.status_code == 201, team.text
    added = await admin.put(f"/api/teams/{team.json()['id']}/members", json={"user_ids": [str(manager.user_id)]})
    assert added.status_code == 200, added.text
    by_team = await _report(admin, "win-loss", team_id=team.json()["id"])
    assert (by_team["won"], _sums(by_team["won_values"])) == (1, {"EUR": "400.00"})


async def test_reports_respect_the_record_scope(factory):
    tenant, admin, pipeline, deals = await _sales_data(factory)
    staff = await factory.member(tenant, "staff")
    own = await _deal(admin, pipeline, 1, "250.00", owner_id=str(staff.user_id))
    await _close(admin, await _deal(admin, pipeline, 0, "120.00", owner_id=str(staff.user_id)), "won")

    # staff read every deal by default: the whole company's figures
    assert (await _report(staff, "pipeline-value"))["count"] == 4
    # with an "own" read scope they see only their own deals in every report
    roles = {r["name"]: r for r in (await admin.get("/api/roles")).json()}
    resp = await admin.patch(f"/api/roles/{roles['staff']['id']}",
                             json={"version": roles["staff"]["version"], "grants": {"crm.deal:read": "own"}})
    assert resp.status_code == 200, resp.text
    value = await _report(staff, "pipeline-value")
    assert (value["count"], _sums(value["values"])) == (1, {"EUR": "250.00"})
    assert [s["count"] for s in value["stages"]] == [0, 1, 0]
    win_loss = await _report(staff, "win-loss")
    assert (win_loss["won"], win_loss["lost"], _sums(win_loss["won_values"])) == (1, 0, {"EUR": "120.00"})
    assert [o["owner_id"] for o in (await _report(staff, "owners"))["owners"]] == [str(staff.user_id)]
    assert (await _report(staff, "funnel"))["deals"] == 2
    forecast = await _report(staff, "forecast")
    assert {r["currency"] for r in forecast["rows"]} == {"EUR"}
    assert sum(float(r["won"]) for r in forecast["rows"]) == 120.0
    csv_text = (await staff.get(f"{BASE}/win-loss/export", params={"format": "csv"})).text
    assert "5000.00" not in csv_text and "120.00" in csv_text
    # the admin still sees everything
    assert (await _report(admin, "pipeline-value"))["count"] == 4
    assert own["owner_id"] == str(staff.user_id)


# --- exports -----------------------------------------------------------------------------------------


async def test_csv_export_is_parseable(factory):
    tenant, admin, pipeline, deals = await _sales_data(factory)
    resp = await admin.get(f"{BASE}/pipeline-value/export", params={"format": "csv", "lang": "en"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"] and ".csv" in resp.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert list(rows[0]) == ["Stage", "Probability %", "Currency", "Count", "Value", "Weighted"]
    offer = [r for r in rows if r["Stage"] == "Angebot"]
    assert [(r["Currency"], r["Count"], r["Value"], r["Weighted"]) for r in offer] == [
        ("CHF", "2", "3000.00", "1500.00"), ("EUR", "", "2000.00", "500.00")]

    german = await admin.get(f"{BASE}/win-loss/export", params={"format": "csv"})
    table = list(csv.reader(io.StringIO(german.text)))
    assert table[0] == ["Status", "Verlustgrund", "Anzahl", "Währung", "Wert"]
    assert ["Gewonnen", "", "1", "EUR", "5000.00"] in table
    assert ["Verloren", "Preis zu hoch", "1", "EUR", "700.00"] in table

    for name in ("funnel", "durations", "owners", "forecast"):
        resp = await admin.get(f"{BASE}/{name}/export", params={"format": "csv"})
        assert resp.status_code == 200, resp.text
        parsed = list(csv.reader(io.StringIO(resp.text)))
        assert len(parsed) > 1 and all(len(r) == len(parsed[0]) for r in parsed)


def _pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def test_pdf_export_shows_company_period_and_figures(factory):
    tenant, admin, pipeline, deals = await _sales_data(factory)
    today = utcnow().date()
    resp = await admin.get(f"{BASE}/win-loss/export", params={
        "format": "pdf", "date_from": today.replace(day=1).isoformat(), "date_to": today.isoformat()})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/pdf"
    text = _pdf_text(resp.content)
    assert "Musterfirma Vertrieb GmbH" in text
    assert "Gewonnen / Verloren" in text
    assert today.replace(day=1).strftime("%d.%m.%Y") in text
    assert "5.000,00" in text and "Preis zu hoch" in text and "33,3" in text

    english = _pdf_text((await admin.get(f"{BASE}/pipeline-value/export",
                                         params={"format": "pdf", "lang": "en"})).content)
    assert "Pipeline value" in english and "all time" in english and "Neugeschäft" in english
    assert "3,000.00" in english and "1,500.00" in english


# --- bad input ---------------------------------------------------------------------------------------


async def test_bad_filters_are_422_problems(factory):
    tenant = await factory.tenant(modules=("crm",))
    admin = await factory.member(tenant, "admin")
    await _pipeline(admin)
    resp = await admin.get(f"{BASE}/win-loss", params={"currency": "XYZ"})
    assert resp.status_code == 422 and _code(resp) == "validation_error"
    assert resp.json()["errors"][0]["field"] == "currency"
    resp = await admin.get(f"{BASE}/funnel", params={"date_from": "2026-05-01", "date_to": "2026-04-01"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "date_to"
    resp = await admin.get(f"{BASE}/owners", params={"date_from": "gestern"})
    assert resp.status_code == 422 and _code(resp) == "validation_error"
    resp = await admin.get(f"{BASE}/pipeline-value", params={"pipeline_id": "nope"})
    assert resp.status_code == 422 and _code(resp) == "validation_error"
    resp = await admin.get(f"{BASE}/forecast", params={"date_from": "2020-01-01", "date_to": "2026-01-01"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "date_to"
    resp = await admin.get(f"{BASE}/funnel/export", params={"format": "xls"})
    assert resp.status_code == 422 and _code(resp) == "validation_error"
    resp = await admin.get(f"{BASE}/umsatz/export", params={"format": "csv"})
    assert resp.status_code == 422 and _code(resp) == "validation_error"
    resp = await admin.get(f"{BASE}/pipeline-value", params={"pipeline_id": str(uuid.uuid4())})
    assert resp.status_code == 404 and _code(resp) == "pipeline_not_found"
    # no pipeline at all: empty reports, not errors
    empty = await factory.tenant(modules=("crm",))
    nobody = await factory.member(empty, "admin")
    assert (await _report(nobody, "pipeline-value"))["stages"] == []
    assert (await _report(nobody, "funnel"))["deals"] == 0
    external = await factory.member(tenant, "external")
    resp = await external.get(f"{BASE}/win-loss")
    assert resp.status_code == 403 and _code(resp) == "permission_denied"


# --- rescoring after a rule change -------------------------------------------------------------------


async def _run_rescoring(runtime: Any) -> None:
    worker = Worker(runtime, names=[RESCORE_JOB], concurrency=1)
    while await worker.run_once():
        pass


async def test_rule_changes_rescore_open_leads_in_the_background(factory, monkeypatch):
    from xynap.modules.crm import jobs as crm_jobs

    monkeypatch.setattr(crm_jobs, "RESCORE_BATCH", 2)  # several batches with a few leads
    tenant = await factory.tenant(modules=("crm",))
    admin = await factory.member(tenant, "admin")
    settings = (await admin.get("/api/crm/lead-settings")).json()
    resp = await admin.put("/api/crm/lead-settings", json={"version": settings.get("version"), "score_threshold": 40,
                                                          "routing_rules": [], "round_robin_user_ids": []})
    assert resp.status_code == 200, resp.text
    leads = []
    for i, company in enumerate(("Hartmann Metallbau", "Café Krüger", None, "Zimmermann IT", "Neumann")):
        resp = await admin.post("/api/crm/leads", json={"first_name": f"P{i}", "company_name": company,
                                                        "data": {"branche": "IT" if i % 2 else "Handel"}})
        assert resp.status_code == 201, resp.text
        leads.append(resp.json())
    # a converted-like closed lead is left alone
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        await session.execute(update(Lead).where(Lead.id == uuid.UUID(leads[4]["id"])).values(status="disqualified"))

    resp = await admin.post("/api/crm/score-rules", json={"name": "Firmenkunde", "field": "company_name",
                                                          "operator": "exists", "points": 30})
    assert resp.status_code == 201, resp.text
    rule = resp.json()
    job_id = rule["rescore_job_id"]
    assert job_id
    # a second change while the first job still waits reuses it (it reads the rules when it starts)
    resp = await admin.post("/api/crm/score-rules", json={"name": "IT", "field": "data.branche",
                                                          "operator": "equals", "value": "it", "points": 15})
    it_rule = resp.json()
    assert it_rule["rescore_job_id"] == job_id
    status = (await admin.get("/api/crm/score-rules/rescoring")).json()
    assert (status["job_id"], status["status"]) == (job_id, "queued")
    # nothing changes before the job ran
    assert (await admin.get(f"/api/crm/leads/{leads[0]['id']}")).json()["score"] == 0

    await _run_rescoring(factory.runtime)
    scores = [(await admin.get(f"/api/crm/leads/{lead['id']}")).json()["score"] for lead in leads]
    assert scores == [30, 45, 0, 45, 0]
    detail = (await admin.get(f"/api/crm/leads/{leads[1]['id']}")).json()
    assert sorted(e["reason"] for e in detail["score_history"]) == ["Regel „Firmenkunde“ trifft zu",
                                                                    "Regel „IT“ trifft zu"]
    status = (await admin.get("/api/crm/score-rules/rescoring")).json()
    assert status["status"] == "succeeded" and (status["done"], status["total"]) == (4, 4)
    assert status["result"] == {"leads": 4, "changed": 3, "rules": 2}
    crossed = await _threshold_events(factory, tenant)
    assert sorted(e["id"] for e in crossed) == sorted([leads[1]["id"], leads[3]["id"]])

    # a new name changes no score: no job
    resp = await admin.patch(f"/api/crm/score-rules/{it_rule['id']}", json={"version": it_rule["version"],
                                                                            "name": "Branche IT"})
    assert resp.status_code == 200 and resp.json()["rescore_job_id"] is None
    # fewer points: the leads give back the difference; a second run changes nothing
    resp = await admin.patch(f"/api/crm/score-rules/{rule['id']}", json={"version": rule["version"], "points": 10})
    second = resp.json()["rescore_job_id"]
    assert second and second != job_id
    await _run_rescoring(factory.runtime)
    assert (await admin.get(f"/api/crm/leads/{leads[0]['id']}")).json()["score"] == 10
    before = await _history_count(factory, tenant)
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        await crm_jobs.enqueue_rescore(session, "test")
    await _run_rescoring(factory.runtime)
    assert await _history_count(factory, tenant) == before
    # deleted: its points are taken back, with the reason; the job id is in a header
    resp = await admin.delete(f"/api/crm/score-rules/{it_rule['id']}")
    assert resp.status_code == 204 and resp.headers["x-rescore-job"]
    await _run_rescoring(factory.runtime)
    detail = (await admin.get(f"/api/crm/leads/{leads[1]['id']}")).json()
    assert detail["score"] == 10
    # (a deleted rule is named as it was when it granted the points: its name lives on in the history)
    assert detail["score_history"][-1]["reason"] == "Regel „IT“ entfällt"
    assert len(await _threshold_events(factory, tenant)) == 2  # no new upward crossing
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        assert (await session.scalar(select(Lead.score).where(Lead.id == uuid.UUID(leads[4]["id"])))) == 0
        jobs = list(await session.scalars(select(Job).where(Job.name == RESCORE_JOB)))
        assert {j.status for j in jobs} == {"succeeded"} and len(jobs) == 4

    # other companies see neither the jobs nor their status
    other = await factory.member(await factory.tenant(modules=("crm",)), "admin")
    resp = await other.get("/api/crm/score-rules/rescoring")
    assert resp.status_code == 200 and resp.json() is None
    staff = await factory.member(tenant, "staff")
    assert (await staff.get("/api/crm/score-rules/rescoring")).json()["status"] == "succeeded"
    assert (await staff.post("/api/crm/score-rules", json={"name": "x", "field": "email", "operator": "exists",
                                                           "points": 1})).status_code == 403


async def _threshold_events(factory: Factory, tenant: TenantHandle) -> list[dict[str, Any]]:
    async with factory.runtime.db.platform_session() as session:
        rows = await session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == tenant.id,
                                                               OutboxEvent.name == "lead.score_threshold"))
        return [r.payload for r in rows]


async def _history_count(factory: Factory, tenant: TenantHandle) -> int:
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        return len(list(await session.scalars(select(LeadScoreEvent.id))))
