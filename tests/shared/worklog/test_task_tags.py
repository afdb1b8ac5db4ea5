"""Tags on tasks: set/replace/clear, the list filter, validation against the company's tags, usage counts
on /api/tags, tag deletion removing the links, and the tag ids in task events."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories import Factory
from xynap.core.events import Event
from xynap.shared.worklog.models import TaskTag


@pytest.fixture
async def company(factory: Factory) -> tuple[Any, Any]:
    tenant = await factory.tenant(modules=("example",))
    return tenant, await factory.member(tenant, "admin")


async def _tag(session: Any, name: str, color: str = "#0ea5e9") -> dict[str, Any]:
    resp = await session.post("/api/tags", json={"name": name, "color": color})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _task(session: Any, **body: Any) -> dict[str, Any]:
    resp = await session.post("/api/tasks", json={"title": "Aufgabe", **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _names(task: dict[str, Any]) -> list[str]:
    return [t["name"] for t in task["tags"]]


async def test_set_replace_and_clear(company):
    _, admin = company
    vip, kunde, intern = [await _tag(admin, n) for n in ("VIP", "Kunde", "Intern")]
    task = await _task(admin, title="Angebot", tag_ids=[vip["id"], kunde["id"], vip["id"]])  # repeats count once
    assert _names(task) == ["Kunde", "VIP"] and task["tags"][1] == {"id": vip["id"], "name": "VIP",
                                                                     "color": "#0ea5e9"}
    assert _names((await admin.get(f"/api/tasks/{task['id']}")).json()) == ["Kunde", "VIP"]

    resp = await admin.put(f"/api/tasks/{task['id']}/tags", json={"tag_ids": [intern["id"], vip["id"]]})
    assert resp.status_code == 200, resp.text
    assert _names(resp.json()) == ["Intern", "VIP"] and resp.json()["version"] == task["version"]

    # PATCH replaces them too, and leaves them alone when tag_ids is left out
    resp = await admin.patch(f"/api/tasks/{task['id']}", json={"version": task["version"], "tag_ids": [kunde["id"]]})
    assert resp.status_code == 200 and _names(resp.json()) == ["Kunde"]
    resp = await admin.patch(f"/api/tasks/{task['id']}", json={"version": resp.json()["version"], "title": "Neu"})
    assert resp.status_code == 200 and _names(resp.json()) == ["Kunde"]
    resp = await admin.patch(f"/api/tasks/{task['id']}", json={"version": resp.json()["version"], "tag_ids": None})
    assert resp.status_code == 422

    resp = await admin.put(f"/api/tasks/{task['id']}/tags", json={"tag_ids": []})
    assert resp.status_code == 200 and resp.json()["tags"] == []
    assert (await admin.get(f"/api/tasks/{task['id']}")).json()["tags"] == []


async def test_filter_by_tag_and_tags_in_the_list(company):
    _, admin = company
    vip, kunde = await _tag(admin, "VIP"), await _tag(admin, "Kunde")
    a = await _task(admin, title="A", tag_ids=[vip["id"]])
    b = await _task(admin, title="B", tag_ids=[vip["id"], kunde["id"]])
    await _task(admin, title="C")
    resp = await admin.get("/api/tasks", params={"tag": vip["id"], "sort": "created_at"})
    assert resp.status_code == 200
    items = resp.json()["items"]
    assert [t["id"] for t in items] == [a["id"], b["id"]]
    assert [_names(t) for t in items] == [["VIP"], ["Kunde", "VIP"]]
    assert [t["title"] for t in (await admin.get("/api/tasks", params={"tag": kunde["id"]})).json()["items"]] == ["B"]
    untagged = {t["title"]: t for t in (await admin.get("/api/tasks")).json()["items"]}
    assert untagged["C"]["tags"] == []
    assert (await admin.get("/api/tasks", params={"tag": "kein-uuid"})).status_code == 422


async def test_unknown_and_foreign_tags_are_refused(company, factory):
    tenant, admin = company
    other = await factory.member(await factory.tenant(modules=("example",)), "admin")
    foreign = await _tag(other, "Fremd")
    mine = await _tag(admin, "Meins")
    unknown = "00000000-0000-4000-8000-000000000001"
    for bad in (unknown, foreign["id"]):
        resp = await admin.post("/api/tasks", json={"title": "X", "tag_ids": [mine["id"], bad]})
        assert resp.status_code == 422 and resp.json()["code"] == "invalid_tag"
        assert {e["field"] for e in resp.json()["errors"]} == {"tag_ids"}
    task = await _task(admin, tag_ids=[mine["id"]])
    resp = await admin.put(f"/api/tasks/{task['id']}/tags", json={"tag_ids": [foreign["id"]]})
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_tag"
    resp = await admin.patch(f"/api/tasks/{task['id']}", json={"version": task["version"], "title": "Y",
                                                               "tag_ids": [foreign["id"]]})
    assert resp.status_code == 422
    # nothing half-written: the refused requests changed neither the title nor the tags
    after = (await admin.get(f"/api/tasks/{task['id']}")).json()
    assert after["title"] == "Aufgabe" and _names(after) == ["Meins"]
    assert [t["title"] for t in (await admin.get("/api/tasks")).json()["items"]] == ["Aufgabe"]
    # the foreign tag was never linked to anything
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        assert list(await session.scalars(select(TaskTag).where(TaskTag.tag_id == uuid.UUID(foreign["id"])))) == []
    # and the other company's tag usage stays at zero; it cannot filter into our tasks either
    assert (await other.get(f"/api/tags/{foreign['id']}")).json()["usage"]["task"] == 0
    assert (await other.get("/api/tasks", params={"tag": mine["id"]})).json()["items"] == []


async def test_usage_counts_and_tag_deletion(company, factory):
    tenant, admin = company
    vip, spare = await _tag(admin, "VIP"), await _tag(admin, "Leer")
    tasks = [await _task(admin, title=t, tag_ids=[vip["id"]]) for t in ("A", "B")]
    contact = (await admin.post("/api/contacts", json={"last_name": "Kunde"})).json()
    assert (await admin.put(f"/api/contacts/{contact['id']}/tags", json={"tag_ids": [vip["id"]]})).status_code == 200

    usage = (await admin.get(f"/api/tags/{vip['id']}")).json()["usage"]
    assert usage["task"] == 2 and usage["contact"] == 1
    listed = {t["name"]: t["usage"] for t in (await admin.get("/api/tags")).json()}
    assert listed["VIP"]["task"] == 2 and listed["Leer"]["task"] == 0

    assert (await admin.delete(f"/api/tags/{vip['id']}")).status_code == 204
    for task in tasks:
        assert (await admin.get(f"/api/tasks/{task['id']}")).json()["tags"] == []
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        assert list(await session.scalars(select(TaskTag).where(TaskTag.tag_id == uuid.UUID(vip["id"])))) == []
    assert (await admin.get(f"/api/tags/{spare['id']}")).json()["usage"]["task"] == 0
    # deleting a task removes its links (and so its usage)
    await admin.put(f"/api/tasks/{tasks[0]['id']}/tags", json={"tag_ids": [spare["id"]]})
    assert (await admin.get(f"/api/tags/{spare['id']}")).json()["usage"]["task"] == 1
    assert (await admin.delete(f"/api/tasks/{tasks[0]['id']}")).status_code == 204
    assert (await admin.get(f"/api/tags/{spare['id']}")).json()["usage"]["task"] == 0


async def test_task_events_carry_the_tag_ids(company, factory, monkeypatch):
    import xynap.shared.worklog.api as worklog_api

    _, admin = company
    sent: list[tuple[str, dict[str, Any]]] = []
    real = worklog_api.publish

    def spy(db: Any, name: str, payload: Any = None, **kw: Any) -> Event:
        sent.append((name, dict(payload or {})))
        return real(db, name, payload, **kw)

    monkeypatch.setattr(worklog_api, "publish", spy)
    vip = await _tag(admin, "VIP")
    task = await _task(admin, tag_ids=[vip["id"]])
    await admin.put(f"/api/tasks/{task['id']}/tags", json={"tag_ids": []})
    await admin.delete(f"/api/tasks/{task['id']}")
    assert [(name, [str(t) for t in p["tag_ids"]]) for name, p in sent] == [
        ("task.created", [vip["id"]]), ("task.updated", []), ("task.deleted", [])]
    assert sent[1][1]["changed"] == ["tag_ids"]


async def test_staff_cannot_tag_tasks_outside_their_write_scope(company, factory):
    tenant, admin = company
    staff = await factory.member(tenant, "staff")
    vip = await _tag(admin, "VIP")
    mine = await _task(staff, title="Meine")
    resp = await staff.put(f"/api/tasks/{mine['id']}/tags", json={"tag_ids": [vip["id"]]})
    assert resp.status_code == 200 and _names(resp.json()) == ["VIP"]
    foreign = await _task(admin, title="Chef")  # the admin's own task: not visible to staff without a team
    resp = await staff.put(f"/api/tasks/{foreign['id']}/tags", json={"tag_ids": [vip["id"]]})
    assert resp.status_code == 404
    assert (await admin.get(f"/api/tasks/{foreign['id']}")).json()["tags"] == []


async def test_demo_tags_a_few_tasks(runtime):
    from tests.factories import unique
    from xynap.platform.demo import seed_demo
    from xynap.shared.tags.models import Tag
    from xynap.shared.worklog.models import Task

    result = await seed_demo(runtime, slug=unique("tasks-demo"), strict=True)
    async with runtime.db.tenant_session(result.tenant_id) as session:
        rows = (await session.execute(select(Task.title, Tag.name).join(TaskTag, TaskTag.task_id == Task.id)
                                      .join(Tag, Tag.id == TaskTag.tag_id))).all()
        tagged: dict[str, set[str]] = {}
        for title, name in rows:
            tagged.setdefault(title, set()).add(name)
        assert tagged["Wartungsvertrag Müller GmbH verlängern"] == {"Kunde", "VIP"}
        assert len(tagged) == 3
        # the contacts demo's tags are reused, not made twice
        assert sorted(t.name for t in await session.scalars(select(Tag))) == ["Kunde", "Lieferant", "VIP"]
