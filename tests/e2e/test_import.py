"""The contacts import wizard in the browser: upload a CSV with one bad row → mapping → dry run shows the
bad row → import skipping it (a background job, so this server runs its job worker) → progress →
result → the contact is in the list. Also the export menu."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import _running_server
from tests.e2e.support import Server, api_login, login


@pytest.fixture(scope="module")
def server(frontend_dist: Path) -> Iterator[Server]:
    """Like the shared demo server, but with the job worker running in the server process: the import
    runs as a job (the shared server is started with --no-worker)."""
    with _running_server(frontend_dist, demo=True, worker=True) as running:
        yield running



def test_import_csv_with_a_bad_row(page: Page, server: Server, artifacts) -> None:
    tag = uuid.uuid4().hex[:6]
    good, bad = f"Importmann{tag}", f"Kaputt{tag}"
    csv = (f"Vorname;Nachname;E-Mail;Ort\n"
           f"Erika;{good};erika.{tag}@example.com;Köln\n"
           f"Max;{bad};keine-mail-adresse;Bonn\n").encode()

    login(page)
    page.goto("/contacts")
    page.locator("[data-contacts-import]").click()
    expect(page).to_have_url(f"{server.base_url}/contacts/import")
    expect(page.get_by_role("heading", name="Kontakte importieren")).to_be_visible()

    # a file of the wrong kind is refused before it is uploaded
    page.get_by_test_id("import-file").set_input_files(
        files=[{"name": "liste.xlsx", "mimeType": "application/octet-stream", "buffer": b"PK"}])
    expect(page.get_by_test_id("import-error")).to_contain_text("keine CSV- oder vCard-Datei")

    # upload → mapping suggested from the header
    page.get_by_test_id("import-file").set_input_files(
        files=[{"name": "kunden.csv", "mimeType": "text/csv", "buffer": csv}])
    mapping = page.get_by_test_id("import-mapping")
    expect(mapping).to_be_visible()
    expect(page.get_by_text("Trennzeichen Semikolon")).to_be_visible()
    expect(mapping.locator('select[data-column="Nachname"]')).to_have_value("last_name")
    expect(mapping.locator('select[data-column="E-Mail"]')).to_have_value("email.work")
    expect(mapping.locator('select[data-column="Ort"]')).to_have_value("address.city")
    page.screenshot(path=artifacts / "import-mapping.png", full_page=True)

    # dry run: one valid row, one bad row with its line and column
    page.get_by_test_id("import-validate").click()
    expect(page.get_by_test_id("import-valid")).to_have_text("1")
    expect(page.get_by_test_id("import-invalid")).to_have_text("1")
    errors = page.get_by_test_id("import-errors")
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors.locator("tbody tr").first).to_contain_text("3")
    expect(errors.locator("tbody tr").first).to_contain_text("E-Mail")
    page.screenshot(path=artifacts / "import-dry-run.png", full_page=True)

    # import, skipping the bad row: progress, then the result
    expect(page.get_by_test_id("import-skip")).to_be_checked()
    page.get_by_test_id("import-run").click()
    result = page.get_by_test_id("import-result")
    expect(result).to_be_visible(timeout=60_000)
    expect(result.get_by_role("heading")).to_have_text("Import abgeschlossen")
    expect(page.get_by_test_id("import-imported")).to_have_text("1")
    expect(page.get_by_test_id("import-skipped")).to_have_text("1")
    page.screenshot(path=artifacts / "import-result.png", full_page=True)

    # the error report downloads as CSV with the bad row
    with page.expect_download() as info:
        result.get_by_role("button", name="Fehlerbericht herunterladen (CSV)").click()
    report = Path(info.value.path()).read_text(encoding="utf-8-sig")
    assert "keine-mail-adresse" in report

    # the new contact is in the list, the bad one is not
    page.get_by_test_id("import-to-contacts").click()
    page.get_by_placeholder("Name, E-Mail oder Telefon").fill(good)
    expect(page.get_by_text(f"Erika {good}").first).to_be_visible()
    with api_login(server) as client:
        assert client.get("/api/contacts", params={"q": bad}).json()["items"] == []
        found = client.get("/api/contacts", params={"q": f"erika.{tag}"}).json()["items"]
        assert [c["last_name"] for c in found] == [good]


def test_export_menu_downloads_the_filtered_contacts(page: Page, server: Server) -> None:
    login(page)
    page.goto("/contacts/import")
    page.get_by_role("button", name="Exportieren").click()
    with page.expect_download() as info:
        page.locator('[data-export][data-format="vcf3"]').click()
    assert info.value.suggested_filename.endswith(".vcf")
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert text.startswith("BEGIN:VCARD") and "VERSION:3.0" in text
    page.get_by_role("button", name="Exportieren").click()
    with page.expect_download() as info:
        page.locator('[data-export][data-format="csv"]').click()
    assert info.value.suggested_filename.endswith(".csv")


@pytest.mark.viewport(360, 740)
@pytest.mark.color_scheme("dark")
def test_import_wizard_on_a_dark_phone(page: Page, server: Server, artifacts) -> None:
    login(page)
    page.goto("/contacts/import")
    csv = ("Firma,E-Mail,Telefon,Straße,PLZ,Ort,Bemerkung\n"
           "Beispiel AG,info@beispiel.example,+49 221 1234567,Hauptstraße 1,50667,Köln,Lange Bemerkung\n")
    page.get_by_test_id("import-file").set_input_files(
        files=[{"name": "firmen.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    expect(page.get_by_test_id("import-mapping")).to_be_visible()
    expect(page.get_by_text("Trennzeichen Komma")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the wizard is {width}px wide on a 360px screen"
    page.screenshot(path=artifacts / "import-phone-dark.png", full_page=True)
