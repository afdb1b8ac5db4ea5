"""CRM settings in the browser, on the demo company: a pipeline created with its stages and reordered by drag &
drop and by the keyboard buttons (order checked through the API); a scoring rule with its one-sentence meaning
and the background rescoring it queues; a routing rule; a web form with an extra field, its embed code copied and
pasted into a "website" that posts a lead through the public form endpoint — the lead arrives scored and routed
(API and lead list); the pages on a phone in English; read-only for staff."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import STAFF_EMAIL, Server, api_login, eventually, login, open_crm_tab


def pipeline_named(server: Server, name: str) -> dict:
    with api_login(server) as client:
        found = [p for p in client.get("/api/crm/pipelines").json() if p["name"] == name]
    assert len(found) == 1, found
    return found[0]


def stage_names(server: Server, name: str) -> list[str]:
    return [s["name"] for s in sorted(pipeline_named(server, name)["stages"], key=lambda s: s["position"])]



def stage_row(page: Page, name: str):
    return page.get_by_test_id("stage-list").locator("li", has=page.locator("[data-stage-name]", has_text=name))


def test_pipeline_scoring_routing_and_web_form(page: Page, context, server: Server, artifacts) -> None:
    suffix = uuid.uuid4().hex[:6]
    login(page)

    # --- a pipeline with its first stages -------------------------------------------------------------
    page.goto("/crm/settings/pipelines")
    expect(page.get_by_role("heading", name="Pipelines", exact=True)).to_be_visible()
    expect(page.get_by_test_id("pipeline-list")).to_contain_text("Neugeschäft")
    page.get_by_test_id("pipeline-new").click()
    dialog = page.get_by_role("dialog", name="Neue Pipeline")
    dialog.get_by_test_id("pipeline-create").click()  # no name: refused at the field
    expect(dialog.locator("#pipeline-new-name-error")).to_have_text("Bitte einen Namen eingeben.")
    name = f"Projekte {suffix}"
    dialog.get_by_label("Name der Pipeline").fill(name)
    dialog.get_by_label("Wahrscheinlichkeit der Phase 2 in Prozent").fill("30")
    dialog.get_by_test_id("pipeline-create").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("pipeline-detail").get_by_label("Name der Pipeline")).to_have_value(name)
    assert stage_names(server, name) == ["Lead", "Qualifiziert", "Angebot", "Verhandlung", "Abschluss"]
    assert pipeline_named(server, name)["stages"][1]["probability"] == 30

    # a stage with a colour, probability and rotting days; a wrong probability is shown at its field
    page.get_by_test_id("stage-add").click()
    dialog = page.get_by_role("dialog", name="Phase hinzufügen")
    dialog.get_by_label("Name der Phase").fill("Vertrag")
    dialog.get_by_label("Wahrscheinlichkeit (%)").fill("150")
    dialog.get_by_test_id("stage-save").click()
    expect(dialog.locator("#stage-probability-error")).to_be_visible()
    dialog.get_by_label("Wahrscheinlichkeit (%)").fill("95")
    dialog.get_by_label("Warnung nach Tagen").fill("7")
    dialog.get_by_label("#22c55e").check(force=True)
    dialog.get_by_test_id("stage-save").click()
    expect(dialog).to_be_hidden()
    expect(stage_row(page, "Vertrag")).to_contain_text("95 %")
    stored = {s["name"]: s for s in pipeline_named(server, name)["stages"]}["Vertrag"]
    assert (stored["color"], stored["probability"], stored["rotting_days"]) == ("#22c55e", 95, 7)

    # drag "Vertrag" onto "Qualifiziert": it takes that place; the order is saved at once
    stage_row(page, "Vertrag").drag_to(stage_row(page, "Qualifiziert"))
    expected = ["Lead", "Vertrag", "Qualifiziert", "Angebot", "Verhandlung", "Abschluss"]
    expect(page.locator("[data-stage-name]")).to_have_text(expected)
    eventually(lambda: stage_names(server, name), expected)
    # the keyboard path: the "down" button, focus stays on the moved stage's button
    page.get_by_role("button", name="„Vertrag“ nach unten").click()
    expected = ["Lead", "Qualifiziert", "Vertrag", "Angebot", "Verhandlung", "Abschluss"]
    expect(page.locator("[data-stage-name]")).to_have_text(expected)
    expect(page.get_by_role("button", name="„Vertrag“ nach unten")).to_be_focused()
    page.keyboard.press("Enter")
    expected = ["Lead", "Qualifiziert", "Angebot", "Vertrag", "Verhandlung", "Abschluss"]
    expect(page.locator("[data-stage-name]")).to_have_text(expected)
    eventually(lambda: stage_names(server, name), expected)
    page.screenshot(path=artifacts / "crm-settings-pipelines.png", full_page=True)

    # a pipeline with deals cannot be deleted: said in words, nothing is lost
    page.get_by_test_id("pipeline-list").get_by_role("button", name=re.compile("Neugeschäft")).click()
    page.get_by_test_id("pipeline-delete").click()
    page.get_by_test_id("confirm").click()
    expect(page.get_by_role("dialog")).to_contain_text("Diese Pipeline enthält noch Deals.")
    page.keyboard.press("Escape")
    pipeline_named(server, "Neugeschäft")

    # --- a scoring rule ------------------------------------------------------------------------------
    open_crm_tab(page, "Lead-Scoring")
    expect(page.get_by_role("heading", name="Lead-Scoring", exact=True)).to_be_visible()
    expect(page.get_by_test_id("rule-list")).to_contain_text(
        "Leads, bei denen das Feld „Nachricht“ „Angebot“ enthält, bekommen 25 Punkte.")
    page.get_by_test_id("rule-new").click()
    dialog = page.get_by_role("dialog", name="Neue Regel")
    rule_name = f"Mittelstand {suffix}"
    dialog.get_by_label("Name der Regel").fill(rule_name)
    dialog.get_by_label("Merkmal").select_option("data")
    dialog.get_by_label("Schlüssel des Formularfelds").fill("anzahl_mitarbeiter")
    dialog.get_by_label("Vergleich").select_option("equals")
    dialog.get_by_label("Wert").fill("50")
    dialog.get_by_label("Punkte").fill("0")
    dialog.get_by_label("Punkte").blur()
    expect(dialog.locator("#rule-points-error")).to_have_text("Eine Regel mit 0 Punkten bewirkt nichts.")
    dialog.get_by_label("Punkte").fill("15")
    expect(dialog.get_by_test_id("rule-sentence")).to_contain_text(
        "Leads, bei denen das Formularfeld „anzahl_mitarbeiter“ gleich „50“ ist, bekommen 15 Punkte.")
    dialog.get_by_test_id("rule-save").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("rule-list")).to_contain_text(rule_name)
    # existing leads are rescored in the background: this server runs no worker, so the job waits for one
    expect(page.get_by_test_id("rescore-status")).to_contain_text("Bestehende Leads werden neu bewertet")
    page.screenshot(path=artifacts / "crm-settings-scoring.png", full_page=True)
    with api_login(server) as client:
        job = client.get("/api/crm/score-rules/rescoring").json()
    assert job["status"] == "queued"
    with api_login(server) as client:
        rules = {r["name"]: r for r in client.get("/api/crm/score-rules").json()}
    assert rules[rule_name]["field"] == "data.anzahl_mitarbeiter" and rules[rule_name]["points"] == 15

    # --- routing: region Süd goes to Julia Weber -----------------------------------------------------------
    with api_login(server) as client:
        users = {u["email"]: u for u in client.get("/api/users", params={"limit": 200}).json()["items"]}
    julia = users[STAFF_EMAIL]
    open_crm_tab(page, "Lead-Verteilung")
    expect(page.get_by_role("heading", name="Lead-Verteilung", exact=True)).to_be_visible()
    page.get_by_test_id("routing-add-field").click()
    rule = page.get_by_test_id("routing-rules").locator("> li").last
    rule.get_by_label("Feld").fill("region")
    page.get_by_test_id("routing-save").click()  # incomplete: said at the rule
    expect(rule.get_by_text("Bitte einen Wert angeben.")).to_be_visible()
    rule.get_by_label("ist gleich").fill("Süd")
    rule.get_by_label("Zuständig").select_option(julia["id"])
    page.get_by_test_id("routing-save").click()
    expect(page.get_by_text("Verteilung gespeichert.")).to_be_visible()
    with api_login(server) as client:
        routing = client.get("/api/crm/lead-settings").json()["routing_rules"]
    assert {"kind": "field", "field": "region", "value": "Süd", "tag_id": None, "user_id": julia["id"]} in routing

    # --- a web form, its embed code, a lead through the public endpoint --------------------------------
    open_crm_tab(page, "Web-Formulare")
    expect(page.get_by_role("heading", name="Web-Formulare", exact=True)).to_be_visible()
    page.get_by_test_id("form-new").click()
    form_name = f"Website {suffix}"
    page.get_by_label("Name (nur intern)").fill(form_name)
    page.get_by_label("Bezeichnung des neuen Felds, z. B. Branche").fill("Anzahl Mitarbeiter")
    expect(page.get_by_text("Schlüssel: data.anzahl_mitarbeiter")).to_be_visible()
    page.get_by_test_id("form-add-field").click()
    expect(page.get_by_test_id("form-preview")).to_contain_text("Anzahl mitarbeiter")
    page.get_by_label("Bezeichnung des neuen Felds, z. B. Branche").fill("Email")
    page.get_by_test_id("form-add-field").click()
    expect(page.get_by_text("Das ist ein Standardfeld.")).to_be_visible()
    page.get_by_label("Bezeichnung des neuen Felds, z. B. Branche").fill("")
    page.get_by_label("Dankestext").fill("Danke, wir rufen an!")
    page.get_by_test_id("form-save").click()
    expect(page.get_by_test_id("embed-code")).to_have_value(re.compile(r"<form class=\"xynap-lead-form\""))
    with api_login(server) as client:
        form = {f["name"]: f for f in client.get("/api/crm/lead-forms").json()}[form_name]
    assert form["extra_fields"] == ["anzahl_mitarbeiter"] and form["success_message"] == "Danke, wir rufen an!"
    expect(page.get_by_test_id("form-key")).to_have_text(form["form_key"])
    code = page.get_by_test_id("embed-code").input_value()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_test_id("embed-copy").click()
    expect(page.get_by_test_id("embed-copy")).to_contain_text("Kopiert")
    assert page.evaluate("navigator.clipboard.readText()") == code
    assert f'/api/crm/public/forms/{form["form_key"]}"' in code and 'name="anzahl_mitarbeiter"' in code
    page.screenshot(path=artifacts / "crm-settings-form.png", full_page=True)

    # a "company website" with the pasted code: a visitor fills it in and sends it
    site = context.new_page()
    site.set_content(f"<!doctype html><html><body><h1>Müller Maschinen</h1>{code}</body></html>")
    email = f"interessent-{suffix}@example.org"
    site.locator('input[name="first_name"]').fill("Nora")
    site.locator('input[name="last_name"]').fill("Schmid")
    site.locator('input[name="company_name"]').fill("Schmid Werkzeugbau")
    site.locator('input[name="email"]').fill(email)
    site.locator('input[name="region"]').fill("Süd")
    site.locator('textarea[name="message"]').fill("Bitte ein Angebot für die Wartung.")
    site.locator('input[name="anzahl_mitarbeiter"]').fill("50")
    site.get_by_role("button", name="Absenden").click()
    expect(site.get_by_text("Danke, wir rufen an!")).to_be_visible()
    site.close()

    # scored (Firmenkunde 30 + Angebot angefragt 25 + the new rule 15) and routed (region Süd → Julia)
    with api_login(server) as client:
        found = client.get("/api/crm/leads", params={"q": email}).json()["items"]
        assert len(found) == 1, found
        lead = client.get(f"/api/crm/leads/{found[0]['id']}").json()
    assert lead["form_id"] == form["id"] and lead["source"] == "web_form"
    assert lead["data"] == {"anzahl_mitarbeiter": "50"}
    assert lead["score"] == 70, lead["score_history"]
    assert any(rule_name in entry["reason"] for entry in lead["score_history"])
    assert lead["owner_id"] == julia["id"] and lead["routed_at"] is not None

    # the form list counts the submission, the lead list shows the lead
    page.get_by_role("button", name="Abbrechen").click()  # back to the list
    expect(page.get_by_test_id("form-list").locator("li", has_text=form_name)).to_contain_text("Einsendungen: 1")
    open_crm_tab(page, "Leads")
    expect(page.locator(f'[data-lead="{lead["id"]}"]').first).to_contain_text("Schmid")


@pytest.mark.viewport(390, 844)
def test_settings_on_a_phone_in_english(page: Page, server: Server, artifacts) -> None:
    login(page)
    page.evaluate("localStorage.setItem('xynap.locale', 'en')")
    page.goto("/crm/settings/pipelines")
    expect(page.get_by_role("heading", name="Pipelines", exact=True)).to_be_visible()
    page.get_by_test_id("pipeline-list").get_by_role("button", name=re.compile("Upsell Bestandskunden")).click()
    expect(page.locator("[data-stage-name]")).to_have_text(["Bedarf erkannt", "Angebot"])
    expect(page.get_by_text("Drag to reorder, or use the arrow buttons")).to_be_visible()
    # the keyboard path on a phone: the arrow buttons
    page.get_by_role("button", name="Move “Angebot” up").click()
    expect(page.locator("[data-stage-name]")).to_have_text(["Angebot", "Bedarf erkannt"])
    eventually(lambda: stage_names(server, "Upsell Bestandskunden"), ["Angebot", "Bedarf erkannt"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
    page.screenshot(path=artifacts / "crm-settings-pipelines-phone-en.png", full_page=True)
    page.get_by_role("button", name="Move “Angebot” down").click()
    eventually(lambda: stage_names(server, "Upsell Bestandskunden"), ["Bedarf erkannt", "Angebot"])

    open_crm_tab(page, "Lead scoring")
    expect(page.get_by_role("heading", name="Lead scoring", exact=True)).to_be_visible()
    expect(page.get_by_test_id("rule-list")).to_contain_text("Leads with a company get 30 points.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    open_crm_tab(page, "Lead routing")
    expect(page.get_by_role("heading", name="Lead routing", exact=True)).to_be_visible()
    expect(page.get_by_test_id("routing-mode")).to_contain_text("Active: rules")
    page.get_by_test_id("routing-add-tag").click()
    page.get_by_test_id("routing-save").click()
    expect(page.get_by_text("Please pick a tag.")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts / "crm-settings-routing-phone-en.png", full_page=True)

    open_crm_tab(page, "Web forms")
    expect(page.get_by_role("heading", name="Web forms", exact=True)).to_be_visible()
    page.get_by_role("button", name="Open form “Kontaktformular Website”").click()
    expect(page.get_by_test_id("embed-code")).to_have_value(re.compile("xynap-lead-form"))
    expect(page.get_by_test_id("form-preview")).to_contain_text("Branche")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts / "crm-settings-form-phone-en.png", full_page=True)


def test_staff_sees_settings_read_only(page: Page, server: Server) -> None:
    login(page, STAFF_EMAIL)
    page.goto("/crm/settings/pipelines")
    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(page.locator("[data-stage-name]").first).to_be_visible()
    expect(page.locator("[data-move]")).to_have_count(0)
    expect(page.get_by_test_id("pipeline-new")).to_have_count(0)
