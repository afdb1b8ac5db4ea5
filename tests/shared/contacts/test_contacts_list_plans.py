"""The contact list's query plans give the same pages whichever plan runs: a cursor page seeks the
name / date index (the kernel paginator's redundant range), and tag / custom-field filters switch
between "start from the holders" and "walk the sort index, probe each row" (``segments.plan_holders``) — same rows, same
order, same record scope, same tenant, on both engines."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from xynap.shared.contacts import segments

BASE = "/api/contacts"


@pytest.fixture
async def world(factory):
    """Tenant A: twelve contacts (four of them named alike), a tag and a select field on some; an
    external user who owns three. Tenant B: the same names, tag and field values (must never show)."""
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    external = await factory.member(tenant, "external")
    other = await factory.tenant(modules=("example",))
    other_admin = await factory.member(other, "admin")
    out: dict[str, Any] = {"admin": admin, "external": external, "tenant": tenant}
    for session, key in ((admin, "tag"), (other_admin, "other_tag")):
        body = {"key": "branche", "label": "Branche", "type": "select", "options": ["IT", "Handel"]}
        assert (await session.post(f"{BASE}/fields", json=body)).status_code == 201
        out[key] = (await session.post("/api/tags", json={"name": "VIP"})).json()["id"]
    names = ["Zander", "Meier", "Meier", "Meier", "Meier", "Albers", "Krause", "Bauer", "Otto", "Lange", "Ernst",
             "Yilmaz"]
    out["ids"] = {}
    for i, name in enumerate(names):
        for session, tag in ((admin, out["tag"]), (other_admin, out["other_tag"])):
            body: dict[str, Any] = {"type": "person", "last_name": name,
                                    "custom_fields": {"branche": "IT" if i % 3 else "Handel"}}
            if session is admin and i in (1, 6, 9):
                body["owner_id"] = str(external.user_id)
            resp = await session.post(BASE, json=body)
            assert resp.status_code == 201, resp.text
            contact = resp.json()
            if i % 2 == 0 or i == 3:
                resp = await session.put(f"{BASE}/{contact['id']}/tags", json={"tag_ids": [tag]})
                assert resp.status_code == 200, resp.text
            if session is admin:
                out["ids"][contact["id"]] = (name, i)
    return out


async def pages(session: Any, limit: int = 2, **params: Any) -> list[str]:
    """All ids of the list, page by page."""
    ids: list[str] = []
    cursor = None
    for _ in range(50):
        query = {"limit": limit, **params} | ({"cursor": cursor} if cursor else {})
        resp = await session.get(BASE, params=query)
        assert resp.status_code == 200, resp.text
        ids += [c["id"] for c in resp.json()["items"]]
        cursor = resp.json()["next_cursor"]
        if not cursor:
            return ids
    raise AssertionError("the pages never end")


def expected(world: dict[str, Any], keep: Any, descending: bool = False) -> list[str]:
    """Ids in (display name, id) order — the list's order for sort=name."""
    rows = sorted(((name, cid) for cid, (name, i) in world["ids"].items() if keep(i)), reverse=descending)
    return [cid for _, cid in rows]


@pytest.mark.parametrize("many", [10_000, 0], ids=["holders-first", "walk-and-probe"])
async def test_filters_give_the_same_pages_in_both_plans(world, monkeypatch, many):
    monkeypatch.setattr(segments, "MANY_HOLDERS", many)  # 0: every filter counts as "many holders"
    admin, external, tag = world["admin"], world["external"], world["tag"]
    tagged = lambda i: i % 2 == 0 or i == 3  # noqa: E731
    it = lambda i: i % 3 != 0  # noqa: E731
    for sort, descending in (("name", False), ("-name", True)):
        assert await pages(admin, sort=sort, tag=tag) == expected(world, tagged, descending)
        assert await pages(admin, sort=sort, **{"cf.branche": "IT"}) == expected(world, it, descending)
        assert await pages(admin, sort=sort, tag=tag, **{"cf.branche": "Handel"}) == expected(
            world, lambda i: tagged(i) and not it(i), descending)
        assert await pages(admin, sort=sort, tag=tag, q="mei") == expected(
            world, lambda i: tagged(i) and world_name(world, i) == "Meier", descending)
    # created_at order: the same set, each contact once
    by_date = await pages(admin, sort="created_at", limit=3, tag=tag)
    assert sorted(by_date) == sorted(expected(world, tagged)) and len(set(by_date)) == len(by_date)
    # the external user's "own" scope narrows both plans alike
    owned = lambda i: i in (1, 6, 9)  # noqa: E731
    assert await pages(external, sort="name", tag=tag) == expected(world, lambda i: owned(i) and tagged(i))
    assert await pages(external, sort="name", **{"cf.branche": "IT"}) == expected(world, lambda i: owned(i) and it(i))
    # another tenant's tag id finds nothing here
    assert await pages(admin, sort="name", tag=world["other_tag"]) == []


def world_name(world: dict[str, Any], index: int) -> str:
    return next(name for name, i in world["ids"].values() if i == index)


async def test_cursor_pages_seek_past_equal_names(world):
    """Four contacts are called "Meier": the seek (name >= cursor) must still continue by id."""
    admin = world["admin"]
    everyone = lambda i: True  # noqa: E731
    for limit in (1, 2, 3, 5):
        assert await pages(admin, limit=limit, sort="name") == expected(world, everyone)
        assert await pages(admin, limit=limit, sort="-name") == expected(world, everyone, descending=True)
    by_date = await pages(admin, limit=2, sort="-created_at")
    assert sorted(by_date) == sorted(world["ids"]) and len(set(by_date)) == len(by_date)
    # a forged or foreign cursor is still a 422, not a 500
    for cursor in ("bm90LWpzb24", "WzEsIjAxYTIwMWJiLTQ0ZmMtN2VmNS1hNDlmLTExOGFkNmMyNTdjYiJd"):
        resp = await admin.get(BASE, params={"sort": "name", "cursor": cursor})
        assert resp.status_code == 422 and resp.json()["code"] == "invalid_cursor", resp.text


async def test_field_filter_recheck_after_a_change(world, runtime, monkeypatch):
    """The probe plan still rechecks the value: a contact whose JSON changed behind the key table's
    back (bulk SQL) is not listed for its old value."""
    monkeypatch.setattr(segments, "MANY_HOLDERS", 0)
    from xynap.shared.contacts.models import Contact

    admin, tenant = world["admin"], world["tenant"]
    changed = next(cid for cid, (_, i) in world["ids"].items() if i == 1)
    import uuid

    async with runtime.db.tenant_session(tenant.id) as session:
        await session.execute(update(Contact).where(Contact.id == uuid.UUID(changed))
                              .values(custom_fields={"branche": "Handel"}))
    listed = await pages(admin, sort="name", **{"cf.branche": "IT"})
    assert changed not in listed and len(listed) == len(expected(world, lambda i: i % 3 != 0)) - 1
