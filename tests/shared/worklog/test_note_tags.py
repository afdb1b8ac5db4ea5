"""Tags on notes: set/replace/clear (create, PATCH, PUT …/tags), the list filter, validation against the
company's tags, no half-written change, usage counts on /api/tags, tag and note deletion removing the links,
the record scope, the tag ids in ``note.created`` and the demo's tagged notes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories import Factory
from xynap.core.events import Event
from xynap.shared.worklog.models import NoteTag


@pytest.fixture
async def company(factory: Factory) -> tuple[Any, Any]:
    tenant = await factory.tenant(modules=("example",))
    return tenant, await factory.member(tenant, "admin")


async def _tag(session: Any, name: str, color: str = "#0ea5e9") -> dict[str, Any]:
    resp = await session.post("/api/tags", json={"name": name, "color": color})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _note(session: Any, **body: Any) -> dict[str, Any]:
    resp = await session.post("/api/notes", json={"content": "Notiz", **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _names(note: dict[str, Any]) -> list[str]:
    return [t["name"] for t in note["tags"]]


async def test_set_replace_and_clear(company):
    _, admin = company
    vip, kunde, intern = [await _tag(admin, n) for n in ("VIP", "Kunde", "Intern")]
    note = await _note(admin, content="Angebot", tag_ids=[vip["id"], kunde["id"], vip["id"]])  # repeats count once
    assert _names(note) == ["Kunde", "VIP"]
    assert note["tags"][1] == {"id": vip["id"], "name": "VIP", "color": "#0ea5e9"}
    assert _names((await admin.get(f"/api/notes/{note['id']}")).json()) == ["Kunde", "VIP"]
    assert (await _note(admin, content="Ohne"))["tags"] == []

    resp = await admin.put(f"/api/notes/{note['id']}/tags", json={"tag_ids": [intern["id"], vip["id"]]})
    assert resp.status_code == 200, resp.text
    assert _names(resp.json()) == ["Intern", "VIP"] and resp.json()["version"] == note["version"]

    # PATCH replaces them too (without counting up the version), and keeps them when tag_ids is left out
    resp = await admin.patch(f"/api/notes/{note['id']}", json={"version": note["version"], "tag_ids": [kunde["id"]]})
    assert resp.status_code == 200 and _names(resp.json()) == ["Kunde"] and resp.json()["version"] == note["version"]
    resp = await admin.patch(f"/api/notes/{note['id']}", json={"version": note["version"], "content": "Neu"})
    assert resp.status_code == 200 and _names(resp.json()) == ["Kunde"] and resp.json()["content"] == "Neu"
    version = resp.json()["version"]
    assert version == note["version"] + 1
    resp = await admin.patch(f"/api/notes/{note['id']}", json={"version": version, "tag_ids": None})
    assert resp.status_code == 422
    # a stale version is refused before the tags change
    resp = await admin.patch(f"/api/notes/{note['id']}", json={"version": note["version"], "tag_ids": []})
    assert resp.status_code == 409
    assert _names((await admin.get(f"/api/notes/{note['id']}")).json()) == ["Kunde"]

    resp = await admin.put(f"/api/notes/{note['id']}/tags", json={"tag_ids": []})
    assert resp.status_code == 200 and resp.json()["tags"] == []
    assert (await admin.get(f"/api/notes/{note['id']}")).json()["tags"] == []


async def test_filter_by_tag_and_tags_in_the_list(company):
    _, admin = company
    vip, kunde = await _tag(admin, "VIP"), await _tag(admin, "Kunde")
    contact = str(uuid.uuid4())
    a = await _note(admin, content="A", tag_ids=[vip["id"]], linked_contact_id=contact)
    b = await _note(admin, content="B", tag_ids=[vip["id"], kunde["id"]], is_pinned=True)
    await _note(admin, content="C")
    resp = await admin.get("/api/notes", params={"tag": vip["id"]})
    assert resp.status_code == 200
    items = resp.json()["items"]
    assert [n["id"] for n in items] == [b["id"], a["id"]]  # pinned first, then newest first
    assert [_names(n) for n in items] == [["Kunde", "VIP"], ["VIP"]]
    assert [n["content"] for n in (await admin.get("/api/notes", params={"tag": kunde["id"]})).json()["items"]] == ["B"]
    # the tag filter combines with the other filters
    both = (await admin.get("/api/notes", params={"tag": vip["id"], "linked_contact_id": contact})).json()["items"]
    assert [n["content"] for n in both] == ["A"]
    assert (await admin.get("/api/notes", params={"tag": kunde["id"], "pinned": "false"})).json()["items"] == []
    listed = {n["content"]: n for n in (await admin.get("/api/notes")).json()["items"]}
    assert listed["C"]["tags"] == [] and _names(listed["B"]) == ["Kunde", "VIP"]
    assert (await admin.get("/api/notes", params={"tag": "kein-uuid"})).status_code == 422
    # paging through a tag: every tagged note once
    first = (await admin.get("/api/notes", params={"tag": vip["id"], "limit": 1})).json()
    second = (await admin.get("/api/notes", params={"tag": vip["id"], "limit": 1,
                                                     "cursor": first["next_cursor"]})).json()
    assert [n["id"] for n in first["items"] + second["items"]] == [b["id"], a["id"]]


async def test_unknown_and_foreign_tags_are_refused(company, factory):
    tenant, admin = company
    other = await factory.member(await factory.tenant(modules=("example",)), "admin")
    foreign = await _tag(other, "Fremd")
    mine = await _tag(admin, "Meins")
    unknown = "00000000-0000-4000-8000-000000000001"
    for bad in (unknown, foreign["id"]):
        resp = await admin.post("/api/notes", json={"content": "X", "tag_ids": [mine["id"], bad]})
        assert resp.status_code == 422 and resp.json()["code"] == "invalid_tag"
        assert {e["field"] for e in resp.json()["errors"]} == {"tag_ids"}
    note = await _note(admin, tag_ids=[mine["id"]])
    resp = await admin.put(f"/api/notes/{note['id']}/tags", json={"tag_ids": [foreign["id"]]})
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_tag"
    resp = await admin.patch(f"/api/notes/{note['id']}", json={"version": note["version"], "content": "Y",
                                                               "tag_ids": [foreign["id"]]})
    assert resp.status_code == 422
    # nothing half-written: the refused requests changed neither the content nor the tags, and made no note
    after = (await admin.get(f"/api/notes/{note['id']}")).json()
    assert after["content"] == "Notiz" and _names(after) == ["Meins"] and after["version"] == note["version"]
    assert [n["content"] for n in (await admin.get("/api/notes")).json()["items"]] == ["Notiz"]
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        assert list(await session.scalars(select(NoteTag).where(NoteTag.tag_id == uuid.UUID(foreign["id"])))) == []
    # the other company sees no usage of its tag and cannot filter into our notes with ours
    assert (await other.get(f"/api/tags/{foreign['id']}")).json()["usage"]["note"] == 0
    assert (await other.get("/api/notes", params={"tag": mine["id"]})).json()["items"] == []


async def test_usage_counts_and_deletion(company, factory):
    tenant, admin = company
    vip, spare = await _tag(admin, "VIP"), await _tag(admin, "Leer")
    notes = [await _note(admin, content=c, tag_ids=[vip["id"]]) for c in ("A", "B")]
    task = (await admin.post("/api/tasks", json={"title": "T", "tag_ids": [vip["id"]]})).json()
    assert task["tags"][0]["id"] == vip["id"]

    usage = (await admin.get(f"/api/tags/{vip['id']}")).json()["usage"]
    assert usage["note"] == 2 and usage["task"] == 1
    listed = {t["name"]: t["usage"] for t in (await admin.get("/api/tags")).json()}
    assert listed["VIP"]["note"] == 2 and listed["Leer"]["note"] == 0

    assert (await admin.delete(f"/api/tags/{vip['id']}")).status_code == 204
    for note in notes:
        assert (await admin.get(f"/api/notes/{note['id']}")).json()["tags"] == []
    async with factory.runtime.db.tenant_session(tenant.id) as session:
        assert list(await session.scalars(select(NoteTag).where(NoteTag.tag_id == uuid.UUID(vip["id"])))) == []
    # deleting a note removes its links (and so its usage)
    await admin.put(f"/api/notes/{notes[0]['id']}/tags", json={"tag_ids": [spare["id"]]})
    assert (await admin.get(f"/api/tags/{spare['id']}")).json()["usage"]["note"] == 1
    assert (await admin.delete(f"/api/notes/{notes[0]['id']}")).status_code == 204
    assert (await admin.get(f"/api/tags/{spare['id']}")).json()["usage"]["note"] == 0


async def test_note_created_carries_the_tag_ids(company, monkeypatch):
    import xynap.shared.worklog.api as worklog_api

    _, admin = company
    sent: list[tuple[str, dict[str, Any]]] = []
    real = worklog_api.publish

    def spy(db: Any, name: str, payload: Any = None, **kw: Any) -> Event:
        sent.append((name, dict(payload or {})))
        return real(db, name, payload, **kw)

    monkeypatch.setattr(worklog_api, "publish", spy)
    vip = await _tag(admin, "VIP")
    await _note(admin, tag_ids=[vip["id"]])
    await _note(admin)
    assert [(name, [str(t) for t in p["tag_ids"]]) for name, p in sent] == [
        ("note.created", [vip["id"]]), ("note.created", [])]


async def test_staff_tag_only_their_own_notes(company, factory):
    tenant, admin = company
    staff = await factory.member(tenant, "staff")
    vip = await _tag(admin, "VIP")
    mine = await _note(staff, content="Meine")
    resp = await staff.put(f"/api/notes/{mine['id']}/tags", json={"tag_ids": [vip["id"]]})
    assert resp.status_code == 200 and _names(resp.json()) == ["VIP"]
    boss = await _note(admin, content="Chef")  # staff read every note, but change only their own
    resp = await staff.put(f"/api/notes/{boss['id']}/tags", json={"tag_ids": [vip["id"]]})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_scope"
    resp = await staff.patch(f"/api/notes/{boss['id']}", json={"version": boss["version"], "tag_ids": [vip["id"]]})
    assert resp.status_code == 403
    assert (await admin.get(f"/api/notes/{boss['id']}")).json()["tags"] == []
    # the filter works for staff too, over every note they may read
    seen = (await staff.get("/api/notes", params={"tag": vip["id"]})).json()["items"]
    assert [n["content"] for n in seen] == ["Meine"]


async def test_demo_tags_a_few_notes(runtime):
    from tests.factories import unique
    from xynap.platform.demo import seed_demo
    from xynap.shared.tags.models import Tag
    from xynap.shared.worklog.models import Note

    result = await seed_demo(runtime, slug=unique("notes-demo"), strict=True)
    async with runtime.db.tenant_session(result.tenant_id) as session:
        rows = (await session.execute(select(Note.content, Tag.name).join(NoteTag, NoteTag.note_id == Note.id)
                                      .join(Tag, Tag.id == NoteTag.tag_id))).all()
        tagged: dict[str, set[str]] = {}
        for content, name in rows:
            tagged.setdefault(content[:20], set()).add(name)
        assert tagged["Müller GmbH wünscht "] == {"Kunde", "VIP"}
        assert len(tagged) == 3
        assert sorted(t.name for t in await session.scalars(select(Tag))) == ["Kunde", "Lieferant", "VIP"]
