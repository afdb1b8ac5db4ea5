"""The CRM sales dashboard in the browser: it renders on the demo company (KPI tiles, charts, the
home-dashboard widget), a deal won through the API changes the won figure on the open page without a
reload (live `deal.*` events), a report downloads as CSV, and the page works in English at phone width."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import Server, api_login, login


def _this_year(client) -> dict[str, str]:
    """The dashboard's default filters: the default pipeline and the period "Dieses Jahr", as the browser
    computes them (other tests may have won deals in pipelines of their own)."""
    today = dt.date.today()
    default = next(p for p in client.get("/api/crm/pipelines").json() if p["is_default"])
    return {"pipeline_id": default["id"], "date_from": f"{today.year}-01-01", "date_to": f"{today.year}-12-31"}


def test_dashboard_renders_and_follows_a_won_deal(page: Page, server: Server, artifacts) -> None:
    login(page)
    # the home dashboard's widget: open pipeline value per stage of the default pipeline
    widget = page.get_by_test_id("pipeline-value-widget")
    expect(widget).to_contain_text("Neugeschäft")
    expect(widget).to_contain_text("Angebot")

    page.goto("/crm/dashboard")
    expect(page.get_by_role("heading", name="Vertriebs-Dashboard", exact=True)).to_be_visible()
    for chart in ("pipeline-value", "funnel", "forecast", "owners", "win-loss", "durations"):
        expect(page.get_by_test_id(f"chart-{chart}").locator("svg")).to_be_attached()
    expect(page.locator('[data-report="win-loss"]')).to_contain_text("Preis zu hoch")

    with api_login(server) as client:
        filters = _this_year(client)
        before = client.get("/api/crm/reports/win-loss", params=filters).json()
        deal = client.get("/api/crm/deals", params={"status": "open", "limit": 1, "sort": "-value",
                                                    "pipeline_id": filters["pipeline_id"]}).json()["items"][0]
    won = page.get_by_test_id("kpi-won-count")
    expect(won).to_have_text(f"{before['won']} Deals gewonnen")
    page.screenshot(path=artifacts / "crm-dashboard.png", full_page=True)

    # won through the API (another session): the open page follows the deal.won event, no reload
    with api_login(server) as client:
        client.post(f"/api/crm/deals/{deal['id']}/won", json={"version": deal["version"]}).raise_for_status()
    expect(won).to_have_text(f"{before['won'] + 1} Deals gewonnen", timeout=20_000)
    with api_login(server) as client:
        after = client.get("/api/crm/reports/win-loss", params=_this_year(client)).json()
    eur = next(s["value"] for s in after["won_values"] if s["currency"] == "EUR")
    expect(page.get_by_test_id("kpi-won-value")).to_contain_text(f"{int(float(eur)):,}".replace(",", "."))

    # CSV export of a report downloads a parseable file
    with page.expect_download() as info:
        page.locator('[data-export="win-loss.csv"]').click()
    download = info.value
    assert download.suggested_filename.startswith("crm-win-loss-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    assert rows[0] == ["Status", "Verlustgrund", "Anzahl", "Währung", "Wert"]
    assert ["Gewonnen", "", str(after["won"]), "EUR", eur] in rows

    # the reopened deal keeps the demo data as it was for the other tests
    with api_login(server) as client:
        current = client.get(f"/api/crm/deals/{deal['id']}").json()
        client.post(f"/api/crm/deals/{deal['id']}/reopen", json={"version": current["version"]}).raise_for_status()
    expect(won).to_have_text(f"{before['won']} Deals gewonnen", timeout=20_000)


@pytest.mark.viewport(390, 844)
def test_dashboard_in_english_on_a_phone(page: Page, server: Server, artifacts) -> None:
    login(page)
    page.goto("/crm/dashboard")
    expect(page.get_by_role("heading", name="Vertriebs-Dashboard", exact=True)).to_be_visible()
    page.get_by_test_id("lang-toggle").click()  # the phone's language switch
    expect(page.get_by_role("heading", name="Sales dashboard", exact=True)).to_be_visible()
    expect(page.get_by_test_id("kpi-won")).to_contain_text("Won")
    expect(page.get_by_test_id("kpi-won-count")).to_contain_text("deals won")
    expect(page.locator('[data-report="funnel"]')).to_contain_text("Conversion funnel")
    expect(page.get_by_test_id("chart-forecast").locator("svg")).to_be_attached()
    # a filter: the period "All time" keeps the page working
    page.get_by_test_id("filter-period").select_option("all")
    expect(page.get_by_test_id("filter-period")).to_have_value("all")
    expect(page.get_by_test_id("kpi-rate")).to_contain_text("%")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the dashboard is {width}px wide on a 390px screen"
    page.screenshot(path=artifacts / "crm-dashboard-phone-en.png", full_page=True)
