"""The deal page's timeline in the browser: entries are rendered from the event and its payload in the
user's language (German by default, English after switching), not from the stored German summary."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.e2e.support import Server, api_login, eventually, login


def test_deal_timeline_speaks_the_users_language(page: Page, server: Server) -> None:
    title = f"Timeline{uuid.uuid4().hex[:6]}"
    with api_login(server) as client:
        pipeline = next(p for p in client.get("/api/crm/pipelines").json() if p["is_default"])
        stage_ids = {s["name"]: s["id"] for s in pipeline["stages"]}
        created = client.post("/api/crm/deals", json={"title": title, "pipeline_id": pipeline["id"],
                                                      "stage_id": stage_ids["Lead"]})
        created.raise_for_status()
        deal = created.json()
        client.post(f"/api/crm/deals/{deal['id']}/move",
                    json={"stage_id": stage_ids["Angebot"], "version": deal["version"]}).raise_for_status()

    def recorded() -> list[str]:  # the timeline is written by the CRM's event handler after the commit
        with api_login(server) as client:
            page_ = client.get("/api/activities", params={"entity_type": "deal", "entity_id": deal["id"]}).json()
            return [a["details"]["event"] for a in page_["items"]]

    eventually(recorded, ["deal.stage_changed", "deal.created"])

    login(page)
    page.goto(f"/crm/deals/{deal['id']}")
    expect(page.get_by_test_id("deal-title")).to_have_text(title)
    entries = page.get_by_test_id("deal-timeline").locator("li")
    expect(entries).to_have_count(2)
    # newest first: label (the event) and text (event + payload), German by default
    expect(entries.nth(0)).to_contain_text("Phase gewechselt")
    expect(entries.nth(0)).to_contain_text(f"Deal „{title}“ in Phase „Angebot“ verschoben")
    expect(entries.nth(1)).to_contain_text("Deal angelegt")
    expect(entries.nth(1)).to_contain_text(f"Deal angelegt: {title}")

    page.get_by_test_id("lang-en").click()
    expect(entries.nth(0)).to_contain_text("Stage changed")
    expect(entries.nth(0)).to_contain_text(f"Deal “{title}” moved to stage “Angebot”")  # stage names are data
    expect(entries.nth(1)).to_contain_text(f"Deal created: {title}")
    expect(page.get_by_test_id("deal-timeline")).not_to_contain_text("verschoben")
