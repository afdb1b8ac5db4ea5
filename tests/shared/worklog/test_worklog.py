"""Tasks, notes and the activity timeline (shared worklog component) on the live API."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select

from tests.factories import Factory, TenantHandle
from xynap.core.events import Event, drain, publish
from xynap.shared.worklog import activities_module, notes_module
from xynap.shared.worklog.events import record_activity
from xynap.shared.worklog.models import Activity


@pytest.fixture(scope="module")
async def wl_runtime(runtime, settings) -> AsyncIterator[Any]:
    """The test runtime plus the notes and activities manifests (until their entry points exist)."""
    from xynap.app import build_runtime, create_app

    extra = [m for m in (notes_module, activities_module) if runtime.registry.get(m.slug) is None]
    if not extra:
        yield runtime
        return
    rt = build_runtime(settings, db=runtime.db, extra_modules=extra)
    rt.extras["app"] = create_app(runtime=rt, background=False)
    yield rt


@pytest.fixture(scope="module")
async def wl_app(wl_runtime, app) -> AsyncIterator[Any]:
    own = wl_runtime.extras.get("app")
    if own is None:
        yield app
        return
    async with LifespanManager(own):
        yield own


@pytest.fixture
async def wl(wl_runtime, wl_app) -> AsyncIterator[Factory]:
    transport = httpx.ASGITransport(app=wl_app, client=("127.0.0.1", 40001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Factory(wl_runtime, client)


async def _team(factory: Factory, tenant: TenantHandle, *members: Any) -> None:
    from xynap.platform.users.models import Team, TeamMember

    async with factory.runtime.db.tenant_session(tenant.id) as session:
        team = Team(name=f"Team {uuid.uuid4().hex[:6]}")
        session.add(team)
        await session.flush()
        for member in members:
            session.add(TeamMember(team_id=team.id, user_id=member.user_id))
    factory.runtime.invalidate_tenant(tenant.id)


async def _company(wl: Factory) -> TenantHandle:
    return await wl.tenant(modules=("example",))


def _fields(resp: httpx.Response) -> set[str]:
    return {e["field"] for e in resp.json().get("errors", [])}


async def _task(session: Any, **body: Any) -> dict[str, Any]:
    resp = await session.post("/api/tasks", json={"title": "Aufgabe", **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


# --- tasks ------------------------------------------------------------------------------------------


async def test_task_crud(wl: Factory):
    tenant = await _company(wl)
    admin = await wl.member(tenant, "admin")
    staff = await wl.member(tenant, "staff")
    created = await _task(admin, title="Angebot nachfassen", priority="high", due_date="2026-12-01",
                          description="**Wichtig**: <script>bleibt roh</script>",
                          subtasks=[{"title": "Anrufen"}, {"title": "Mail", "done": True}])
    assert created["assigned_to"] == str(admin.user_id) and created["created_by"] == str(admin.user_id)
    assert created["status"] == "open" and created["version"] == 1 and created["completed_at"] is None
    assert created["description"] == "**Wichtig**: <script>bleibt roh</script>"  # stored raw
    assert [s["title"] for s in created["subtasks"]] == ["Anrufen", "Mail"]
    assert all(uuid.UUID(s["id"]) for s in created["subtasks"])
    task_id = created["id"]

    resp = await admin.get(f"/api/tasks/{task_id}")
    assert resp.status_code == 200 and resp.json()["title"] == "Angebot nachfassen"

    resp = await admin.patch(f"/api/tasks/{task_id}", json={
        "version": 1, "status": "done", "assigned_to": str(staff.user_id),
        "subtasks": [{**created["subtasks"][0], "done": True}]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["version"] == 2 and body["status"] == "done" and body["completed_at"] is not None
    assert body["assigned_to"] == str(staff.user_id)
    assert body["subtasks"] == [{**created["subtasks"][0], "done": True}]

    resp = await admin.patch(f"/api/tasks/{task_id}", json={"version": 2, "status": "open", "due_date": None})
    assert resp.json()["completed_at"] is None and resp.json()["due_date"] is None

    unassigned = await _task(admin, title="Für alle", assigned_to=None)
    assert unassigned["assigned_to"] is None

    resp = await admin.delete(f"/api/tasks/{task_id}")
    assert resp.status_code == 204
    resp = await admin.get(f"/api/tasks/{task_id}")
    assert resp.status_code == 404 and resp.json()["code"] == "task_not_found"


async def test_task_validation_names_the_fields(wl: Factory):
    tenant = await _company(wl)
    admin = await wl.member(tenant, "admin")
    resp = await admin.post("/api/tasks", json={"title": "x", "status": "erledigt", "priority": "sofort",
                                                "due_date": "2026-13-45"})
    assert resp.status_code == 422 and resp.json()["code"] == "validation_error"
    assert {"status", "priority", "due_date"} <= _fields(resp)
    resp = await admin.post("/api/tasks", json={"title": ""})
    assert resp.status_code == 422 and "title" in _fields(resp)
    resp = await admin.post("/api/tasks", json={"title": "x", "assigned_to": str(uuid.uuid4())})
    assert resp.status_code == 422 and _fields(resp) == {"assigned_to"}
    resp = await admin.post("/api/tasks", json={"title": "x", "linked_entity_type": "Not Valid!"})
    assert resp.status_code == 422 and "linked_entity_type" in _fields(resp)

    task = await _task(admin)
    resp = await admin.patch(f"/api/tasks/{task['id']}", json={"version": 1, "title": None})
    assert resp.status_code == 422
    resp = await admin.patch(f"/api/tasks/{task['id']}", json={"title": "ohne Version"})
    assert resp.status_code == 422 and "version" in _fields(resp)
    resp = await admin.get("/api/tasks", params={"status": "zu"})
    assert resp.status_code == 422 and "status" in _fields(resp)
    resp = await admin.get("/api/tasks", params={"due_before": "gestern"})
    assert resp.status_code == 422 and "due_before" in _fields(resp)
    resp = await admin.get("/api/tasks", params={"assignee": "jemand"})
    assert resp.status_code == 422 and "assignee" in _fields(resp)
    resp = await admin.get("/api/tasks", params={"sort": "title"})
    assert resp.status_code == 422 and "sort" in _fields(resp)
    resp = await admin.get("/api/tasks", params={"cursor": "kaputt"})
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_cursor"
    resp = await admin.post(f"/api/tasks/{task['id']}/move", json={"status": "later", "position": -1})
    assert resp.status_code == 422 and {"status", "position"} <= _fields(resp)


async def test_staff_scope_on_tasks(wl: Factory):
    tenant = await _company(wl)
    admin = await wl.member(tenant, "admin")
    julia = await wl.member(tenant, "staff")
    markus = await wl.member(tenant, "staff")
    sabine = await wl.member(tenant, "staff")  # in no team with Julia
    external = await wl.member(tenant, "external")
    await _team(wl, tenant, julia, markus)
    # principals were cached at login: log in again so the team counts
    julia, markus, sabine = [await _relogin(wl, tenant, s) for s in (julia, markus, sabine)]

    own = await _task(julia, title="Julias Aufgabe")
    assert own["assigned_to"] == str(julia.user_id)
    resp = await julia.post("/api/tasks", json={"title": "Für Markus", "assigned_to": str(markus.user_id)})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_scope"

    # a team mate sees the task but may not change or delete it
    assert (await markus.get(f"/api/tasks/{own['id']}")).status_code == 200
    listed = (await markus.get("/api/tasks")).json()["items"]
    assert own["id"] in {t["id"] for t in listed}
    resp = await markus.patch(f"/api/tasks/{own['id']}", json={"version": 1, "title": "Übernommen"})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_scope"
    resp = await markus.post(f"/api/tasks/{own['id']}/move", json={"status": "done", "position": 0})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_scope"
    assert (await markus.delete(f"/api/tasks/{own['id']}")).status_code == 403

    # someone outside the team does not even see it
    assert (await sabine.get(f"/api/tasks/{own['id']}")).status_code == 404
    assert own["id"] not in {t["id"] for t in (await sabine.get("/api/tasks")).json()["items"]}

    # the owner may change it, but not hand it out of their own scope
    resp = await julia.patch(f"/api/tasks/{own['id']}", json={"version": 1, "title": "Neu"})
    assert resp.status_code == 200
    resp = await julia.patch(f"/api/tasks/{own['id']}", json={"version": 2, "assigned_to": str(markus.user_id)})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_scope"

    # external people read only their own tasks and create none
    mine = await _task(admin, title="Für die Kanzlei", assigned_to=str(external.user_id))
    items = (await external.get("/api/tasks")).json()["items"]
    assert [t["id"] for t in items] == [mine["id"]]
    resp = await external.post("/api/tasks", json={"title": "x"})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_denied"

    # the admin sees everything and may reassign
    resp = await admin.patch(f"/api/tasks/{own['id']}", json={"version": 2, "assigned_to": str(markus.user_id)})
    assert resp.status_code == 200 and resp.json()["assigned_to"] == str(markus.user_id)


async def _relogin(wl: Factory, tenant: TenantHandle, session: Any) -> Any:
    user = next(u for u in tenant.users.values() if u.id == session.user_id)
    fresh = await wl.login(tenant, user.email)
    fresh.user_id = user.id
    return fresh


async def test_version_conflict(wl: Factory):
    tenant = await _company(wl)
    admin = await wl.member(tenant, "admin")
    task = await _task(admin)
    assert (await admin.patch(f"/api/tasks/{task['id']}", json={"version": 1, "title": "A"})).status_code == 200
    resp = await admin.patch(f"/api/tasks/{task['id']}", json={"version": 1, "title": "B"})
    assert resp.status_code == 409 and resp.json()["code"] == "version_conflict"
    resp = await admin.post(f"/api/tasks/{task['id']}/move", json={"status": "done", "position": 0, "version": 1})
    assert resp.status_code == 409 and resp.json()["code"] == "version_conflict"
    assert (await admin.get(f"/api/tasks/{task['id']}")).json()["title"] == "A"


async def test_board_move_orders_columns(wl: Factory):
    tenant = await _company(wl)
    admin = await wl.member(tenant, "admin")
    a, b, c = [await _task(admin, title=t) for t in "ABC"]

    async def column(status: str) -> list[str]:
        resp = await admin.get("/api/tasks", params={"status": status, "sort": "position"})
        return [t["title"] for t in resp.json()["items"]]

    assert await column("open") == ["A", "B", "C"]
    resp = await admin.post(f"/api/tasks/{c['id']}/move", json={"status": "open", "position": 0, "version": 1})
    assert resp.status_code == 200, resp.text
    assert await column("open") == ["C", "A", "B"]
    resp = await admin.post(f"/api/tasks/{c['id']}/move", json={"status": "open", "position": 99})
    assert await column("open") == ["A", "B", "C"]
    resp = await admin.post(f"/api/tasks/{a['id']}/move", json={"status": "in_progress", "position": 0})
    assert resp.json()["status"] == "in_progress" and resp.json()["completed_at"] is None
    resp = await admin.post(f"/api/tasks/{b['id']}/move", json={"status": "in_progress", "position": 0})
    assert await column("open") == ["C"]
    assert await column("in_progress") == ["B", "A"]
    resp = await admin.post(f"/api/tasks/{a['id']}/move", json={"status": "done", "position": 0})
    assert resp.json()["status"] == "done" and resp.json()["completed_at"] is not None
    assert await column("in_progress") == ["B"] and await column("done") == ["A"]
    # only the moved task's version changes: a colleague's open edit of B stays valid
    assert (await admin.get(f"/api/tasks/{c['id']}")).json()["version"] == 3
    resp = await admin.patch(f"/api/tasks/{b['id']}", json={"version": 2, "title": "B2"})
    assert resp.status_code == 200, resp.text


async def test_my_tasks_filters_and_sorting(wl: Factory):
    tenant = await _company(wl)
    admin = await wl.member(tenant, "admin")
    staff = await wl.member(tenant, "staff")
    contact = uuid.uuid4()
    today = dt.date.today()
    await _task(admin, title="später", priority="low", due_date=str(today + dt.timedelta(days=10)))
    await _task(admin, title="überfällig", priority="urgent", due_date=str(today - dt.timedelta(days=2)),
                linked_contact_id=str(contact))
    await _task(admin, title="ohne Datum", priority="medium")
    await _task(admin, title="heute", priority="high", due_date=str(today), assigned_to=str(staff.user_id))

    mine = (await admin.get("/api/tasks", params={"assignee": "me"})).json()["items"]
    assert {t["title"] for t in mine} == {"später", "überfällig", "ohne Datum"}
    assert [t["title"] for t in (await staff.get("/api/tasks", params={"assignee": "me"})).json()["items"]] \
        == ["heute"]

    async def titles(**params: Any) -> list[str]:
        resp = await admin.get("/api/tasks", params=params)
        assert resp.status_code == 200, resp.text
        return [t["title"] for t in resp.json()["items"]]

    assert await titles(sort="due_date") == ["überfällig", "heute", "später", "ohne Datum"]
    assert await titles(sort="-due_date") == ["ohne Datum", "später", "heute", "überfällig"]
    assert await titles(sort="-priority") == ["überfällig", "heute", "ohne Datum", "später"]
    assert await titles(due_before=str(today)) == ["heute", "überfällig"]
    assert await titles(due_after=str(today), sort="due_date") == ["heute", "später"]
    assert await titles(linked_contact_id=str(contact)) == ["überfällig"]
    assert await titles(priority="low") == ["später"]
    assert await titles(assignee=str(staff.user_id)) == ["heute"]

    # keyset pages: every task exactly once, in order
    for sort in ("due_date", "-due_date", "priority", "-created_at", "position"):
        seen, cursor = [], None
        while True:
            params = {"sort": sort, "limit": 1} | ({"cursor": cursor} if cursor else {})
            body = (await admin.get("/api/tasks", params=params)).json()
            seen += [t["title"] for t in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert seen == await titles(sort=sort), sort
        assert len(seen) == 4


async def test_module_gate(wl: Factory):
    tenant = await wl.tenant()  # no module booked: shared components stay closed
    admin = await wl.member(tenant, "admin")
    for url in ("/api/tasks", "/api/notes", "/api/activities"):
        resp = await admin.get(url)
        assert resp.status_code == 403 and resp.json()["code"] == "module_not_enabled", url


# --- notes ------------------------------------------------------------------------------------------


async def test_notes(wl: Factory):
    tenant = await _company(wl)
    admin = await wl.member(tenant, "admin")
    julia = await wl.member(tenant, "staff")
    markus = await wl.member(tenant, "staff")
    contact = uuid.uuid4()
    first = (await julia.post("/api/notes", json={"content": "# Erste\n\n<b>roh</b>",
                                                  "linked_contact_id": str(contact)})).json()
    assert first["author_id"] == str(julia.user_id) and first["content"] == "# Erste\n\n<b>roh</b>"
    second = (await markus.post("/api/notes", json={"content": "Zweite", "linked_contact_id": str(contact)})).json()
    pinned = (await admin.post("/api/notes", json={"content": "Wichtig", "is_pinned": True,
                                                   "linked_contact_id": str(contact)})).json()
    await admin.post("/api/notes", json={"content": "Anderer Kontakt"})

    resp = await markus.get("/api/notes", params={"linked_contact_id": str(contact)})
    assert [n["id"] for n in resp.json()["items"]] == [pinned["id"], second["id"], first["id"]]
    pages, cursor = [], None
    while True:
        params = {"linked_contact_id": str(contact), "limit": 1} | ({"cursor": cursor} if cursor else {})
        body = (await markus.get("/api/notes", params=params)).json()
        pages += [n["id"] for n in body["items"]]
        if not (cursor := body["next_cursor"]):
            break
    assert pages == [pinned["id"], second["id"], first["id"]]

    assert (await markus.get(f"/api/notes/{first['id']}")).status_code == 200  # staff read all notes
    resp = await markus.patch(f"/api/notes/{first['id']}", json={"version": 1, "content": "fremd"})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_scope"
    assert (await markus.delete(f"/api/notes/{first['id']}")).status_code == 403

    resp = await julia.patch(f"/api/notes/{first['id']}", json={"version": 1, "is_pinned": True})
    assert resp.status_code == 200 and resp.json()["is_pinned"] and resp.json()["version"] == 2
    resp = await julia.patch(f"/api/notes/{first['id']}", json={"version": 1, "content": "alt"})
    assert resp.status_code == 409 and resp.json()["code"] == "version_conflict"
    resp = await julia.post("/api/notes", json={"content": ""})
    assert resp.status_code == 422 and "content" in _fields(resp)

    assert (await julia.delete(f"/api/notes/{first['id']}")).status_code == 204
    assert (await julia.get(f"/api/notes/{first['id']}")).status_code == 404


# --- the timeline -----------------------------------------------------------------------------------


async def test_events_feed_the_timeline(wl: Factory):
    tenant = await _company(wl)
    admin = await wl.member(tenant, "admin")
    staff = await wl.member(tenant, "staff")
    external = await wl.member(tenant, "external")
    contact = uuid.uuid4()
    assert await drain(wl.runtime)  # earlier events must not mix in

    task = await _task(admin, title="Rückruf Schmidt", linked_contact_id=str(contact))
    await _task(admin, title="Ohne Kontakt")
    await admin.post(f"/api/tasks/{task['id']}/move", json={"status": "done", "position": 0})
    await admin.post("/api/notes", json={"content": "Kunde ist zufrieden", "linked_contact_id": str(contact)})
    assert await drain(wl.runtime)

    resp = await staff.get("/api/activities", params={"contact_id": str(contact)})
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert [a["type"] for a in items] == ["note", "task", "task", "task"]
    assert [a["summary"] for a in items] == ["Notiz: Kunde ist zufrieden", "Aufgabe erledigt: Rückruf Schmidt",
                                             "Aufgabe geändert: Rückruf Schmidt", "Aufgabe angelegt: Rückruf Schmidt"]
    occurred = [a["occurred_at"] for a in items]
    assert occurred == sorted(occurred, reverse=True)
    assert all(a["user_id"] == str(admin.user_id) and a["contact_id"] == str(contact) for a in items)
    assert items[-1]["entity_type"] == "task" and items[-1]["entity_id"] == task["id"]

    one = await staff.get(f"/api/activities/{items[0]['id']}")
    assert one.status_code == 200 and one.json() == items[0]
    page = (await staff.get("/api/activities", params={"contact_id": str(contact), "limit": 3})).json()
    rest = (await staff.get("/api/activities", params={"contact_id": str(contact), "cursor": page["next_cursor"]}))
    assert [a["id"] for a in page["items"] + rest.json()["items"]] == [a["id"] for a in items]

    resp = await external.get("/api/activities")
    assert resp.status_code == 403 and resp.json()["code"] == "permission_denied"


async def test_the_handler_is_idempotent_and_ignores_events_without_contact(wl: Factory):
    tenant = await _company(wl)
    admin = await wl.member(tenant, "admin")
    contact = uuid.uuid4()
    event = Event(id=uuid.uuid4(), name="contact.created", payload={"contact_id": str(contact), "name": "Fa. X"},
                  tenant_id=tenant.id, actor_id=admin.user_id)
    await record_activity(event)
    await record_activity(event)  # redelivered
    await record_activity(Event(id=uuid.uuid4(), name="task.created", payload={"title": "x"}, tenant_id=tenant.id))
    async with wl.runtime.db.tenant_session(tenant.id) as session:
        rows = (await session.scalars(select(Activity))).all()
    assert len(rows) == 1
    assert rows[0].source_event_id == event.id and rows[0].contact_id == contact
    assert rows[0].type == "contact_update" and rows[0].summary == "Kontakt angelegt"

    # through the bus as well: a committed contact event (from another component) is recorded once
    async with wl.runtime.db.tenant_session(tenant.id) as session:
        publish(session, "contact.updated", {"contact_id": str(contact), "summary": "Adresse geändert"})
    assert await drain(wl.runtime)
    bus = wl.runtime.extras["event_bus"]
    async with wl.runtime.db.tenant_session(tenant.id) as session:
        latest = await session.scalar(select(Activity).where(Activity.summary == "Kontakt geändert"))
        again = Event(id=latest.source_event_id, name="contact.updated", payload={"contact_id": str(contact)},
                      tenant_id=tenant.id)
    for sub in bus.handlers_for("contact.updated", "activities"):
        await sub.handler(again)
    async with wl.runtime.db.tenant_session(tenant.id) as session:
        assert await session.scalar(select(func.count()).select_from(Activity)) == 2


async def test_note_changes_are_published_and_deletions_reach_the_timeline(wl: Factory):
    from xynap.core.kernel_models import OutboxEvent

    tenant = await _company(wl)
    julia = await wl.member(tenant, "staff")
    contact = uuid.uuid4()
    assert await drain(wl.runtime)  # earlier events must not mix in

    note = (await julia.post("/api/notes", json={"content": "Angebot  geschickt", "linked_contact_id": str(contact)}))
    note = note.json()
    resp = await julia.patch(f"/api/notes/{note['id']}", json={"version": 1, "content": "Angebot angenommen",
                                                                 "is_pinned": True})
    assert resp.status_code == 200, resp.text
    assert (await julia.put(f"/api/notes/{note['id']}/tags", json={"tag_ids": []})).status_code == 200
    # a refused edit publishes nothing (the transaction is rolled back)
    assert (await julia.patch(f"/api/notes/{note['id']}", json={"version": 1, "content": "alt"})).status_code == 409
    assert (await julia.delete(f"/api/notes/{note['id']}")).status_code == 204

    async with wl.runtime.db.tenant_session(tenant.id) as session:
        events = list(await session.scalars(select(OutboxEvent).where(OutboxEvent.name.like("note.%"))
                                            .order_by(OutboxEvent.created_at, OutboxEvent.id)))
    assert [e.name for e in events] == ["note.created", "note.updated", "note.updated", "note.deleted"]
    # seen live by whoever may read notes, scoped by the author like note.created
    assert all(e.permission == "notes.note:read" and e.owner_id == julia.user_id for e in events)
    assert all(e.payload["id"] == note["id"] and e.payload["contact_id"] == str(contact) for e in events)
    assert events[1].payload["changed"] == ["content", "is_pinned"] and events[1].payload["version"] == 2
    assert events[1].payload["excerpt"] == "Angebot angenommen" and events[1].payload["is_pinned"] is True
    assert events[2].payload["changed"] == ["tag_ids"]
    assert events[3].payload["excerpt"] == "Angebot angenommen" and "changed" not in events[3].payload

    assert await drain(wl.runtime)
    items = (await julia.get("/api/activities", params={"contact_id": str(contact)})).json()["items"]
    # edits are not timeline entries; creation and deletion are (rendered in the UI from details.event)
    assert [a["details"]["event"] for a in items] == ["note.deleted", "note.created"]
    assert [a["summary"] for a in items] == ["Notiz gelöscht: Angebot angenommen", "Notiz: Angebot geschickt"]
    assert all(a["type"] == "note" and a["entity_id"] == note["id"] for a in items)
    assert items[0]["details"]["excerpt"] == "Angebot angenommen" and "contact_id" not in items[0]["details"]
