"""Tasks in the browser: create (server validation at the field), list, board (drag & drop and the
keyboard), mark done, subtasks and tags in the drawer, live updates from another session, and the phone layout."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import Server, api_login, eventually, login


def task_by_title(server: Server, title: str) -> dict:
    with api_login(server) as client:
        response = client.get("/api/tasks", params={"q": title, "limit": 5})
        response.raise_for_status()
        items = [t for t in response.json()["items"] if t["title"] == title]
        assert len(items) == 1, items
        return items[0]



def test_create_list_board_done(page: Page, server: Server, artifacts) -> None:
    title = f"Angebot an Müller schicken {uuid.uuid4().hex[:6]}"
    login(page)
    page.goto("/tasks")
    expect(page.get_by_role("heading", name="Aufgaben", exact=True)).to_be_visible()

    # create: an empty title is refused by the server, and the complaint shows at the field
    page.get_by_test_id("task-new").click()
    dialog = page.get_by_role("dialog", name="Neue Aufgabe")
    dialog.get_by_role("button", name="Aufgabe anlegen").click()
    expect(dialog.locator("#task-new-title-error")).to_be_visible()
    expect(dialog.get_by_label("Titel")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("Titel").fill(title)
    dialog.get_by_label("Priorität").select_option("high")
    dialog.get_by_role("button", name="Aufgabe anlegen").click()
    expect(dialog).to_be_hidden()

    # it is in the list, assigned to me
    row = page.get_by_test_id("task-list").locator("li", has_text=title)
    expect(row).to_be_visible()
    expect(row.get_by_test_id("task-status")).to_have_text("Offen")
    task = task_by_title(server, title)
    assert task["priority"] == "high" and task["status"] == "open"
    page.get_by_test_id("my-tasks").check()
    expect(page.get_by_test_id("task-list").locator("li", has_text=title)).to_be_visible()
    page.get_by_test_id("my-tasks").uncheck()

    # the board, filtered to this task (the board filters in the browser; a drop still counts the whole
    # column): drag the card from "Offen" to "In Arbeit"
    page.get_by_label("Aufgaben durchsuchen").fill(title)
    expect(page.get_by_test_id("task-list").locator("> li")).to_have_count(1)
    page.get_by_role("radio", name="Board").click()
    expect(page.locator("[data-task-card]")).to_have_count(1)
    card = page.locator(f'[data-task-card="{task["id"]}"]')
    expect(page.locator('[data-column="open"]').locator(f'[data-task-card="{task["id"]}"]')).to_be_visible()
    card.drag_to(page.locator('[data-dropzone="in_progress"]'))
    expect(page.locator('[data-column="in_progress"]').locator(f'[data-task-card="{task["id"]}"]')).to_be_visible()
    eventually(lambda: task_by_title(server, title)["status"], "in_progress")
    page.screenshot(path=artifacts / "tasks-board.png", full_page=True)

    # …and with the keyboard: Space picks it up, → moves it to "Erledigt", Space drops it
    card = page.locator(f'[data-task-card="{task["id"]}"]')
    card.focus()
    page.keyboard.press("Space")
    expect(card).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("board-live")).to_contain_text("aufgenommen")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    expect(page.locator('[data-column="done"]').locator(f'[data-task-card="{task["id"]}"]')).to_be_visible()
    eventually(lambda: task_by_title(server, title)["status"], "done")
    assert task_by_title(server, title)["completed_at"] is not None

    # the other cards of the column kept their order around it (positions are dense and unique)
    with api_login(server) as client:
        done = client.get("/api/tasks", params={"status": "done", "sort": "position", "limit": 200}).json()["items"]
        assert sorted(t["position"] for t in done) == list(range(len(done)))

    # back in the list: reopen with the checkbox, then mark it done again
    page.get_by_role("radio", name="Liste").click()
    row = page.get_by_test_id("task-list").locator("li", has_text=title)
    expect(row.get_by_test_id("task-status")).to_have_text("Erledigt")
    row.get_by_test_id("task-done").uncheck()
    expect(row.get_by_test_id("task-status")).to_have_text("Offen")
    row.get_by_test_id("task-done").check()
    expect(row.get_by_test_id("task-status")).to_have_text("Erledigt")
    assert task_by_title(server, title)["status"] == "done"

    # the drawer: a subtask, ticked off at once
    row.get_by_role("button", name=f"Öffnen: {title}").click()
    drawer = page.get_by_test_id("task-drawer")
    expect(drawer.get_by_label("Titel")).to_have_value(title)
    drawer.get_by_placeholder("Neue Teilaufgabe").fill("Preise prüfen")
    drawer.get_by_role("button", name="Teilaufgabe hinzufügen").click()
    drawer.get_by_role("checkbox", name="Preise prüfen").check()
    expect(drawer.get_by_text("1/1 Teilaufgaben")).to_be_visible()
    subtasks = task_by_title(server, title)["subtasks"]
    assert [(s["title"], s["done"]) for s in subtasks] == [("Preise prüfen", True)]

    # a tag, picked in the drawer (saved at once), shows as a chip in the list
    tag_name = f"Messe {uuid.uuid4().hex[:6]}"
    with api_login(server) as client:
        client.post("/api/tags", json={"name": tag_name, "color": "#8b5cf6"}).raise_for_status()
    drawer.get_by_role("button", name="Abbrechen").click()
    expect(drawer).to_be_hidden()
    row.get_by_role("button", name=f"Öffnen: {title}").click()  # the drawer loads the company's tags afresh
    tag_button = drawer.get_by_test_id("tag-picker").get_by_role("button", name=tag_name)
    tag_button.click()
    expect(tag_button).to_have_attribute("aria-pressed", "true")
    eventually(lambda: [t["name"] for t in task_by_title(server, title)["tags"]], [tag_name])
    drawer.get_by_role("button", name="Abbrechen").click()
    expect(drawer).to_be_hidden()
    expect(row.get_by_test_id("task-tags")).to_contain_text(tag_name)


def test_tasks_of_others_arrive_live(page: Page, server: Server) -> None:
    login(page)
    page.goto("/tasks")
    expect(page.get_by_role("heading", name="Aufgaben", exact=True)).to_be_visible()
    expect(page.get_by_test_id("realtime-status")).to_have_attribute("data-state", "open")
    title = f"Rückruf Schmidt {uuid.uuid4().hex[:6]}"
    with api_login(server) as client:
        client.post("/api/tasks", json={"title": title, "due_date": "2020-01-02"}).raise_for_status()
    row = page.get_by_test_id("task-list").locator("li", has_text=title)
    expect(row).to_be_visible()
    expect(row).to_contain_text("überfällig")
    # …and on the dashboard, in "Meine Aufgaben" (due first)
    page.get_by_role("link", name="Dashboard").click()
    widget = page.locator('[data-widget="tasks.mine"]')
    expect(widget.get_by_test_id("my-tasks-widget")).to_contain_text(title)
    widget.get_by_role("link", name=title).click()
    expect(page.get_by_test_id("task-drawer").get_by_label("Titel")).to_have_value(title)


@pytest.mark.viewport(360, 740)
def test_tasks_on_a_phone(page: Page, server: Server, artifacts) -> None:
    login(page)
    page.goto("/tasks?view=board")
    expect(page.locator('[data-column="done"]')).to_be_attached()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the board is {width}px wide on a 360px screen"
    page.screenshot(path=artifacts / "tasks-phone.png", full_page=True)
    page.goto("/notes")
    expect(page.locator("#note-content")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the notes page is {width}px wide on a 360px screen"


def test_notes_render_markdown_safely_and_pin(page: Page, server: Server, artifacts) -> None:
    marker = uuid.uuid4().hex[:6]
    login(page)
    page.goto("/notes")
    expect(page.get_by_role("heading", name="Notizen", exact=True)).to_be_visible()
    page.locator("#note-content").fill(
        f"## Gespräch {marker}\n\n**Wichtig:** Angebot bis Freitag\n\n- Preise\n- Termine\n\n"
        f"<img src=x onerror=\"window.__xss=1\"> [Link](javascript:window.__xss=2)")
    page.get_by_role("radio", name="Vorschau").click()
    preview = page.get_by_test_id("note-preview")
    expect(preview.locator("strong")).to_have_text("Wichtig:")
    page.get_by_role("radio", name="Schreiben").click()
    page.get_by_role("button", name="Notiz speichern").click()

    note = page.get_by_test_id("note-list").locator("li", has_text=f"Gespräch {marker}")
    expect(note.locator("h4")).to_have_text(f"Gespräch {marker}")
    expect(note.locator("li")).to_have_count(2)
    # the HTML is shown as text, the script link is no link
    expect(note).to_contain_text("<img src=x")
    assert note.locator("img").count() == 0 and note.locator("a").count() == 0
    assert page.evaluate("window.__xss") is None

    note.get_by_role("button", name="Notiz anheften").click()
    expect(note.get_by_role("button", name="Notiz lösen")).to_be_visible()
    first = page.get_by_test_id("note-list").locator("> li").first
    expect(first).to_contain_text(f"Gespräch {marker}")
    page.screenshot(path=artifacts / "notes.png", full_page=True)
    with api_login(server) as client:
        notes = client.get("/api/notes", params={"pinned": "true"}).json()["items"]
        assert any(marker in n["content"] for n in notes)
