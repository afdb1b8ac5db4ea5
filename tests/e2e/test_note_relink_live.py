"""A note moved to another contact leaves the open contact page's timeline and notes panel live
(``activity.moved``) and shows on the new contact's timeline."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.e2e.support import Server, api_login, eventually, login


def test_relinked_note_moves_between_timelines_live(page: Page, server: Server) -> None:
    word = f"Umzug{uuid.uuid4().hex[:6]}"
    with api_login(server) as client:
        old, new = (client.post("/api/contacts", json={"type": "person", "first_name": word, "last_name": name}
                                ).json() for name in ("Alt", "Neu"))
        note = client.post("/api/notes", json={"content": f"Rückruf {word}", "linked_contact_id": old["id"]}).json()

    def events_of(contact: dict) -> list[str]:
        with api_login(server) as client:
            items = client.get("/api/activities", params={"contact_id": contact["id"]}).json()["items"]
            return [a["details"]["event"] for a in items]

    eventually(lambda: events_of(old), ["note.created", "contact.created"])
    login(page)
    page.goto(f"/contacts/{old['id']}")
    summaries = page.locator("[data-timeline] [data-activity-summary]")
    expect(summaries).to_have_text([f"Notiz: Rückruf {word}", "Kontakt angelegt"])
    notes = page.locator("[data-note]")
    expect(notes).to_have_count(1)

    with api_login(server) as client:
        client.patch(f"/api/notes/{note['id']}", json={"version": note["version"], "linked_contact_id": new["id"]}
                     ).raise_for_status()
    expect(summaries).to_have_text(["Kontakt angelegt"])  # live, without reloading the page
    expect(notes).to_have_count(0)  # and the notes panel lets it go too
    page.goto(f"/contacts/{new['id']}")
    # at the note's own time, which is after this contact was created
    expect(summaries).to_have_text([f"Notiz: Rückruf {word}", "Kontakt angelegt"])
