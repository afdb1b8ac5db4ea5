"""The contacts list's CSV export writes its rows in the order the list shows after the user re-sorts it."""

from __future__ import annotations

import csv
import io
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.support import Server, api_login, login


def test_export_follows_the_lists_sort(page: Page, server: Server) -> None:
    word = f"Sortexp{uuid.uuid4().hex[:6]}"
    # created in this order, so newest first (Mitte, Alpha, Zeta) differs from by name either way
    created = ("Zeta", "Alpha", "Mitte")
    with api_login(server) as client:
        for last_name in created:
            client.post("/api/contacts", json={"type": "person", "first_name": word, "last_name": last_name}
                        ).raise_for_status()

    login(page)
    page.goto(f"/contacts?q={word}")
    rows = page.locator("[data-contact-row]")
    expect(rows).to_have_count(3)
    expect(rows).to_contain_text([f"{word} Alpha", f"{word} Mitte", f"{word} Zeta"])  # by name, the default

    # "Angelegt" twice: ascending, then descending (newest first)
    sort_created = page.locator('[data-sort="created_at"]')
    sort_created.click()
    expect(rows).to_contain_text([f"{word} Zeta", f"{word} Alpha", f"{word} Mitte"])
    sort_created.click()
    expect(page.locator('[role="columnheader"][aria-sort="descending"]')).to_have_count(1)
    expect(rows).to_contain_text([f"{word} Mitte", f"{word} Alpha", f"{word} Zeta"])
    on_screen = [rows.nth(i).inner_text() for i in range(3)]

    page.locator("[data-contacts-export]").get_by_role("button", name="Exportieren").click()
    with page.expect_download() as info:
        page.locator('[data-export][data-format="csv"]').click()
    with open(info.value.path(), encoding="utf-8-sig") as file:
        text = file.read()
    records = list(csv.reader(io.StringIO(text), delimiter=";"))  # the export writes German Excel's CSV
    header, body = records[0], [r for r in records[1:] if any(cell.strip() for cell in r)]
    last_name = header.index("Nachname")
    assert [r[last_name] for r in body] == ["Mitte", "Alpha", "Zeta"], text
    # the file reads like the screen
    assert [f"{word} {r[last_name]}" in shown for r, shown in zip(body, on_screen, strict=True)] == [True] * 3
