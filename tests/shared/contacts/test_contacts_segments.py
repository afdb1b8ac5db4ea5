"""Segments: filter grammar and its 422s, evaluation as a list and a count on both engines, who sees
which segment, and sorting the contact list by a custom field (keyset, nulls last)."""

from __future__ import annotations

from typing import Any

import pytest

BASE = "/api/contacts"
SEGMENTS = f"{BASE}/segments"


@pytest.fixture
async def company(factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    return tenant, admin


async def create(session: Any, **body: Any) -> dict[str, Any]:
    body.setdefault("type", "person")
    resp = await session.post(BASE, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def leaf(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "operator": operator, "value": value}


def group(*conditions: Any, op: str = "and") -> dict[str, Any]:
    return {"op": op, "conditions": list(conditions)}


@pytest.fixture
async def world(company):
    """Five contacts with custom fields, tags, addresses, e-mails and phones."""
    _, admin = company
    for body in (
        {"key": "branche", "label": "Branche", "type": "select", "options": ["IT", "Handel", "Handwerk"]},
        {"key": "umsatz", "label": "Umsatz", "type": "number"},
        {"key": "seit", "label": "Kunde seit", "type": "date"},
        {"key": "newsletter", "label": "Newsletter", "type": "checkbox"},
        {"key": "interessen", "label": "Interessen", "type": "multiselect", "options": ["CRM", "Cloud", "Web"]},
        {"key": "notiz", "label": "Notiz", "type": "text"},
    ):
        assert (await admin.post(f"{BASE}/fields", json=body)).status_code == 201
    vip = (await admin.post("/api/tags", json={"name": "VIP"})).json()
    people = {
        "anna": dict(first_name="Anna", last_name="Albers", emails=[{"value": "anna@albers.de"}],
                     phones=[{"value": "030 1234567"}], addresses=[{"city": "Berlin"}],
                     custom_fields={"branche": "IT", "umsatz": 5000, "seit": "2020-01-15", "newsletter": True,
                                    "interessen": ["CRM", "Cloud"], "notiz": "Messe Hannover"}),
        "bernd": dict(first_name="Bernd", last_name="Bauer", emails=[{"value": "bernd@bauer.de"}],
                      addresses=[{"city": "München"}, {"city": "Berlin"}],
                      custom_fields={"branche": "Handel", "umsatz": 120.5, "seit": "2023-06-01", "newsletter": False,
                                     "interessen": ["Web"]}),
        "carla": dict(first_name="Carla", last_name="Claßen", addresses=[{"city": "Köln", "country": "DE"}],
                      custom_fields={"branche": "Handwerk", "umsatz": 70000}),
        "dora": dict(type="organization", company_name="Dora GmbH", addresses=[{"city": "Wien", "country": "AT"}],
                     custom_fields={}),
        "emil": dict(first_name="Emil", last_name="Ernst", custom_fields={"umsatz": 5000, "notiz": "Webinar"}),
    }
    out = {key: await create(admin, **body) for key, body in people.items()}
    for key in ("anna", "dora"):
        assert (await admin.put(f"{BASE}/{out[key]['id']}/tags", json={"tag_ids": [vip["id"]]})).status_code == 200
    return admin, out, vip


async def matches(admin: Any, filter: dict[str, Any]) -> set[str]:
    """Names the filter matches, via a saved segment's list and count and the preview."""
    resp = await admin.post(SEGMENTS, json={"name": "Test", "filter": filter})
    assert resp.status_code == 201, resp.text
    segment = resp.json()
    listed = await admin.get(BASE, params={"segment": segment["id"], "limit": 200})
    assert listed.status_code == 200, listed.text
    names = {c["display_name"] for c in listed.json()["items"]}
    count = (await admin.get(f"{SEGMENTS}/{segment['id']}/count")).json()["count"]
    preview = (await admin.post(f"{SEGMENTS}/preview", json={"filter": filter})).json()["count"]
    assert count == preview == len(names)
    assert (await admin.delete(f"{SEGMENTS}/{segment['id']}")).status_code == 204
    return names


async def test_operators(world):
    admin, c, vip = world
    cases = [
        (leaf("tag", "has", vip["id"]), {"Anna Albers", "Dora GmbH"}),
        (leaf("tag", "has_not", vip["id"]), {"Bernd Bauer", "Carla Claßen", "Emil Ernst"}),
        (leaf("cf.branche", "eq", "IT"), {"Anna Albers"}),
        (leaf("cf.branche", "ne", "IT"), {"Bernd Bauer", "Carla Claßen", "Dora GmbH", "Emil Ernst"}),
        (leaf("cf.branche", "in", ["IT", "Handel"]), {"Anna Albers", "Bernd Bauer"}),
        (leaf("cf.branche", "is_empty"), {"Dora GmbH", "Emil Ernst"}),
        (leaf("cf.umsatz", "eq", 5000), {"Anna Albers", "Emil Ernst"}),
        (leaf("cf.umsatz", "gt", 1000), {"Anna Albers", "Carla Claßen", "Emil Ernst"}),
        (leaf("cf.umsatz", "lt", 1000), {"Bernd Bauer"}),
        (leaf("cf.umsatz", "between", [100, 5000]), {"Anna Albers", "Bernd Bauer", "Emil Ernst"}),
        (leaf("cf.umsatz", "in", [120.5, 70000]), {"Bernd Bauer", "Carla Claßen"}),
        (leaf("cf.seit", "gt", "2021-01-01"), {"Bernd Bauer"}),
        (leaf("cf.seit", "is_not_empty"), {"Anna Albers", "Bernd Bauer"}),
        (leaf("cf.newsletter", "eq", True), {"Anna Albers"}),
        (leaf("cf.newsletter", "eq", False), {"Bernd Bauer"}),
        (leaf("cf.newsletter", "ne", True), {"Bernd Bauer", "Carla Claßen", "Dora GmbH", "Emil Ernst"}),
        (leaf("cf.interessen", "contains", "Cloud"), {"Anna Albers"}),
        (leaf("cf.interessen", "in", ["Web", "Cloud"]), {"Anna Albers", "Bernd Bauer"}),
        (leaf("cf.notiz", "contains", "web"), {"Emil Ernst"}),
        (leaf("cf.notiz", "starts_with", "Messe"), {"Anna Albers"}),
        (leaf("display_name", "starts_with", "b"), {"Bernd Bauer"}),
        (leaf("last_name", "eq", "claßen"), {"Carla Claßen"}),
        (leaf("company_name", "is_not_empty"), {"Dora GmbH"}),
        (leaf("type", "eq", "organization"), {"Dora GmbH"}),
        (leaf("email", "eq", "Anna@Albers.de"), {"Anna Albers"}),
        (leaf("email", "contains", "bauer"), {"Bernd Bauer"}),
        (leaf("email", "is_empty"), {"Carla Claßen", "Dora GmbH", "Emil Ernst"}),
        (leaf("phone", "eq", "+49 30 1234567"), {"Anna Albers"}),
        (leaf("phone", "starts_with", "030"), {"Anna Albers"}),
        (leaf("city", "eq", "berlin"), {"Anna Albers", "Bernd Bauer"}),
        (leaf("city", "ne", "Berlin"), {"Carla Claßen", "Dora GmbH", "Emil Ernst"}),
        (leaf("city", "is_empty"), {"Emil Ernst"}),
        (leaf("country", "eq", "AT"), {"Dora GmbH"}),
        (leaf("owner_id", "eq", str(admin.user_id)), {"Anna Albers", "Bernd Bauer", "Carla Claßen", "Dora GmbH",
                                                      "Emil Ernst"}),
        (leaf("created_at", "lt", "2000-01-01"), set()),
        (leaf("created_at", "gt", "2000-01-01T00:00:00+00:00"), {"Anna Albers", "Bernd Bauer", "Carla Claßen",
                                                                 "Dora GmbH", "Emil Ernst"}),
        (group(leaf("cf.branche", "eq", "IT"), group(leaf("city", "eq", "Köln"), leaf("tag", "has", vip["id"]),
                                                     op="or"), op="or"), {"Anna Albers", "Carla Claßen", "Dora GmbH"}),
        (group(leaf("cf.umsatz", "eq", 5000), leaf("tag", "has_not", vip["id"])), {"Emil Ernst"}),
        (group(), {"Anna Albers", "Bernd Bauer", "Carla Claßen", "Dora GmbH", "Emil Ernst"}),
    ]
    for filter, expected in cases:
        filter = filter if "conditions" in filter else group(filter)
        assert await matches(admin, filter) == expected, filter


async def test_validation_names_the_bad_part(world):
    admin, _, _ = world

    async def errors(filter: Any) -> dict[str, str]:
        resp = await admin.post(SEGMENTS, json={"name": "X", "filter": filter})
        assert resp.status_code == 422, resp.text
        assert resp.json()["code"] in ("invalid_filter", "validation_error")
        return {e["field"]: e["message"] for e in resp.json()["errors"]}

    no_tag = "00000000-0000-0000-0000-000000000000"
    bad = await errors(group(leaf("farbe", "eq", "rot"), leaf("cf.umsatz", "contains", "x"),
                             leaf("cf.branche", "eq", "Bergbau"), leaf("tag", "has", no_tag),
                             leaf("cf.nix", "eq", 1), group(leaf("created_at", "between", ["2020-01-01"]), op="xor"),
                             leaf("cf.umsatz", "is_empty", 3), leaf("phone", "eq", "12")))
    assert set(bad) == {"filter.conditions.0.field", "filter.conditions.1.operator", "filter.conditions.2.value",
                        "filter.conditions.3.value", "filter.conditions.4.field", "filter.conditions.5.op",
                        "filter.conditions.5.conditions.0.value", "filter.conditions.6.value",
                        "filter.conditions.7.value"}
    assert bad["filter.conditions.3.value"] == "no such tag"
    assert await errors({"field": "city"}) == {"filter": 'expected a group {"op": ..., "conditions": [...]}'}
    deep: dict[str, Any] = leaf("city", "eq", "x")
    for _ in range(6):
        deep = group(deep)
    assert any("nest" in m for m in (await errors(deep)).values())
    resp = await admin.post(f"{SEGMENTS}/preview", json={"filter": group(leaf("cf.umsatz", "gt", "viel"))})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "filter.conditions.0.value"


async def test_segment_crud_and_visibility(world, factory, company):
    tenant, admin = company
    _, c, vip = world
    staff1 = await factory.member(tenant, "staff")
    staff2 = await factory.member(tenant, "staff")
    filter = group(leaf("tag", "has", vip["id"]))
    private = (await staff1.post(SEGMENTS, json={"name": "Meine VIPs", "filter": filter})).json()
    shared = (await staff1.post(SEGMENTS, json={"name": "Alle VIPs", "filter": filter, "shared": True})).json()
    assert private["owner_id"] == str(staff1.user_id) and private["version"] == 1 and shared["shared"] is True

    assert {s["name"] for s in (await staff2.get(SEGMENTS)).json()} == {"Alle VIPs"}
    assert (await staff2.get(f"{SEGMENTS}/{private['id']}")).status_code == 404
    assert (await staff2.get(BASE, params={"segment": private["id"]})).status_code == 404
    listed = await staff2.get(BASE, params={"segment": shared["id"]})
    assert {x["display_name"] for x in listed.json()["items"]} == {"Anna Albers", "Dora GmbH"}
    resp = await staff2.patch(f"{SEGMENTS}/{shared['id']}", json={"version": 1, "name": "Meins"})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_scope"
    assert (await staff2.delete(f"{SEGMENTS}/{shared['id']}")).status_code == 403

    resp = await staff1.patch(f"{SEGMENTS}/{private['id']}", json={
        "version": 1, "name": "Berliner", "filter": group(leaf("city", "eq", "Berlin"))})
    assert resp.status_code == 200 and resp.json()["version"] == 2 and resp.json()["name"] == "Berliner"
    resp = await staff1.patch(f"{SEGMENTS}/{private['id']}", json={"version": 1, "shared": True})
    assert resp.status_code == 409 and resp.json()["code"] == "version_conflict"
    resp = await staff1.patch(f"{SEGMENTS}/{private['id']}", json={"version": 2, "filter": group(leaf("x", "eq", 1))})
    assert resp.status_code == 422
    assert (await staff1.get(f"{SEGMENTS}/{private['id']}/count")).json() == {"count": 2}
    # the segment list respects the caller's contact scope
    external = await factory.member(tenant, "external")
    assert (await external.get(BASE, params={"segment": shared["id"]})).json()["items"] == []
    assert (await admin.get(f"{SEGMENTS}/{private['id']}")).status_code == 200  # admins see all
    assert (await staff1.delete(f"{SEGMENTS}/{private['id']}")).status_code == 204


async def test_segment_list_pages_with_a_cursor(world):
    admin, _, _ = world
    segment = (await admin.post(SEGMENTS, json={"name": "Alle", "filter": group()})).json()
    names, cursor = [], None
    for _ in range(10):
        params = {"segment": segment["id"], "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await admin.get(BASE, params=params)).json()
        names += [x["display_name"] for x in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert names == ["Anna Albers", "Bernd Bauer", "Carla Claßen", "Dora GmbH", "Emil Ernst"]


async def sorted_names(admin: Any, sort: str, limit: int = 2, **params: Any) -> list[str]:
    names, cursor = [], None
    for _ in range(20):
        query = {"sort": sort, "limit": limit, **params} | ({"cursor": cursor} if cursor else {})
        resp = await admin.get(BASE, params=query)
        assert resp.status_code == 200, resp.text
        names += [x["display_name"] for x in resp.json()["items"]]
        cursor = resp.json()["next_cursor"]
        if not cursor:
            return names
    raise AssertionError("no end")


async def test_sort_by_custom_field(world):
    admin, _, _ = world
    # numbers; contacts without a value last in both directions; ties (5000) broken by id
    ascending = await sorted_names(admin, "cf.umsatz")
    assert ascending[0] == "Bernd Bauer" and set(ascending[1:3]) == {"Anna Albers", "Emil Ernst"}
    assert ascending[3:] == ["Carla Claßen", "Dora GmbH"]
    descending = await sorted_names(admin, "-cf.umsatz")
    assert descending[0] == "Carla Claßen" and set(descending[1:3]) == {"Anna Albers", "Emil Ernst"}
    assert descending[3:] == ["Bernd Bauer", "Dora GmbH"]
    assert ascending[1:3] == descending[1:3]  # the id tie-breaker does not flip with the direction
    # texts and dates, one row per page
    by_branche = await sorted_names(admin, "cf.branche", limit=1)
    assert by_branche[:3] == ["Bernd Bauer", "Carla Claßen", "Anna Albers"]
    assert set(by_branche[3:]) == {"Dora GmbH", "Emil Ernst"} and len(by_branche) == 5
    assert (await sorted_names(admin, "-cf.seit", limit=1))[:2] == ["Bernd Bauer", "Anna Albers"]
    assert (await sorted_names(admin, "-cf.newsletter", limit=1))[0] == "Anna Albers"
    # filters combine with the sort
    assert await sorted_names(admin, "-cf.umsatz", **{"cf.branche": "IT"}) == ["Anna Albers"]

    for bad in ("cf.gibtsnicht", "cf.interessen"):
        resp = await admin.get(BASE, params={"sort": bad})
        assert resp.status_code == 422 and resp.json()["code"] == "invalid_sort"
    resp = await admin.get(BASE, params={"sort": "cf.umsatz", "cursor": "WyJ4IiwxLCJ5Il0"})
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_cursor"


async def test_custom_field_keys_follow_changes(world, runtime, company):
    tenant, _ = company
    admin, c, _ = world
    from sqlalchemy import select

    from xynap.shared.contacts.models import ContactMatchKey

    async def keys() -> set[str]:
        async with runtime.db.tenant_session(tenant.id) as session:
            return set(await session.scalars(select(ContactMatchKey.key).where(ContactMatchKey.kind == "cf")))

    assert {"branche=IT", "umsatz=5000", "umsatz=120.5", "interessen=CRM", "interessen=Cloud",
            "newsletter=true", "newsletter=false", "seit=2020-01-15"} <= await keys()
    anna = c["anna"]
    resp = await admin.patch(f"{BASE}/{anna['id']}", json={"version": anna["version"],
                                                           "custom_fields": {"branche": "Handel", "umsatz": None}})
    assert resp.status_code == 200, resp.text
    assert await matches(admin, group(leaf("cf.branche", "eq", "Handel"))) == {"Anna Albers", "Bernd Bauer"}
    assert await matches(admin, group(leaf("cf.branche", "eq", "IT"))) == set()
    assert await matches(admin, group(leaf("cf.umsatz", "eq", 5000))) == {"Emil Ernst"}
    assert (await admin.get(BASE, params={"cf.umsatz": "5000.0"})).json()["items"][0]["display_name"] == "Emil Ernst"

    fields = {f["key"]: f["id"] for f in (await admin.get(f"{BASE}/fields")).json()}
    assert (await admin.delete(f"{BASE}/fields/{fields['interessen']}")).status_code == 204
    assert not any(k.startswith("interessen=") for k in await keys())
    assert (await admin.delete(f"{BASE}/{c['bernd']['id']}")).status_code == 204
    assert "umsatz=120.5" not in await keys()
