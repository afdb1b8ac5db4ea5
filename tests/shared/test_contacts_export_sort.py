"""Contact exports follow the contact list's sort: the same sort names, the same 422 for a bad one, and
the rows in the order the list pages show them (ties by id, contacts without a custom field value last),
walked page by page."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from openpyxl import load_workbook

from xynap.shared.contacts import transfer
from xynap.shared.contacts.models import Contact

BASE = "/api/contacts"

# display name, type, rang (number field), kuerzel (text field); names repeat on purpose (ties by id)
ROWS: tuple[tuple[str, str, float | None, str | None], ...] = (
    ("Meyer", "person", 3, "mz"),
    ("Anton", "person", None, "aa"),
    ("Zeta AG", "organization", 1, None),
    ("Meyer", "person", 3, "mz"),
    ("Berta", "person", 2.5, "bb"),
    ("meyer", "person", None, None),
    ("Meyer", "organization", 7, "mz"),
    ("Clara", "person", 2.5, "cc"),
    ("Anton", "person", 10, "aa"),
    ("Ökobau GmbH", "organization", None, "ok"),
    ("Dora", "person", -4, "dd"),
)


@pytest.fixture
async def company(factory, runtime):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    for body in ({"key": "rang", "label": "Rang", "type": "number"},
                 {"key": "kuerzel", "label": "Kürzel", "type": "text"},
                 {"key": "themen", "label": "Themen", "type": "multiselect", "options": ["a", "b"]}):
        resp = await admin.post(f"{BASE}/fields", json={"entity": "contact", **body})
        assert resp.status_code == 201, resp.text
    async with runtime.db.tenant_session(tenant.id) as session:
        for name, kind, rang, kuerzel in ROWS:
            custom = {k: v for k, v in (("rang", rang), ("kuerzel", kuerzel)) if v is not None}
            person = kind == "person"
            session.add(Contact(type=kind, display_name=name, last_name=name if person else None,
                                company_name=None if person else name, emails=[], phones=[], addresses=[],
                                custom_fields=custom, notes="", source="api"))
    return tenant, admin


async def list_ids(session: Any, **params: Any) -> list[str]:
    """Every id of the contact list, walked page by page (small pages: the cursor crosses ties)."""
    out: list[str] = []
    cursor = None
    while True:
        resp = await session.get(BASE, params={**params, "limit": 3, **({"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.text
        page = resp.json()
        out += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return out


async def vcard_ids(session: Any, **params: Any) -> list[str]:
    resp = await session.get(f"{BASE}/export.vcf", params=params)
    assert resp.status_code == 200, resp.text
    return re.findall(r"^UID:(?:urn:uuid:)?([0-9a-f-]+)\r$", resp.text, flags=re.MULTILINE)


def names_of_csv(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.text
    rows = csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig")), delimiter=";")
    return [r["Nachname"] or r["Firma"] for r in rows]


def names_of_xlsx(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.text
    values = list(load_workbook(io.BytesIO(resp.content), read_only=True).active.iter_rows(values_only=True))
    return [r[2] or r[3] for r in values[1:]]


async def list_names(session: Any, ids: list[str]) -> list[str]:
    names = {}
    for contact_id in ids:
        resp = await session.get(f"{BASE}/{contact_id}")
        names[contact_id] = resp.json()["display_name"]
    return [names[i] for i in ids]


@pytest.mark.parametrize("sort", ["name", "-name", "created_at", "-created_at", "cf.rang", "-cf.rang",
                                  "cf.kuerzel", "-cf.kuerzel"])
async def test_every_export_comes_in_the_lists_order(company, monkeypatch, sort):
    tenant, admin = company
    monkeypatch.setattr(transfer, "EXPORT_PAGE", 2)  # many pages, cursors across equal names and values
    expected = await list_ids(admin, sort=sort)
    assert len(expected) == len(ROWS)
    assert await vcard_ids(admin, sort=sort) == expected
    names = await list_names(admin, expected)
    assert names_of_csv(await admin.get(f"{BASE}/export.csv", params={"sort": sort})) == names
    assert names_of_xlsx(await admin.get(f"{BASE}/export.xlsx", params={"sort": sort})) == names
    # with a filter too: the list's order of the filtered contacts
    expected = await list_ids(admin, sort=sort, type="person")
    assert await vcard_ids(admin, sort=sort, type="person", version="3.0") == expected


async def test_name_descending_and_custom_field_orders_are_the_expected_ones(company, monkeypatch):
    tenant, admin = company
    monkeypatch.setattr(transfer, "EXPORT_PAGE", 4)
    names = names_of_csv(await admin.get(f"{BASE}/export.csv", params={"sort": "-name"}))
    assert len(names) == len(ROWS)
    assert names.index("Zeta AG") < names.index("Meyer") < names.index("Anton")
    assert names[-2:] == ["Anton", "Anton"]
    # number field ascending: the values in order, the contacts without one last
    ids = await vcard_ids(admin, sort="cf.rang")
    by_id = {}
    for contact_id in ids:
        by_id[contact_id] = (await admin.get(f"{BASE}/{contact_id}")).json()["custom_fields"].get("rang")
    values = [by_id[i] for i in ids]
    assert values == [-4, 1, 2.5, 2.5, 3, 3, 7, 10, None, None, None]
    # descending: the values reversed, still without a value last
    ids = await vcard_ids(admin, sort="-cf.rang")
    assert [by_id[i] for i in ids] == [10, 7, 3, 3, 2.5, 2.5, 1, -4, None, None, None]


async def test_default_order_is_the_lists_default(company):
    tenant, admin = company
    assert await vcard_ids(admin) == await list_ids(admin)


@pytest.mark.parametrize("sort", ["foo", "-email", "cf.nope", "cf.themen", "-cf.themen"])
async def test_a_bad_sort_is_refused_like_the_list_does(company, sort):
    tenant, admin = company
    listed = await admin.get(BASE, params={"sort": sort})
    assert listed.status_code == 422
    for path, extra in (("export.csv", {}), ("export.xlsx", {}), ("export.vcf", {"version": "3.0"})):
        resp = await admin.get(f"{BASE}/{path}", params={"sort": sort, **extra})
        assert resp.status_code == 422, (path, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        body = resp.json()
        assert body["code"] == "invalid_sort" == listed.json()["code"]
        assert body["errors"] == listed.json()["errors"] and body["detail"] == listed.json()["detail"]


async def test_an_overlong_sort_is_a_field_error(company):
    tenant, admin = company
    sort = "cf." + "x" * 70
    listed = await admin.get(BASE, params={"sort": sort})
    resp = await admin.get(f"{BASE}/export.csv", params={"sort": sort})
    assert resp.status_code == listed.status_code == 422
    assert resp.json()["code"] == listed.json()["code"]
    assert [e["field"] for e in resp.json()["errors"]] == [e["field"] for e in listed.json()["errors"]]


async def test_the_sort_does_not_widen_the_read_scope(company, factory, runtime):
    tenant, admin = company
    external = await factory.member(tenant, "external")  # reads only own contacts
    for name in ("Yvonne Eigen", "Xaver Eigen"):
        first, last = name.split()
        resp = await admin.post(BASE, json={"type": "person", "first_name": first, "last_name": last,
                                            "owner_id": str(external.user_id)})
        assert resp.status_code == 201, resp.text
    names = names_of_csv(await external.get(f"{BASE}/export.csv", params={"sort": "-name"}))
    assert names == ["Eigen", "Eigen"]
    ids = await vcard_ids(external, sort="-name")
    assert ids == await list_ids(external, sort="-name") and len(ids) == 2


async def test_a_page_is_filled_from_several_calls_of_the_lists_paginator(company, monkeypatch):
    """The kernel's paginator serves at most MAX_LIMIT rows a call; an export page (and its one tag query)
    is filled from several calls, and the order stays the list's."""
    from xynap.core import pagination

    tenant, admin = company
    monkeypatch.setattr(pagination, "MAX_LIMIT", 3)
    monkeypatch.setattr(transfer, "EXPORT_PAGE", 5)
    pages: list[int] = []
    original = transfer.iter_contacts

    async def counting(db: Any, query: Any, page: int | None = None) -> Any:
        async for chunk in original(db, query, page):
            pages.append(len(chunk))
            yield chunk

    monkeypatch.setattr(transfer, "iter_contacts", counting)
    expected = await list_ids(admin, sort="-name")
    assert await vcard_ids(admin, sort="-name") == expected
    assert pages == [5, 5, 1]
