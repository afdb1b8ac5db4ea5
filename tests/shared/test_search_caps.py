"""Broad search queries do bounded work: facets count at most MATCH_CAP visible matches (then
``total_exact`` is false), hits rank at most RANK_CAP visible candidates — and the caps never let
another tenant's or another owner's documents in, nor crowd the caller's own out (SQLite's FTS5
table holds every tenant's documents, so its cap has to apply after the tenant filter)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from xynap.shared.search import service

URL = "/api/search"


async def contact(session: Any, last_name: str, **body: Any) -> str:
    resp = await session.post("/api/contacts", json={"type": "person", "last_name": last_name, **body})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


async def find(session: Any, q: str, **params: Any) -> dict[str, Any]:
    resp = await session.get(URL, params={"q": q, **params})
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture
async def two_tenants(factory):
    """Tenant A and B write "Kappenberg" contacts in turns, so B's documents lie between A's in the
    index (B writes first: a cap applied before the tenant filter would find none of A's)."""
    tenant_a = await factory.tenant(modules=("example",))
    admin_a = await factory.member(tenant_a, "admin")
    staff_a = await factory.member(tenant_a, "staff")
    tenant_b = await factory.tenant(modules=("example",))
    admin_b = await factory.member(tenant_b, "admin")
    mine: list[str] = []
    theirs: list[str] = []
    for i in range(5):
        for _ in range(3):
            await contact(admin_b, f"Kappenberg B{i}")
        theirs.append(await contact(admin_a, f"Kappenberg A{i}"))
        mine.append(await contact(admin_a, f"Kappenberg S{i}", owner_id=str(staff_a.user_id)))
    return {"tenant": tenant_a, "admin": admin_a, "staff": staff_a, "admin_b": admin_b, "a_ids": theirs + mine,
            "staff_ids": mine}


async def test_uncapped_counts_are_exact(two_tenants):
    result = await find(two_tenants["admin"], "kappen")
    assert result["total"] == 10 and result["total_exact"] is True
    assert {h["id"] for h in result["items"]} == set(two_tenants["a_ids"])
    assert {f["value"]: f["count"] for f in result["facets"]["type"]} == {"contact": 10}
    # per type, with facets (PostgreSQL answers both from one statement), and paged
    task = await two_tenants["admin"].post("/api/tasks", json={"title": "Kappenberg anrufen"})
    assert task.status_code == 201, task.text
    grouped = await find(two_tenants["admin"], "kappen", per_type=2)
    assert [h["type"] for h in grouped["items"]] == ["contact", "contact", "task"]
    assert grouped["total"] == 11 and {f["value"]: f["count"] for f in grouped["facets"]["type"]} == {
        "contact": 10, "task": 1}
    first = await find(two_tenants["admin"], "kappen", limit=6)
    second = await find(two_tenants["admin"], "kappen", limit=6, offset=6)
    assert len(first["items"]) == 6 and len(second["items"]) == 5
    assert {h["id"] for h in first["items"]}.isdisjoint(h["id"] for h in second["items"])
    scores = [h["score"] for h in first["items"] + second["items"]]
    assert scores == sorted(scores, reverse=True)


async def test_caps_bound_counts_and_ranking_within_the_tenant(two_tenants, monkeypatch):
    monkeypatch.setattr(service, "MATCH_CAP", 4)
    monkeypatch.setattr(service, "RANK_CAP", 3)
    admin = two_tenants["admin"]
    result = await find(admin, "kappen")
    # facets: at most four matches counted, said to be a lower bound
    assert result["total"] == 4 and result["total_exact"] is False
    assert sum(f["count"] for f in result["facets"]["type"]) == 4
    # hits: three ranked candidates, all tenant A's (none of B's, which were indexed first)
    hits = {h["id"] for h in result["items"]}
    assert len(hits) == 3 and hits <= set(two_tenants["a_ids"])
    # tenant B sees only its own, capped the same way
    result_b = await find(two_tenants["admin_b"], "kappen")
    assert len(result_b["items"]) == 3 and {h["id"] for h in result_b["items"]}.isdisjoint(two_tenants["a_ids"])
    # a precise query is not affected by the caps
    exact = await find(admin, '"Kappenberg A3"')
    assert [h["title"] for h in exact["items"]] == ["Kappenberg A3"] and exact["total_exact"] is True


async def test_caps_apply_after_the_record_scope(two_tenants, runtime, monkeypatch):
    """With "own" contacts only, the capped candidates are the staff member's own — the admin's
    earlier documents do not use up the cap."""
    from xynap.platform.users.models import Role

    async with runtime.db.tenant_session(two_tenants["tenant"].id) as session:
        await session.execute(update(Role).where(Role.name == "staff").values(
            grants={"contacts.contact:read": "own"}))
    runtime.role_grants.invalidate()
    runtime.principals.invalidate()
    monkeypatch.setattr(service, "MATCH_CAP", 4)
    monkeypatch.setattr(service, "RANK_CAP", 2)
    result = await find(two_tenants["staff"], "kappen")
    assert len(result["items"]) == 2 and {h["id"] for h in result["items"]} <= set(two_tenants["staff_ids"])
    assert result["total"] == 4 and result["total_exact"] is False
    # per_type (the command palette) and paging past the ranked candidates stay within bounds
    palette = await find(two_tenants["staff"], "kappen", per_type=5, facets="false")
    assert {h["id"] for h in palette["items"]} <= set(two_tenants["staff_ids"]) and len(palette["items"]) == 2
    assert (await find(two_tenants["staff"], "kappen", offset=2))["items"] == []
    monkeypatch.setattr(service, "RANK_CAP", 100)
    assert {h["id"] for h in (await find(two_tenants["staff"], "kappen", limit=50))["items"]} == set(
        two_tenants["staff_ids"])


async def test_matches_in_every_shard_are_found(two_tenants):
    """PostgreSQL asks the index shard by shard (``lexemes``): a rare word's matches, spread over the
    shards by their ids, are all found and counted."""
    admin = two_tenants["admin"]
    ids = {await contact(admin, f"Scherbenfeld {i}") for i in range(40)}
    result = await find(admin, "scherben", limit=50)
    assert {h["id"] for h in result["items"]} == ids
    assert result["total"] == 40 and result["total_exact"] is True
    assert {h["id"] for h in (await find(admin, '"Scherbenfeld 17"'))["items"]} < ids
