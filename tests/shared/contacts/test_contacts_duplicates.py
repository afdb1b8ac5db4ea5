"""Duplicates: match keys (normalisation, Kölner Phonetik), candidates of one contact with score and
reasons, keys kept in step on update/delete and for batches, the tenant-wide review list."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from xynap.shared.contacts import service
from xynap.shared.contacts.duplicates import koelner_phonetik, match_keys, name_tokens
from xynap.shared.contacts.models import Contact, ContactMatchKey

BASE = "/api/contacts"


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


async def candidates(session: Any, contact_id: str, **params: Any) -> dict[str, dict[str, Any]]:
    resp = await session.get(f"{BASE}/{contact_id}/duplicates", params=params)
    assert resp.status_code == 200, resp.text
    return {c["contact"]["id"]: c for c in resp.json()["items"]}


def test_name_normalisation_and_phonetics():
    assert name_tokens("Brenner Maschinenbau GmbH & Co. KG") == ["brenner", "maschinenbau"]
    assert name_tokens("Bäckerei Müller e.V.") == ["baeckerei", "mueller"]
    assert koelner_phonetik("meier") == koelner_phonetik("mayer") == koelner_phonetik("maier") == "67"
    assert koelner_phonetik("wikipedia") == "3412" and koelner_phonetik("breschnew") == "17863"
    contact = Contact(display_name="Erika Mustermann", emails=[{"value": "Erika@Example.com"}],
                      phones=[{"value": "+4915123456789"}])
    assert match_keys(contact) == {("email", "erika@example.com"), ("phone", "+4915123456789"),
                                   ("name", "erika mustermann"), ("sound", "074 682766")}


async def test_candidates_with_score_and_reasons(company, factory):
    _, admin = company
    erika = await create(admin, first_name="Erika", last_name="Mustermann",
                         emails=[{"value": "erika@example.com"}], phones=[{"value": "0151 23456789"}])
    erica = await create(admin, first_name="Erica", last_name="Mustermann", emails=[{"value": "em@other.de"}])
    same_mail = await create(admin, first_name="Hans", last_name="Schmidt", emails=[{"value": "ERIKA@example.com"}])
    same_phone = await create(admin, first_name="Peter", last_name="Wolf", phones=[{"value": "+49 151 23456789"}])
    await create(admin, first_name="Zacharias", last_name="Anders")
    brenner = await create(admin, type="organization", company_name="Brenner Maschinenbau GmbH")
    brenner_ag = await create(admin, type="organization", company_name="Brenner Maschinenbau AG")
    # another company's twin is never a candidate
    other_tenant = await factory.tenant(modules=("example",))
    other_admin = await factory.member(other_tenant, "admin")
    await create(other_admin, first_name="Erika", last_name="Mustermann", emails=[{"value": "erika@example.com"}])

    found = await candidates(admin, erika["id"])
    assert set(found) == {erica["id"], same_mail["id"], same_phone["id"]}
    assert [r["code"] for r in found[erica["id"]]["reasons"]] == ["similar_name"]
    assert 0.8 <= found[erica["id"]]["reasons"][0]["score"] < 1
    assert found[same_mail["id"]]["reasons"] == [{"code": "same_email", "value": "erika@example.com", "score": 0.9}]
    assert found[same_phone["id"]]["reasons"][0] == {"code": "same_phone", "value": "+4915123456789", "score": 0.8}
    ranked = list(found)
    assert ranked[0] == erica["id"] or found[ranked[0]]["score"] >= found[erica["id"]]["score"]
    assert all(found[a]["score"] >= found[b]["score"] for a, b in zip(ranked, ranked[1:], strict=False))

    org = await candidates(admin, brenner["id"])
    assert list(org) == [brenner_ag["id"]] and org[brenner_ag["id"]]["score"] == 1.0

    # keys follow updates and deletes
    resp = await admin.patch(f"{BASE}/{same_mail['id']}", json={"version": 1, "emails": [{"value": "hs@x.de"}]})
    assert resp.status_code == 200
    assert (await admin.delete(f"{BASE}/{same_phone['id']}")).status_code == 204
    assert set(await candidates(admin, erika["id"])) == {erica["id"]}
    resp = await admin.patch(f"{BASE}/{same_mail['id']}", json={"version": 2, "last_name": "Mustermann",
                                                                  "first_name": "Erika"})
    assert set(await candidates(admin, erika["id"])) == {erica["id"], same_mail["id"]}
    assert (await admin.get(f"{BASE}/{erika['id']}/duplicates", params={"min_score": 2})).status_code == 422


async def test_store_match_keys_for_a_batch(company, runtime):
    tenant, admin = company
    erika = await create(admin, first_name="Erika", last_name="Mustermann", emails=[{"value": "erika@example.com"}])
    async with runtime.db.tenant_session(tenant.id) as session:
        batch = [Contact(type="person", display_name=name, first_name=name.split()[0], last_name=name.split()[1],
                         emails=emails, phones=[], addresses=[], custom_fields={}, notes="", source="import",
                         email_keys=service.email_keys(emails), phone_keys="")
                 for name, emails in (("Erika Musterman", []), ("Otto Normal", [{"value": "erika@example.com"}]))]
        session.add_all(batch)
        await session.flush()
        await service.store_match_keys(session, batch)
        ids = {c.id for c in batch}
    async with runtime.db.tenant_session(tenant.id) as session:
        stored = set(await session.scalars(
            select(ContactMatchKey.contact_id).where(ContactMatchKey.contact_id.in_(ids))))
        assert stored == ids
    found = await candidates(admin, erika["id"])
    assert {c["contact"]["display_name"] for c in found.values()} == {"Erika Musterman", "Otto Normal"}


async def test_tenant_wide_review_list(company, factory):
    _, admin = company
    a = await create(admin, first_name="Anna", last_name="Richter", emails=[{"value": "anna@web.de"}])
    b = await create(admin, first_name="Anna", last_name="Richter", emails=[{"value": "anna@web.de"}])
    c = await create(admin, first_name="Claudia", last_name="Maier")
    d = await create(admin, first_name="Claudia", last_name="Meier")
    await create(admin, first_name="Lukas", last_name="Koch")

    resp = await admin.get(f"{BASE}/duplicates")
    assert resp.status_code == 200, resp.text
    pairs = {frozenset((p["a"]["id"], p["b"]["id"])): p for p in resp.json()["items"]}
    assert set(pairs) == {frozenset((a["id"], b["id"])), frozenset((c["id"], d["id"]))}
    ab = pairs[frozenset((a["id"], b["id"]))]
    assert {r["code"] for r in ab["reasons"]} == {"same_email", "similar_name"} and ab["score"] > 0.99
    assert resp.json()["next_cursor"] is None

    # page by page: every pair exactly once
    seen, cursor = [], None
    for _ in range(10):
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = (await admin.get(f"{BASE}/duplicates", params=params)).json()
        seen += [frozenset((p["a"]["id"], p["b"]["id"])) for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(map(sorted, seen)) == sorted(map(sorted, pairs))
    assert (await admin.get(f"{BASE}/duplicates", params={"cursor": "kaputt"})).status_code == 422

    # a user who sees only their own contacts sees no pairs of others
    external = await factory.member(company[0], "external")
    assert (await external.get(f"{BASE}/duplicates")).json()["items"] == []


async def test_a_common_name_does_not_crowd_out_the_real_twin(company, monkeypatch):
    """Candidates come key by key, strongest evidence first and bounded per key: with more namesakes than
    the name key may bring, the contact with the same e-mail (and name) is still found, and ranks first."""
    from xynap.shared.contacts import duplicates

    monkeypatch.setitem(duplicates.KEY_CANDIDATES, "name", 3)
    monkeypatch.setitem(duplicates.KEY_CANDIDATES, "sound", 3)
    _, admin = company
    for _ in range(8):
        await create(admin, first_name="Anna", last_name="Weber")
    anna = await create(admin, first_name="Anna", last_name="Weber", emails=[{"value": "anna.weber@example.com"}])
    twin = await create(admin, first_name="Anna", last_name="Weber", emails=[{"value": "Anna.Weber@example.com"}])
    found = await candidates(admin, anna["id"], limit=2)
    assert list(found)[0] == twin["id"]  # same score as a namesake (1.0), more evidence
    assert {r["code"] for r in found[twin["id"]]["reasons"]} == {"same_email", "similar_name"}
    everyone = await candidates(admin, anna["id"], limit=50)
    assert len(everyone) <= 1 + 3 + 3  # the e-mail's twin, at most three per name and sound key
