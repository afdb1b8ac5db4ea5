"""Contacts in a real browser: the list (virtual scrolling, sort, filters, columns), the detail page, the
form with a server-side field error, live updates, and merging two duplicates."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import Server, api_login, eventually, login


def create_contact(server: Server, **body) -> dict:
    with api_login(server) as client:
        response = client.post("/api/contacts", json=body)
        response.raise_for_status()
        return response.json()


def find_contacts(server: Server, q: str) -> list[dict]:
    with api_login(server) as client:
        response = client.get("/api/contacts", params={"q": q, "limit": 200})
        response.raise_for_status()
        return response.json()["items"]


@pytest.fixture(scope="module")
def many_contacts(server: Server) -> str:
    """230 people whose names start with a unique word, so the list needs three pages of 100."""
    word = f"Scroll{uuid.uuid4().hex[:6]}"
    for start in range(0, 230, 20):  # a fresh login now and then: e2e access tokens live 8 s
        with api_login(server) as client:
            for n in range(start, min(start + 20, 230)):
                client.post("/api/contacts", json={"type": "person", "first_name": word, "last_name": f"Nr{n:03d}"}
                            ).raise_for_status()
    return word


def rows(page: Page):
    return page.locator("[data-contact-row]")


def test_shared_section_and_list_scroll_sort_filter(page: Page, server: Server, many_contacts: str, artifacts) -> None:
    login(page)
    # Contacts is a shared component: its own sidebar section, open because the demo company booked modules.
    section = page.locator('[data-nav-section="shared"]')
    expect(section).to_contain_text("Allgemein")
    section.locator('[data-nav="shared.contacts"]').click()
    expect(page).to_have_url(re.compile(r"/contacts$"))
    expect(page.get_by_role("heading", name="Kontakte", exact=True)).to_be_visible()
    expect(rows(page).filter(has_text="Brenner Maschinenbau GmbH")).to_be_visible()
    page.screenshot(path=artifacts / "contacts-list.png", full_page=True)

    # Search: 230 matches; only a window of them is in the DOM, scrolling loads the next pages (keyset).
    page.get_by_label("Kontakte durchsuchen").fill(many_contacts)
    expect(rows(page).first).to_contain_text(f"{many_contacts} Nr000")
    expect(page.locator("[data-contacts-count]")).to_have_text("mehr als 100")
    assert rows(page).count() < 60
    scroller = page.locator("[data-contacts-scroller]")
    for _ in range(40):
        scroller.evaluate("el => { el.scrollTop = el.scrollHeight }")
        if page.get_by_text("Ende der Liste").is_visible() and rows(page).filter(has_text="Nr229").count():
            break
        page.wait_for_timeout(150)
    expect(rows(page).filter(has_text=f"{many_contacts} Nr229")).to_be_visible()
    expect(page.get_by_text("230 geladen")).to_be_visible()
    expect(page.locator("[data-contacts-count]")).to_have_text("230 Kontakte")
    assert rows(page).count() < 60

    # Sort by name, descending: the last one comes first; the choice is in the address.
    page.locator('[data-sort="name"]').click()
    expect(page).to_have_url(re.compile(r"sort=-name"))
    expect(rows(page).first).to_contain_text("Nr229")
    expect(page.locator('[role="columnheader"][aria-sort="descending"]')).to_contain_text("Name")

    # Keyboard: ↓ moves from row to row.
    rows(page).first.focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator("[data-contact-row]:focus")).to_contain_text("Nr228")

    # Filters: organisations only, then a custom field (Branche = IT).
    page.get_by_label("Kontakte durchsuchen").fill("")
    page.locator("[data-contacts-filters-toggle]").click()
    page.locator("#filter-type").select_option("organization")
    expect(rows(page).filter(has_text="Brenner Maschinenbau GmbH")).to_be_visible()
    expect(rows(page).filter(has_text="Andreas Becker")).to_have_count(0)
    page.locator("#filter-cf-branche").select_option("IT")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Datawerk IT-Services GmbH")

    # Column chooser: the custom field as a column, kept for the account.
    page.locator("[data-contacts-columns]").click()
    page.locator('[data-column-toggle="cf.branche"]').check()
    page.keyboard.press("Escape")
    expect(page.locator('[role="columnheader"]').filter(has_text="Branche")).to_be_visible()
    expect(rows(page).first.locator('[data-cell="cf.branche"]')).to_have_text("IT")
    page.screenshot(path=artifacts / "contacts-list-filtered.png", full_page=True)
    # Saved to the account (the preferences store writes a moment after the last change).
    with api_login(server) as client:
        for _ in range(50):
            prefs = client.get("/api/me/preferences").json()["data"]
            if "cf.branche" in prefs.get("contacts.columns", []):
                break
            page.wait_for_timeout(200)
    assert "cf.branche" in prefs.get("contacts.columns", [])


def test_detail_with_relations_tasks_notes_and_live_update(page: Page, server: Server, artifacts) -> None:
    becker = next(c for c in find_contacts(server, "Andreas") if c["display_name"] == "Andreas Becker")
    login(page)
    page.goto(f"/contacts/{becker['id']}")
    expect(page.locator("[data-contact-name]")).to_have_text("Andreas Becker")
    expect(page.locator("[data-contact-tags]")).to_contain_text("VIP")
    expect(page.locator("[data-relations]")).to_contain_text("Brenner Maschinenbau GmbH")
    expect(page.locator("[data-relations]")).to_contain_text("arbeitet bei")
    expect(page.locator("[data-timeline]")).to_be_visible()

    # A note and a task, inline.
    page.get_by_placeholder("Neue Notiz").fill("Rückruf wegen Angebot vereinbart")
    page.locator("[data-add-note]").click()
    expect(page.locator("[data-note]").first).to_contain_text("Rückruf wegen Angebot vereinbart")
    page.get_by_placeholder("Neue Aufgabe").fill("Angebot an Becker schicken")
    page.locator("[data-add-task]").click()
    expect(page.locator("[data-task]").filter(has_text="Angebot an Becker schicken")).to_be_visible()

    # Tags: a new coloured tag, created in the dialog and set on the contact.
    tag = f"Messe {uuid.uuid4().hex[:4]}"
    page.locator("[data-edit-tags]").click()
    page.locator("[data-new-tag]").fill(tag)
    page.get_by_role("button", name="Anlegen", exact=True).click()
    expect(page.locator(f'[data-tag-option="{tag}"]')).to_be_checked()
    page.locator("[data-save-tags]").click()
    expect(page.locator("[data-contact-tags] [data-tag-chip]").filter(has_text=tag)).to_be_visible()
    expect(page.locator("[data-contact-tags] [data-tag-chip]").filter(has_text="VIP")).to_be_visible()

    # Someone else changes the contact: the page follows over the WebSocket.
    with api_login(server) as client:
        current = client.get(f"/api/contacts/{becker['id']}").json()
        client.patch(f"/api/contacts/{becker['id']}",
                     json={"version": current["version"], "notes": "Bevorzugt Termine am Vormittag"}).raise_for_status()
    expect(page.locator("[data-live-notice]")).to_be_visible()
    expect(page.get_by_text("Bevorzugt Termine am Vormittag")).to_be_visible()
    page.screenshot(path=artifacts / "contacts-detail.png", full_page=True)


def test_widget_and_list_follow_live_events(page: Page, server: Server, artifacts) -> None:
    login(page)
    # The dashboard widget: total (counted by the server) and the newest contacts.
    widget = page.locator('[data-widget="contacts.overview"]')
    expect(widget.locator("[data-contacts-total]")).to_have_text(re.compile(r"^\d+$"))
    total = int(widget.locator("[data-contacts-total]").inner_text())
    assert total >= 12

    word = f"Live{uuid.uuid4().hex[:6]}"
    page.goto(f"/contacts?q={word}")
    expect(page.locator("[data-contacts-empty]")).to_contain_text("Kein Kontakt passt zu diesen Filtern.")
    contact = create_contact(server, type="person", first_name=word, last_name="Eins")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text(f"{word} Eins")
    with api_login(server) as client:
        client.patch(f"/api/contacts/{contact['id']}", json={"version": contact["version"], "last_name": "Zwei"}
                     ).raise_for_status()
    expect(rows(page).first).to_contain_text(f"{word} Zwei")
    with api_login(server) as client:
        client.delete(f"/api/contacts/{contact['id']}").raise_for_status()
    expect(rows(page)).to_have_count(0)

    # English, on the same page.
    page.get_by_test_id("lang-en").click()
    expect(page.get_by_role("heading", name="Contacts", exact=True)).to_be_visible()
    expect(page.locator('[data-nav-section="shared"]')).to_contain_text("General")


def test_create_shows_the_server_field_error_then_saves(page: Page, server: Server, artifacts) -> None:
    login(page)
    page.goto("/contacts")
    page.locator("[data-contacts-new]").click()
    expect(page.get_by_role("heading", name="Neuer Kontakt")).to_be_visible()
    page.get_by_label("Vorname").fill("Fiona")
    page.get_by_label("Nachname").fill("Feldfehler")
    page.locator("[data-email-input]").first.fill("fiona@@example")
    page.locator("[data-phone-input]").first.fill("+49 30 1234567")
    page.locator("#cf-custom_fields-branche").select_option("Handel")
    page.locator("[data-contact-save]").click()

    # 422 from the server, shown at the e-mail field (and focus goes there).
    email = page.locator("[data-email-input]").first
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[data-field-error]")).to_be_visible()
    expect(page.locator("[data-form-error]")).to_have_text(re.compile("markierten Felder"))
    page.screenshot(path=artifacts / "contacts-form-error.png", full_page=True)

    email.fill("fiona@example.com")
    page.locator("[data-contact-save]").click()
    expect(page.locator("[data-contact-name]")).to_have_text("Fiona Feldfehler")
    expect(page.locator("[data-custom-fields]")).to_contain_text("Handel")
    created = [c for c in find_contacts(server, "Fiona") if c["display_name"] == "Fiona Feldfehler"]
    assert len(created) == 1 and created[0]["emails"][0]["value"] == "fiona@example.com"


def test_edit_conflict_is_explained(page: Page, server: Server) -> None:
    contact = create_contact(server, type="person", first_name="Konrad", last_name="Konflikt")
    login(page)
    page.goto(f"/contacts/{contact['id']}/edit")
    page.get_by_label("Nachname").fill("Konflikt-Neu")
    with api_login(server) as client:
        client.patch(f"/api/contacts/{contact['id']}", json={"version": contact["version"], "notes": "anderswo"}
                     ).raise_for_status()
    page.locator("[data-contact-save]").click()
    expect(page.locator("[data-conflict]")).to_contain_text("Jemand anderes hat diesen Kontakt inzwischen geändert")
    page.locator("[data-load-latest]").click()
    expect(page.get_by_label("Nachname")).to_have_value("Konflikt")
    page.get_by_label("Nachname").fill("Konflikt-Neu")
    page.locator("[data-contact-save]").click()
    expect(page.locator("[data-contact-name]")).to_have_text("Konrad Konflikt-Neu")


def test_merge_two_duplicates_leaves_one(page: Page, server: Server, artifacts) -> None:
    mail = f"doppelt-{uuid.uuid4().hex[:6]}@example.com"
    first = create_contact(server, type="person", first_name="Doris", last_name="Doppel",
                           emails=[{"type": "work", "value": mail}],
                           phones=[{"type": "mobile", "value": "0171 4455668"}])
    second = create_contact(server, type="person", first_name="Dorothea", last_name="Doppel",
                            emails=[{"type": "home", "value": mail}],
                            phones=[{"type": "work", "value": "030 44556678"}])
    login(page)
    page.goto("/contacts/duplicates")
    pair = page.locator("[data-duplicate-pair]").filter(has_text="Doris Doppel").filter(has_text="Dorothea Doppel")
    expect(page.locator("[data-duplicate-pairs]")).to_be_visible()
    more = page.get_by_role("button", name="Weitere laden")
    for _ in range(30):  # the review list is paged; other tests' contacts may come first
        if pair.count() or not more.is_visible():
            break
        more.click()
        page.wait_for_timeout(300)
    expect(pair).to_be_visible()
    expect(pair).to_contain_text(mail)
    page.screenshot(path=artifacts / "contacts-duplicates.png", full_page=True)
    pair.locator("[data-duplicate-review]").click()

    # Side by side: pick the other first name, keep both phone numbers.
    expect(page.locator('[data-merge-step="pick"]')).to_be_visible()
    row = page.locator('[data-merge-row="first_name"]')
    expect(row).to_contain_text("Doris")
    expect(row).to_contain_text("Dorothea")
    keep_left = row.locator('[data-side="left"]').evaluate("el => el.closest('label').textContent")
    survivor_id, loser_id = (first["id"], second["id"]) if "Doris" in keep_left else (second["id"], first["id"])
    row.locator('[data-side="right"]').check()
    page.locator('[data-merge-row="phones"] [data-side="both"]').check()
    page.screenshot(path=artifacts / "contacts-merge.png", full_page=True)
    page.locator("[data-merge-next]").click()

    expect(page.locator('[data-merge-step="confirm"]')).to_be_visible()
    expect(page.locator('[data-merge-result="phones"]')).to_contain_text("+491714455668")
    expect(page.locator('[data-merge-result="phones"]')).to_contain_text("+493044556678")
    page.locator("[data-merge-confirm]").click()
    expect(page.locator('[data-merge-step="done"]')).to_be_visible()
    page.locator("[data-merge-open]").click()
    expect(page.locator("[data-contact-name]")).to_have_text(re.compile(r"Do(ris|rothea) Doppel"))

    left = [c for c in find_contacts(server, "Doppel") if mail in {e["value"] for e in c["emails"]}]
    assert [c["id"] for c in left] == [survivor_id]
    assert left[0]["first_name"] == ("Dorothea" if survivor_id == first["id"] else "Doris")
    assert {p["value"] for p in left[0]["phones"]} == {"+491714455668", "+493044556678"}
    with api_login(server) as client:
        assert client.get(f"/api/contacts/{loser_id}").status_code == 404


def test_segment_editor_with_nested_groups(page: Page, server: Server, artifacts) -> None:
    login(page)
    page.goto("/contacts")
    page.locator("[data-segment-new]").click()
    name = f"Köln oder Hamburg {uuid.uuid4().hex[:4]}"
    page.get_by_label("Name des Segments").fill(name)
    # Root (AND): type = organisation, and a nested OR group of two cities.
    root_leaf = page.locator('[data-segment-leaf="0"]')
    root_leaf.locator("[data-leaf-field]").select_option("type")
    root_leaf.locator("[data-leaf-value]").select_option("organization")
    page.locator('[data-segment-group="root"] > div > [data-add-group]').click()
    group = page.locator('[data-segment-group="1"]')
    expect(group.locator('[data-combinator="or"]')).to_have_attribute("aria-checked", "true")
    group.locator('[data-segment-leaf="1.0"] [data-leaf-field]').select_option("city")
    group.locator('[data-segment-leaf="1.0"] [data-leaf-operator]').select_option("eq")
    group.locator('[data-segment-leaf="1.0"] [data-leaf-value]').fill("Köln")
    group.locator("[data-add-condition]").click()
    group.locator('[data-segment-leaf="1.1"] [data-leaf-field]').select_option("city")
    group.locator('[data-segment-leaf="1.1"] [data-leaf-operator]').select_option("eq")
    group.locator('[data-segment-leaf="1.1"] [data-leaf-value]').fill("Hamburg")
    expect(page.locator("[data-segment-preview]")).to_have_text("2 Treffer")
    page.screenshot(path=artifacts / "contacts-segment-editor.png", full_page=True)
    page.locator("[data-segment-save]").click()

    expect(page).to_have_url(re.compile(r"/contacts\?segment="))
    expect(page.locator(f'[data-segment="{name}"]')).to_have_attribute("aria-pressed", "true")
    expect(rows(page)).to_have_count(2)
    expect(rows(page).filter(has_text="Datawerk IT-Services GmbH")).to_be_visible()
    expect(rows(page).filter(has_text="Nordlicht Logistik AG")).to_be_visible()


@pytest.mark.viewport(360, 740)
@pytest.mark.color_scheme("dark")
def test_phone_shows_cards(page: Page, server: Server, artifacts) -> None:
    login(page)
    page.goto("/contacts")
    cards = page.locator("[data-contact-card]")
    expect(cards.first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=artifacts / "contacts-phone-dark.png", full_page=True)
    cards.filter(has_text="Anna Richter").click()
    expect(page.locator("[data-contact-name]")).to_have_text("Anna Richter")
    expect(page.locator("[data-timeline]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=artifacts / "contacts-detail-phone-dark.png", full_page=True)


def test_export_has_exactly_the_listed_contacts(page: Page, server: Server) -> None:
    """The export menu on a list filtered by a saved segment and free text downloads those contacts only."""
    word = f"Export{uuid.uuid4().hex[:6]}"
    city, other_city = f"Ort{uuid.uuid4().hex[:6]}", f"Ort{uuid.uuid4().hex[:6]}"
    inside = [create_contact(server, type="person", first_name=word, last_name=name, addresses=[{"city": city}])
              for name in ("Innen-Eins", "Innen-Zwei")]
    create_contact(server, type="person", first_name=word, last_name="Anderer-Ort", addresses=[{"city": other_city}])
    create_contact(server, type="person", first_name="Fremd", last_name="Gleicher-Ort", addresses=[{"city": city}])
    with api_login(server) as client:
        response = client.post("/api/contacts/segments", json={
            "name": f"Segment {word}",
            "filter": {"op": "and", "conditions": [{"field": "city", "operator": "eq", "value": city}]}})
        response.raise_for_status()
        segment = response.json()["id"]

    login(page)
    page.goto(f"/contacts?segment={segment}&q={word}")
    expect(rows(page)).to_have_count(2)
    page.locator("[data-contacts-export]").get_by_role("button", name="Exportieren").click()
    with page.expect_download() as info:
        page.locator('[data-export][data-format="csv"]').click()
    with open(info.value.path(), encoding="utf-8-sig") as file:
        text = file.read()
    lines = [line for line in text.splitlines()[1:] if line.strip()]
    assert len(lines) == 2, text
    for contact in inside:
        assert contact["last_name"] in text
    assert "Anderer-Ort" not in text and "Gleicher-Ort" not in text


def test_timeline_entries_are_in_the_users_language(page: Page, server: Server) -> None:
    word = f"Englisch{uuid.uuid4().hex[:6]}"
    contact = create_contact(server, type="person", first_name=word, last_name="Test")
    with api_login(server) as client:
        client.post("/api/tasks", json={"title": f"Angebot {word}", "linked_contact_id": contact["id"]}
                    ).raise_for_status()

    def recorded() -> int:  # the timeline is written by event handlers after the commit
        with api_login(server) as client:
            return len(client.get("/api/activities", params={"contact_id": contact["id"]}).json()["items"])

    eventually(recorded, 2)
    login(page)
    page.goto(f"/contacts/{contact['id']}")
    summaries = page.locator("[data-timeline] [data-activity-summary]")
    expect(summaries).to_have_text([f"Aufgabe angelegt: Angebot {word}", "Kontakt angelegt"])
    page.get_by_test_id("lang-en").click()
    # rendered from the entry's event and payload, not the stored German summary
    expect(summaries).to_have_text([f"Task created: Angebot {word}", "Contact created"])
