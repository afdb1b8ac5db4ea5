"""The CRM's acceptance path as one journey, in the browser as a new user would walk it (issue 5): create a
pipeline with its stages, send a lead through the embedded web form from a "company website", watch it arrive
scored (with reasons) and routed, convert it into a deal in the new pipeline, drag the deal stage by stage
across that pipeline's board and onto the "Gewonnen" drop zone, and see the dashboard's won figure go up by one.
Everything happens in the UI; the API only verifies what the UI claims."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.e2e.support import STAFF_EMAIL, Server, api_login, eventually, login, open_crm_tab

STAGES = ["Lead", "Qualifiziert", "Angebot", "Verhandlung", "Abschluss", "Abnahme"]





def column(page: Page, stage: str) -> Locator:
    return page.locator(f'[data-stage-name="{stage}"]')


def won_count(server: Server, pipeline_id: str) -> int:
    """Won deals of a pipeline in the dashboard's default period ("Dieses Jahr"), from the API."""
    year = dt.date.today().year
    with api_login(server) as client:
        response = client.get("/api/crm/reports/win-loss", params={
            "pipeline_id": pipeline_id, "date_from": f"{year}-01-01", "date_to": f"{year}-12-31"})
        response.raise_for_status()
        return response.json()["won"]


def dashboard_won(page: Page, server: Server, pipeline: dict) -> int:
    """Open the dashboard tab, switch it to `pipeline` and return the won figure it shows (checked against the
    API). The default pipeline's figures are awaited first, so the switch does not race the first load."""
    with api_login(server) as client:
        default = next(p for p in client.get("/api/crm/pipelines").json() if p["is_default"])
    open_crm_tab(page, "Dashboard")
    expect(page.get_by_role("heading", name="Vertriebs-Dashboard", exact=True)).to_be_visible()
    expect(page.get_by_test_id("kpi-won-count")).to_have_text(f"{won_count(server, default['id'])} Deals gewonnen")
    page.get_by_test_id("filter-pipeline").select_option(label=pipeline["name"])
    won = won_count(server, pipeline["id"])
    expect(page.get_by_test_id("kpi-won-count")).to_have_text(f"{won} Deals gewonnen")
    return won


def drag(page: Page, card: Locator, target: Locator, *, scroll: bool = True) -> None:
    """A mouse drag in small steps: press on the card, move a little (the drag starts and the won / lost bar
    appears), then over the target, and release."""
    # scroll first (a board wider than the screen): nothing may scroll while the mouse is down
    if scroll:
        target.scroll_into_view_if_needed()
    card.scroll_into_view_if_needed()
    box = card.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 15, y + 15, steps=5)
    expect(page.get_by_test_id("board-outcome-bar")).to_be_visible()
    to = target.bounding_box()
    assert to is not None
    page.mouse.move(to["x"] + to["width"] / 2, to["y"] + min(to["height"] / 2, 60), steps=10)


def drop_on_won(page: Page, card: Locator, screenshot: Path) -> None:
    """Drag a card onto the "Gewonnen" zone, which only exists while a card is dragged."""
    zone = page.get_by_test_id("board-drop-won")
    drag(page, card, page.get_by_test_id("board-outcome-bar"), scroll=False)  # the bar's middle lies between the zones
    expect(page.get_by_test_id("board-drop-lost")).to_have_text("Verloren")
    to = zone.bounding_box()
    assert to is not None
    page.mouse.move(to["x"] + to["width"] / 2, to["y"] + to["height"] / 2, steps=5)
    expect(zone).to_have_attribute("data-active", "true")
    page.screenshot(path=screenshot)
    page.mouse.up()


def test_lead_from_web_form_to_won_deal(page: Page, context, server: Server, artifacts) -> None:
    suffix = uuid.uuid4().hex[:6]
    pipeline_name = f"Projektgeschäft {suffix}"
    login(page)
    page.goto("/crm/settings/pipelines")

    # --- a new pipeline: the default stages plus one of our own -------------------------------------------
    expect(page.get_by_role("heading", name="Pipelines", exact=True)).to_be_visible()
    page.get_by_test_id("pipeline-new").click()
    dialog = page.get_by_role("dialog", name="Neue Pipeline")
    dialog.get_by_label("Name der Pipeline").fill(pipeline_name)
    dialog.get_by_test_id("pipeline-create").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("pipeline-detail").get_by_label("Name der Pipeline")).to_have_value(pipeline_name)
    page.get_by_test_id("stage-add").click()
    dialog = page.get_by_role("dialog", name="Phase hinzufügen")
    dialog.get_by_label("Name der Phase").fill("Abnahme")
    dialog.get_by_label("Wahrscheinlichkeit (%)").fill("95")
    dialog.get_by_test_id("stage-save").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("stage-list").locator("[data-stage-name]")).to_have_text(STAGES)
    with api_login(server) as client:
        pipeline = next(p for p in client.get("/api/crm/pipelines").json() if p["name"] == pipeline_name)
    assert [s["name"] for s in sorted(pipeline["stages"], key=lambda s: s["position"])] == STAGES

    # --- the dashboard before: nothing won in the new pipeline yet --------------------------------------
    won_before = dashboard_won(page, server, pipeline)

    # --- the demo web form's embed code on a "company website"; a visitor sends a lead -------------------
    open_crm_tab(page, "Web-Formulare")
    expect(page.get_by_role("heading", name="Web-Formulare", exact=True)).to_be_visible()
    page.get_by_role("button", name="Formular „Kontaktformular Website“ öffnen").click()
    expect(page.get_by_test_id("embed-code")).to_have_value(re.compile(r"<form class=\"xynap-lead-form\""))
    code = page.get_by_test_id("embed-code").input_value()
    site = context.new_page()
    site.set_content(f"<!doctype html><html><body><h1>Brandt Anlagenbau</h1>{code}</body></html>")
    last_name = f"Brandt-{suffix}"
    site.locator('input[name="first_name"]').fill("Lena")
    site.locator('input[name="last_name"]').fill(last_name)
    site.locator('input[name="company_name"]').fill(f"Brandt Anlagenbau {suffix}")
    site.locator('input[name="email"]').fill(f"lena-{suffix}@example.org")
    site.locator('input[name="region"]').fill("Nord")
    site.locator('input[name="branche"]').fill("Maschinenbau")
    site.locator('textarea[name="message"]').fill("Wir brauchen ein Angebot für zwei Anlagen.")
    site.get_by_role("button", name="Absenden").click()
    expect(site.get_by_text("Vielen Dank! Wir melden uns in Kürze.")).to_be_visible()
    site.close()

    # --- the lead list shows it; the lead page shows its score with reasons and its owner ---------------
    page.get_by_role("button", name="Abbrechen").click()  # leave the form editor
    open_crm_tab(page, "Leads")
    lead_link = page.get_by_test_id("leads-table").get_by_role("link", name=f"Lena {last_name}")
    expect(lead_link).to_be_visible()
    lead_link.click()
    expect(page.get_by_test_id("lead-name")).to_have_text(f"Lena {last_name}")
    with api_login(server) as client:
        found = client.get("/api/crm/leads", params={"q": last_name}).json()["items"]
        assert len(found) == 1, found
        lead = client.get(f"/api/crm/leads/{found[0]['id']}").json()
        julia = next(u for u in client.get("/api/users").json()["items"] if u["email"] == STAFF_EMAIL)
    # scored: Firmenkunde 30 + Angebot angefragt 25 + Branche Maschinenbau 20; routed: region Nord → Julia Weber
    assert lead["source"] == "web_form" and lead["score"] >= 75, lead["score_history"]
    assert lead["owner_id"] == julia["id"] and lead["routed_at"] is not None
    expect(page.get_by_test_id("lead-score")).to_have_text(str(lead["score"]))
    history = page.get_by_test_id("lead-score-history")
    for reason in ("Firmenkunde", "Angebot angefragt", "Branche Maschinenbau"):
        expect(history).to_contain_text(reason)
    expect(page.get_by_test_id("lead-owner")).to_have_value(julia["id"])

    # --- converted into a deal in the new pipeline --------------------------------------------------------
    page.get_by_test_id("lead-convert").click()
    dialog = page.get_by_test_id("convert-dialog")
    expect(dialog.get_by_test_id("convert-person")).to_be_visible()
    page.get_by_test_id("convert-next").click()
    dialog.get_by_label("Pipeline").select_option(label=pipeline_name)
    expect(dialog.get_by_label("Phase")).to_have_value(pipeline["stages"][0]["id"])
    deal_title = f"Brandt Anlagenbau {suffix}"
    dialog.get_by_label("Titel").fill(deal_title)
    dialog.get_by_label("Wert").fill("48000")
    page.get_by_test_id("convert-submit").click()
    expect(page).to_have_url(re.compile(r"/crm/deals/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("deal-title")).to_have_text(deal_title)
    deal_id = page.url.rsplit("/", 1)[1]
    with api_login(server) as client:
        deal = client.get(f"/api/crm/deals/{deal_id}").json()
        assert client.get(f"/api/crm/leads/{lead['id']}").json()["converted_deal_id"] == deal_id
    assert deal["pipeline_id"] == pipeline["id"] and deal["status"] == "open"

    # --- the new pipeline's board: stage by stage, then onto "Gewonnen" -----------------------------------
    open_crm_tab(page, "Board")
    expect(page.get_by_test_id("deal-board")).to_be_visible()
    page.get_by_test_id("board-pipeline").select_option(label=pipeline_name)
    expect(page.get_by_test_id("deal-board")).to_have_attribute("data-pipeline", pipeline["id"])
    expect(page.get_by_test_id("realtime-status")).to_have_attribute("data-state", "open")
    card = page.locator(f'[data-deal-card][data-title="{deal_title}"]')
    expect(column(page, "Lead").locator(card)).to_be_visible()
    stage_ids = {s["name"]: s["id"] for s in pipeline["stages"]}
    for stage in STAGES[1:]:
        drag(page, card, column(page, stage).locator("[data-dropzone]"))
        page.mouse.up()
        expect(column(page, stage).locator(card)).to_be_visible()
        expect(column(page, stage).get_by_test_id("stage-count")).to_have_text("1")
        eventually(lambda: api_deal(server, deal_id)["stage_id"], stage_ids[stage])
    expect(page.get_by_test_id("board-outcome-bar")).to_have_count(0)  # only while dragging
    drop_on_won(page, card, artifacts / "crm-journey-won-drop.png")
    expect(card).to_have_count(0)
    expect(page.get_by_text(f"„{deal_title}“ als gewonnen markiert.")).to_be_visible()
    expect(page.get_by_test_id("board-outcome-bar")).to_have_count(0)
    expect(column(page, "Abnahme").get_by_test_id("stage-count")).to_have_text("0")
    eventually(lambda: api_deal(server, deal_id)["status"], "won")
    page.screenshot(path=artifacts / "crm-journey-board.png", full_page=True)

    # --- the dashboard: one more deal won in this pipeline --------------------------------------------------
    assert dashboard_won(page, server, pipeline) == won_before + 1
    expect(page.get_by_test_id("kpi-won-value")).to_contain_text("48.000")
    page.screenshot(path=artifacts / "crm-journey-dashboard.png", full_page=True)


def api_deal(server: Server, deal_id: str) -> dict:
    with api_login(server) as client:
        response = client.get(f"/api/crm/deals/{deal_id}")
        response.raise_for_status()
        return response.json()
