"""Demo data of the worklog: tasks (some overdue, some with subtasks), notes and a timeline.

One hook (on the ``tasks`` manifest, whose migration creates all three tables) fills all three
tables, so the data exists however the notes and activities components are registered.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select

from xynap.core.db import utcnow
from xynap.shared.tags.models import Tag
from xynap.shared.worklog.models import Activity, Note, NoteTag, Task, TaskTag

# assignee key, title, description, status, priority, due in days (None: no date), subtasks
DEMO_TASKS: tuple[tuple[str, str, str, str, str, int | None, tuple[tuple[str, bool], ...]], ...] = (
    ("staff1", "Angebot für Bäckerei Schmidt nachfassen", "Rückruf wegen des Angebots vom Monatsanfang.",
     "open", "high", -3, ()),
    ("staff1", "Messestand Hannover vorbereiten", "Stand, Prospekte und Terminplanung für die Messe.",
     "in_progress", "medium", 10,
     (("Standfläche bestätigen", True), ("Prospekte drucken lassen", False), ("Termine mit Kunden legen", False))),
    ("staff2", "Wartungsvertrag Müller GmbH verlängern", "", "open", "urgent", -1,
     (("Vertragsentwurf prüfen", True), ("Unterschrift einholen", False))),
    ("staff2", "Kundenumfrage auswerten", "Ergebnisse für das Vertriebsmeeting zusammenfassen.", "open", "low",
     None, ()),
    ("staff3", "Druckerproblem im Büro 2 klären", "Ticket 4711: Drucker druckt nur leere Seiten.",
     "in_progress", "high", 0, ()),
    ("staff3", "Handbuch für die neue Telefonanlage", "", "done", "medium", -7, ()),
    ("manager", "Quartalsziele Vertrieb festlegen", "Ziele mit dem Team abstimmen und im Meeting vorstellen.",
     "open", "high", 5, (("Zahlen Q3 auswerten", True), ("Entwurf an das Team", False))),
    ("admin", "Datenschutzschulung organisieren", "Jährliche Pflichtschulung für alle Mitarbeitenden.",
     "open", "medium", 21, ()),
    ("external", "Jahresabschluss-Unterlagen prüfen", "Belege vom Dezember fehlen noch.", "open", "urgent",
     -2, ()),
)

# task title -> tag names: the contacts demo's tags (it runs first, sort order 10 < 20), made here when missing
DEMO_TASK_TAGS: dict[str, tuple[str, ...]] = {
    "Angebot für Bäckerei Schmidt nachfassen": ("Kunde",),
    "Wartungsvertrag Müller GmbH verlängern": ("Kunde", "VIP"),
    "Druckerproblem im Büro 2 klären": ("Lieferant",),
}
# note content prefix -> tag names (the same three tags)
DEMO_NOTE_TAGS: dict[str, tuple[str, ...]] = {
    "Herr Schmidt bevorzugt": ("Kunde",),
    "Müller GmbH wünscht": ("Kunde", "VIP"),
    "Ersatzteil für den Drucker": ("Lieferant",),
}
DEMO_TAG_COLORS = {"Kunde": "#22c55e", "VIP": "#eab308", "Lieferant": "#0ea5e9"}

# author key, content (Markdown), pinned
DEMO_NOTES: tuple[tuple[str, str, bool], ...] = (
    ("admin", "## Öffnungszeiten zwischen den Jahren\n\nVom **27. bis 30. Dezember** ist das Büro nur "
              "vormittags besetzt.", True),
    ("manager", "Vertriebsmeeting: Fokus auf **Bestandskunden** im nächsten Quartal.\n\n- Wartungsverträge\n"
                "- Zusatzangebote", True),
    ("staff1", "Herr Schmidt bevorzugt Anrufe am Vormittag.", False),
    ("staff2", "Müller GmbH wünscht die Rechnung künftig per E-Mail.", False),
    ("staff3", "Ersatzteil für den Drucker ist bestellt (Lieferung Donnerstag).", False),
)

# user key, type, summary, hours ago
DEMO_ACTIVITIES: tuple[tuple[str, str, str, int], ...] = (
    ("staff1", "call", "Telefonat mit Herrn Schmidt: Angebot besprochen", 50),
    ("staff2", "email", "E-Mail an Müller GmbH: Vertragsentwurf verschickt", 30),
    ("manager", "meeting", "Vertriebsmeeting: Quartalsziele besprochen", 26),
    ("staff3", "task", "Aufgabe erledigt: Handbuch für die neue Telefonanlage", 5),
    ("admin", "note", "Notiz: Öffnungszeiten zwischen den Jahren", 2),
)


async def demo(session: Any, tenant_id: uuid.UUID, users: dict[str, Any]) -> None:
    def who(key: str) -> Any:
        return users.get(key) or users.get("admin")

    today = dt.date.today()
    now = utcnow()
    creator = who("manager")
    positions: dict[str, int] = {}
    tasks: dict[str, Task] = {}
    for key, title, description, status, priority, due_in, subtasks in DEMO_TASKS:
        assignee = who(key)
        if assignee is None:
            continue
        position = positions.get(status, 0)
        positions[status] = position + 1
        tasks[title] = task = Task(
            tenant_id=tenant_id, title=title, description=description, status=status, priority=priority,
            due_date=today + dt.timedelta(days=due_in) if due_in is not None else None,
            assigned_to=assignee.id, created_by=(creator or assignee).id, position=position,
            subtasks=[{"id": str(uuid.uuid4()), "title": t, "done": done} for t, done in subtasks],
            completed_at=now - dt.timedelta(days=1) if status == "done" else None,
        )
        session.add(task)
    await session.flush()
    tags = await _tag_tasks(session, tenant_id, tasks)
    notes: list[Note] = []
    for key, content, pinned in DEMO_NOTES:
        author = who(key)
        if author is not None:
            notes.append(Note(tenant_id=tenant_id, content=content, author_id=author.id, is_pinned=pinned))
            session.add(notes[-1])
    await session.flush()
    for note in notes:
        for prefix, wanted in DEMO_NOTE_TAGS.items():
            if note.content.startswith(prefix):
                for name in wanted:
                    session.add(NoteTag(tenant_id=tenant_id, note_id=note.id, tag_id=tags[name].id))
    for key, kind, summary, hours_ago in DEMO_ACTIVITIES:
        user = who(key)
        session.add(Activity(tenant_id=tenant_id, type=kind, summary=summary, details={"demo": True},
                             user_id=user.id if user else None, occurred_at=now - dt.timedelta(hours=hours_ago)))
    await session.flush()


async def _tag_tasks(session: Any, tenant_id: uuid.UUID, tasks: dict[str, Task]) -> dict[str, Tag]:
    """Tag a few demo tasks, reusing the company's tags by name (the contacts demo may have made them);
    returns the demo tags by name (the notes get some of them too)."""
    names = {name for wanted in (*DEMO_TASK_TAGS.values(), *DEMO_NOTE_TAGS.values()) for name in wanted}
    tags = {t.name: t for t in await session.scalars(select(Tag).where(Tag.name.in_(names)))}
    for name in sorted(names - tags.keys()):
        tags[name] = Tag(tenant_id=tenant_id, name=name, color=DEMO_TAG_COLORS.get(name, "#64748b"))
        session.add(tags[name])
    await session.flush()
    for title, wanted in DEMO_TASK_TAGS.items():
        if title in tasks:
            for name in wanted:
                session.add(TaskTag(tenant_id=tenant_id, task_id=tasks[title].id, tag_id=tags[name].id))
    return tags
