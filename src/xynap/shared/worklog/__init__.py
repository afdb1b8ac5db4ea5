"""Shared component: tasks, notes and the activity timeline (spec §3.4).

Three manifests live here, each mounted under its own prefix:

* ``module`` (slug ``tasks``, ``/api/tasks``) — tasks and the board; owns the Alembic branch
  ``worklog`` with all three tables and the demo data of all three;
* ``notes_module`` (slug ``notes``, ``/api/notes``) — Markdown notes;
* ``activities_module`` (slug ``activities``, ``/api/activities``) — the timeline, fed by events.

Entry points (group ``xynap.modules``): ``tasks = "xynap.shared.worklog:module"``,
``notes = "xynap.shared.worklog:notes_module"``, ``activities = "xynap.shared.worklog:activities_module"``.
"""

from pathlib import Path

from xynap.core.modules import Module, PermissionDecl, UIEntry
from xynap.core.search import SearchSource
from xynap.shared.contacts.references import register_contact_reference
from xynap.shared.tags.registry import register_tag_link
from xynap.shared.worklog.api import activities_router, notes_router, tasks_router
from xynap.shared.worklog.demo import demo
from xynap.shared.worklog.events import EVENT_HANDLERS
from xynap.shared.worklog.models import Activity, Note, NoteTag, Task, TaskTag

# What the global search finds (see xynap.core.search); the owner is who the record scopes refer to.
TASK_SEARCH = SearchSource(
    type="task", model=Task, permission="tasks.task:read", owner_attr="assigned_to", title=lambda t: t.title,
    subtitle=lambda t: t.due_date.isoformat() if t.due_date else "", body=lambda t: t.description or "",
    url="/tasks/{id}", icon="check-square", label={"de": "Aufgaben", "en": "Tasks"})
NOTE_SEARCH = SearchSource(
    type="note", model=Note, permission="notes.note:read", owner_attr="author_id",
    title=lambda n: next((line.lstrip("#> -*").strip() for line in (n.content or "").splitlines() if line.strip()), ""),
    body=lambda n: n.content or "", url="/notes/{id}", icon="notebook-pen", label={"de": "Notizen", "en": "Notes"})

# A contact merge moves these links from the merged contact to the survivor.
register_contact_reference(Task, "linked_contact_id")
register_contact_reference(Note, "linked_contact_id")
register_contact_reference(Activity, "contact_id")
# Usage counts on /api/tags ({"task": n, "note": n}) and tag deletion reach the link tables through the registry.
register_tag_link("task", TaskTag, TaskTag.tag_id)
register_tag_link("note", NoteTag, NoteTag.tag_id)

OWN_RECORDS = {"read": "team", "create": "own", "update": "own", "delete": "own"}

module = Module(
    slug="tasks", name="Aufgaben", kind="shared", icon="check-square", color="#22c55e", sort_order=20,
    description="Tasks, notes and the activity timeline shared by every module",
    permissions=[
        PermissionDecl("tasks.task", label="Tasks", defaults={
            "admin": "all", "manager": "all", "staff": OWN_RECORDS, "external": {"read": "own"}}),
    ],
    routers=[tasks_router],
    search_sources=[TASK_SEARCH],
    ui=UIEntry(path="/tasks", label={"de": "Aufgaben", "en": "Tasks"}),
    migrations=Path(__file__).parent / "migrations" / "versions",
)
module.demo = demo  # type: ignore[attr-defined]  # optional manifest extra read by xynap.platform.demo

notes_module = Module(
    slug="notes", name="Notizen", kind="shared", icon="notebook-pen", color="#eab308", sort_order=21,
    description="Markdown notes on contacts and records",
    permissions=[
        PermissionDecl("notes.note", label="Notes", defaults={
            "admin": "all", "manager": "all", "staff": {**OWN_RECORDS, "read": "all"},
            "external": {"read": "own"}}),
    ],
    routers=[notes_router],
    search_sources=[NOTE_SEARCH],
)

activities_module = Module(
    slug="activities", name="Aktivitäten", kind="shared", icon="activity", color="#8b5cf6", sort_order=22,
    description="The timeline of what happened with a contact or record",
    permissions=[
        PermissionDecl("activities.activity", actions=("read",), label="Activities", defaults={
            "admin": "all", "manager": "all", "staff": "all"}),
    ],
    routers=[activities_router],
    event_handlers=EVENT_HANDLERS,
)

__all__ = ["Activity", "Note", "Task", "activities_module", "module", "notes_module"]
