"""Notes with tags in the browser (tag picker, chips, filter by tag, German and English), the notes page
following other sessions live, and the contact timeline's translated entry types and texts."""

from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.support import Server, api_login, login


def test_note_tags_picker_chips_and_filter(page: Page, server: Server, artifacts) -> None:
    marker = uuid.uuid4().hex[:6]
    login(page)
    page.goto("/notes")
    notes = page.get_by_test_id("note-list")
    # the demo tagged a few notes: their chips show, the filter narrows the list to one tag
    expect(notes.locator("> li", has_text="Müller GmbH").locator("[data-tag-chip]")).to_have_text(["Kunde", "VIP"])
    page.get_by_test_id("notes-filter-tag").select_option(label="Lieferant")
    expect(notes.locator("> li")).to_have_count(1)
    expect(notes).to_contain_text("Ersatzteil für den Drucker")

    # write a note with two tags from the picker (keyboard: the picker's toggles are buttons)
    page.get_by_test_id("notes-filter-tag").select_option(label="Alle Tags")
    page.locator("#note-content").fill(f"Messe-Notiz {marker}")
    picker = page.get_by_test_id("tag-picker")
    picker.get_by_role("button", name="VIP").click()
    picker.get_by_role("button", name="Lieferant").focus()
    page.keyboard.press("Enter")
    expect(picker.get_by_role("button", name="Lieferant")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Notiz speichern").click()
    mine = notes.locator("> li", has_text=f"Messe-Notiz {marker}")
    expect(mine.locator("[data-tag-chip]")).to_have_text(["Lieferant", "VIP"])
    with api_login(server) as client:
        saved = [n for n in client.get("/api/notes", params={"limit": 200}).json()["items"] if marker in n["content"]]
        assert [t["name"] for t in saved[0]["tags"]] == ["Lieferant", "VIP"]

    # a chip filters by its tag, pressing it again clears the filter
    mine.get_by_role("button", name="Nur Notizen mit dem Tag „VIP“ zeigen").click()
    expect(page.get_by_test_id("notes-filter-tag")).to_have_value(next(t["id"] for t in saved[0]["tags"]
                                                                          if t["name"] == "VIP"))
    expect(notes.locator("> li")).to_have_count(2)  # ours and the demo's Müller note
    page.screenshot(path=artifacts / "notes-tags.png", full_page=True)
    mine.get_by_role("button", name="Filter „VIP“ aufheben").click()
    expect(page.get_by_test_id("notes-filter-tag")).to_have_value("")

    # edit: take a tag away
    mine.get_by_role("button", name="Notiz bearbeiten").click()
    picker.get_by_role("button", name="VIP").click()
    page.get_by_role("button", name="Speichern", exact=True).click()
    expect(mine.locator("[data-tag-chip]")).to_have_text(["Lieferant"])

    # English
    page.get_by_test_id("lang-en").click()
    expect(page.get_by_test_id("notes-filter-tag").locator("option").first).to_have_text("All tags")
    expect(page.get_by_role("group", name="Tags")).to_be_visible()
    expect(mine.get_by_role("button", name="Show only notes tagged “Lieferant”")).to_be_visible()


def test_contact_timeline_shows_translated_types(page: Page, server: Server) -> None:
    word = f"Zeitleiste{uuid.uuid4().hex[:6]}"
    with api_login(server) as client:
        contact = client.post("/api/contacts", json={"type": "person", "first_name": word, "last_name": "Test"})
        contact.raise_for_status()
        contact_id = contact.json()["id"]
        client.post("/api/notes", json={"content": "Rückruf vereinbart", "linked_contact_id": contact_id}
                    ).raise_for_status()
        client.post("/api/tasks", json={"title": "Angebot schicken", "linked_contact_id": contact_id}
                    ).raise_for_status()
        # the timeline is written by event handlers after the commit: wait for all three entries
        deadline = time.monotonic() + 15
        while len(client.get("/api/activities", params={"contact_id": contact_id}).json()["items"]) < 3:
            assert time.monotonic() < deadline, "the activities were not recorded"
            time.sleep(0.2)
    login(page)
    page.goto(f"/contacts/{contact_id}")
    types = page.locator("[data-timeline] [data-activity-type]")
    # newest first: the task, the note, and the contact's own creation
    expect(types).to_have_count(3)
    expect(types).to_contain_text(["Aufgabe angelegt", "Notiz geschrieben", "Kontakt angelegt"])
    page.get_by_test_id("lang-en").click()
    expect(types).to_contain_text(["Task created", "Note written", "Contact created"])
    expect(page.locator("[data-timeline] [data-activity-summary]")).to_have_text(
        ["Task created: Angebot schicken", "Note: Rückruf vereinbart", "Contact created"])


def test_notes_page_follows_other_sessions_live(page: Page, server: Server) -> None:
    marker = uuid.uuid4().hex[:6]
    login(page)
    page.goto("/notes")
    notes = page.get_by_test_id("note-list")
    expect(notes).to_be_visible()

    # a note written elsewhere (API) appears without a reload
    with api_login(server) as client:
        created = client.post("/api/notes", json={"content": f"Von nebenan {marker}"})
        created.raise_for_status()
        note = created.json()
    ours = notes.locator("> li", has_text=marker)
    expect(ours).to_have_text(re.compile(f"Von nebenan {marker}"))

    # the user starts editing it; meanwhile it is changed elsewhere: the list follows, the editor keeps the input
    ours.get_by_role("button", name="Notiz bearbeiten").click()
    page.locator("#note-content").fill(f"Meine Fassung {marker}")
    with api_login(server) as client:
        client.patch(f"/api/notes/{note['id']}", json={"version": note["version"], "content": f"Geändert {marker}"}
                     ).raise_for_status()
    expect(ours).to_contain_text(f"Geändert {marker}")
    expect(page.get_by_test_id("note-remote-change")).to_contain_text("inzwischen woanders geändert")
    expect(page.locator("#note-content")).to_have_value(f"Meine Fassung {marker}")
    page.get_by_role("button", name="Aktuelle Fassung laden").click()
    expect(page.locator("#note-content")).to_have_value(f"Geändert {marker}")
    page.get_by_role("button", name="Abbrechen").click()

    # deleted elsewhere: it vanishes
    with api_login(server) as client:
        client.delete(f"/api/notes/{note['id']}").raise_for_status()
    expect(notes.locator("> li", has_text=marker)).to_have_count(0)
