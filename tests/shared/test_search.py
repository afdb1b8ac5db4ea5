"""Global search: prefix and stemming, phrases and exclusions, record scopes, permissions, tenant
isolation, facets, index kept in step with updates and deletes, hostile input, the reindex CLI."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from tests.conftest import BACKEND
from xynap.core import search as registry
from xynap.core.search import parse_query
from xynap.shared.contacts.models import Contact
from xynap.shared.search.models import SearchDocument
from xynap.shared.search.service import fts5_query

URL = "/api/search"


@pytest.fixture
async def company(factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    return tenant, admin


async def contact(session: Any, **body: Any) -> dict[str, Any]:
    body.setdefault("type", "person")
    resp = await session.post("/api/contacts", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def find(session: Any, q: str, **params: Any) -> dict[str, Any]:
    resp = await session.get(URL, params={"q": q, **params})
    assert resp.status_code == 200, resp.text
    return resp.json()


def titles(result: dict[str, Any]) -> list[str]:
    return [h["title"] for h in result["items"]]


def facet(result: dict[str, Any], name: str) -> dict[Any, int]:
    return {f["value"]: f["count"] for f in result["facets"][name]}


# --- the parser (pure) -----------------------------------------------------------------------------------


def test_query_parser_is_websearch_like_and_never_emits_syntax():
    groups = parse_query('Brenn "Maschinen Bau" -Kaiser a.becker@brenner.de or Wolf')
    assert len(groups) == 2
    first = groups[0]
    assert [t.words for t in first] == [("brenn",), ("maschinen", "bau"), ("kaiser",), ("a", "becker", "brenner", "de")]
    assert [t.negated for t in first] == [False, False, True, False]
    assert first[1].exact and not first[0].exact
    assert [t.words for t in groups[1]] == [("wolf",)]
    # only negations or only punctuation: no search at all
    assert parse_query("-kaiser") == [] and parse_query('" ( * 😀 -') == []
    assert fts5_query(parse_query('brenn -kaiser "a b"')) == '(("brenn"* AND "a b") NOT "kaiser")'
    assert fts5_query(parse_query("a or b")) == '("a"*) OR ("b"*)'


# --- finding ---------------------------------------------------------------------------------------------


async def test_prefix_contacts_tasks_notes_with_urls_and_snippets(company):
    _, admin = company
    org = await contact(admin, type="organization", company_name="Brenner Maschinenbau GmbH",
                        emails=[{"type": "work", "value": "info@brenner-maschinenbau.de"}],
                        addresses=[{"type": "work", "street": "Industriestraße 12", "postal_code": "70565",
                                    "city": "Stuttgart"}])
    person = await contact(admin, first_name="Andreas", last_name="Becker",
                           emails=[{"type": "work", "value": "a.becker@brenner-maschinenbau.de"}],
                           phones=[{"type": "mobile", "value": "0151 23456789"}])
    task = (await admin.post("/api/tasks", json={"title": "Angebot für Brenner nachfassen",
                                                  "description": "Preisliste schicken"})).json()
    note = (await admin.post("/api/notes", json={"content": "# Besuch\nBrennerei besichtigt, sehr gut."})).json()

    result = await find(admin, "Brenn")
    got = {(h["type"], h["id"]) for h in result["items"]}
    assert {("contact", org["id"]), ("contact", person["id"]), ("task", task["id"]), ("note", note["id"])} <= got
    hit = next(h for h in result["items"] if h["id"] == org["id"])
    assert hit["url"] == f"/contacts/{org['id']}" and hit["title"] == "Brenner Maschinenbau GmbH"
    assert "Stuttgart" in hit["subtitle"] and hit["owner_id"] == str(admin.user_id) and hit["score"] > 0
    assert next(h for h in result["items"] if h["type"] == "task")["url"] == f"/tasks/{task['id']}"
    note_hit = next(h for h in result["items"] if h["type"] == "note")
    assert note_hit["url"] == f"/notes/{note['id']}" and note_hit["title"] == "Besuch"
    assert "Brennerei" in note_hit["snippet"]
    # the title match ranks above matches in the body only
    assert result["items"][0]["id"] in (org["id"], task["id"])

    # e-mail parts, phone in national form, city, AND of two words, quoted phrase, exclusion, OR
    assert titles(await find(admin, "a.becker@brenner")) == ["Andreas Becker"]
    assert titles(await find(admin, "0151 234")) == ["Andreas Becker"]
    assert titles(await find(admin, "Stuttg brenn")) == ["Brenner Maschinenbau GmbH"]
    assert "Brenner Maschinenbau GmbH" in titles(await find(admin, '"Brenner Maschinenbau"'))
    assert titles(await find(admin, '"Maschinenbau Brenner"')) == []
    assert set(titles(await find(admin, "brenn -andreas -angebot -besuch"))) == {"Brenner Maschinenbau GmbH"}
    assert set(titles(await find(admin, "Andreas or Preisliste"))) == {"Andreas Becker",
                                                                       "Angebot für Brenner nachfassen"}
    # narrowing by type and limit
    only_tasks = await find(admin, "brenn", type="task")
    assert [h["type"] for h in only_tasks["items"]] == ["task"] and only_tasks["total"] == 1
    assert len((await find(admin, "brenn", limit=2))["items"]) == 2
    grouped = await find(admin, "brenn", per_type=1, facets="false")
    assert sorted(h["type"] for h in grouped["items"]) == ["contact", "note", "task"]
    assert grouped["total"] is None and grouped["facets"]["type"] == []
    assert {t["type"] for t in result["types"]} >= {"contact", "task", "note"}


async def test_language_features(company):
    _, admin = company
    await contact(admin, type="organization", company_name="Müller Häuser und Gärten KG")
    assert titles(await find(admin, "müll")) == ["Müller Häuser und Gärten KG"]
    if BACKEND == "postgresql":
        # German stemming: the singular finds the plural
        assert titles(await find(admin, '"Haus"')) == ["Müller Häuser und Gärten KG"]
        assert titles(await find(admin, '"Garten"')) == ["Müller Häuser und Gärten KG"]
    else:
        # FTS5 folds diacritics: typing without umlauts finds them
        assert titles(await find(admin, "Muller Hauser")) == ["Müller Häuser und Gärten KG"]


async def test_update_and_delete_are_reflected(company):
    _, admin = company
    created = await contact(admin, first_name="Karla", last_name="Kolumna")
    assert titles(await find(admin, "Kolumna")) == ["Karla Kolumna"]
    resp = await admin.patch(f"/api/contacts/{created['id']}", json={"last_name": "Zeitung", "version": 1})
    assert resp.status_code == 200, resp.text
    assert titles(await find(admin, "Kolumna")) == []
    assert titles(await find(admin, "Zeitung")) == ["Karla Zeitung"]
    assert (await admin.delete(f"/api/contacts/{created['id']}")).status_code == 204
    assert titles(await find(admin, "Zeitung")) == []


# --- who sees what ---------------------------------------------------------------------------------------


async def test_record_scope_own_versus_all_and_permissionless_types(company, factory, runtime):
    tenant, admin = company
    staff = await factory.member(tenant, "staff")
    mine = await contact(staff, last_name="Quasteeigen")
    await contact(admin, last_name="Quastefremd")
    await admin.post("/api/tasks", json={"title": "Quaste beim Admin"})
    # staff reads all contacts by default, tasks only of the team (the admin is not in it)
    assert set(titles(await find(staff, "quaste"))) == {"Quasteeigen", "Quastefremd"}
    assert set(titles(await find(admin, "quaste"))) == {"Quasteeigen", "Quastefremd", "Quaste beim Admin"}

    # restrict staff's contacts to "own" and drop their task permission altogether
    from xynap.platform.users.models import Role

    async with runtime.db.tenant_session(tenant.id) as session:
        await session.execute(update(Role).where(Role.name == "staff").values(
            grants={"contacts.contact:read": "own", "tasks.task:read": None}))
    runtime.role_grants.invalidate()
    runtime.principals.invalidate()
    result = await find(staff, "quaste")
    assert titles(result) == ["Quasteeigen"] and result["items"][0]["id"] == mine["id"]
    assert facet(result, "type") == {"contact": 1}
    assert "task" not in {t["type"] for t in result["types"]}
    assert (await find(staff, "quaste", type="task"))["items"] == []


async def test_tenant_b_never_sees_tenant_a(company, factory, runtime):
    tenant_a, admin_a = company
    tenant_b = await factory.tenant(modules=("example",))
    admin_b = await factory.member(tenant_b, "admin")
    await contact(admin_a, last_name="Geheimnisträger")
    await admin_a.post("/api/notes", json={"content": "Geheimnisträger Notiz"})
    assert titles(await find(admin_a, "Geheimnis")) != []
    result = await find(admin_b, "Geheimnis")
    assert result["items"] == [] and result["total"] == 0 and result["facets"]["type"] == []
    # also with a filter on tenant A's owner id
    assert (await find(admin_b, "Geheimnis", owner_id=str(admin_a.user_id)))["items"] == []
    async with runtime.db.tenant_session(tenant_b.id) as session:
        assert await session.scalar(select(func.count()).select_from(SearchDocument)) == 0


async def test_facets_count_types_owners_and_dates(company, factory, runtime):
    tenant, admin = company
    other = await factory.member(tenant, "manager")
    for name in ("Facettea", "Facetteb", "Facettec"):
        await contact(admin, last_name=name)
    await contact(other, last_name="Facetted")
    await admin.post("/api/tasks", json={"title": "Facette prüfen"})
    old = await contact(other, last_name="Facettealt")
    async with runtime.db.tenant_session(tenant.id) as session:  # age one index row by 40 days
        await session.execute(update(SearchDocument).where(SearchDocument.entity_id == uuid.UUID(old["id"]))
                              .values(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=40)))

    result = await find(admin, "facett")
    assert result["total"] == 6 and result["total_exact"] is True
    assert facet(result, "type") == {"contact": 5, "task": 1}
    assert facet(result, "owner") == {str(admin.user_id): 4, str(other.user_id): 2}
    assert all(f["label"] for f in result["facets"]["owner"])  # the owners' names, for the filter UI
    assert facet(result, "updated") == {"today": 5, "last_7_days": 5, "last_30_days": 5, "older": 1}

    # a filter narrows the hits and the other facets, but not its own facet
    narrowed = await find(admin, "facett", owner_id=str(other.user_id))
    assert narrowed["total"] == 2 and set(titles(narrowed)) == {"Facetted", "Facettealt"}
    assert facet(narrowed, "owner") == facet(result, "owner")
    assert facet(narrowed, "type") == {"contact": 2}
    older = await find(admin, "facett", updated="older")
    assert titles(older) == ["Facettealt"] and facet(older, "type") == {"contact": 1}
    typed = await find(admin, "facett", type="task")
    assert typed["total"] == 1 and facet(typed, "type") == {"contact": 5, "task": 1}


# --- hostile input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ['"', "AND (", "*", "😀", "NEAR(a b)", "a:* & !b", "-", "'; DROP TABLE x; --",
                               "x" * 1000, "ä " * 400, 'col:"x" ^ + -"', "OR", "\\", "\x00"])
async def test_weird_input_never_fails(company, q):
    _, admin = company
    await contact(admin, last_name="Robustheit")
    resp = await admin.get(URL, params={"q": q})
    assert resp.status_code in (200, 422), resp.text
    if resp.status_code == 422:
        assert resp.headers["content-type"].startswith("application/problem+json")


async def test_bad_parameters_are_problems(company):
    _, admin = company
    resp = await admin.get(URL, params={"q": "x" * 1001})
    assert resp.status_code == 422 and resp.json()["code"] == "validation_error"
    resp = await admin.get(URL, params={"q": "x", "type": "nonsense"})
    assert resp.status_code == 422 and resp.json()["code"] == "search_type_unknown"
    resp = await admin.get(URL, params={"q": "x", "updated": "yesterday"})
    assert resp.status_code == 422
    assert (await admin.get(URL)).status_code == 422  # q is required


async def test_login_and_booking_required(company, factory, client):
    tenant, _ = company
    assert (await client.get(URL, params={"q": "x"}, headers={"X-Tenant": tenant.slug})).status_code == 401
    unbooked = await factory.tenant()
    member = await factory.member(unbooked, "admin")
    resp = await member.get(URL, params={"q": "x"})
    assert resp.status_code == 403 and resp.json()["code"] == "module_not_enabled"


# --- bulk paths ------------------------------------------------------------------------------------------


async def test_batched_flush_and_reindex_api(company, runtime):
    tenant, admin = company
    async with runtime.db.tenant_session(tenant.id) as session:  # an import-like batch through the ORM
        session.add_all([Contact(type="person", display_name=f"Stapel {i:04d}", last_name=f"Stapel{i:04d}",
                                 emails=[], phones=[], addresses=[], custom_fields={})
                         for i in range(300)])
        await session.flush()
    assert (await find(admin, "Stapel", limit=5))["total"] == 300
    # a bulk UPDATE bypasses the flush; the reindex API puts the index back in step
    async with runtime.db.tenant_session(tenant.id) as session:
        await session.execute(update(Contact).where(Contact.last_name == "Stapel0007")
                              .values(display_name="Umbenannt Sieben"))
        assert titles(await find(admin, "Umbenannt")) == []
        changed = list(await session.scalars(select(Contact).where(Contact.last_name == "Stapel0007")))
        assert await registry.reindex(session, "contact", changed) == 1
    assert titles(await find(admin, "Umbenannt")) == ["Umbenannt Sieben"]


# --- the reindex command -------------------------------------------------------------------------------


async def test_reindex_cli_rebuilds_a_tenant(company, runtime):
    import asyncio

    from typer.testing import CliRunner

    from xynap.cli.main import app as cli

    tenant, admin = company
    await contact(admin, last_name="Wiederfinder")
    await admin.post("/api/tasks", json={"title": "Wiederfinder anrufen"})
    async with runtime.db.tenant_session(tenant.id) as session:  # lose the index, as after a restore
        await session.execute(delete(SearchDocument))
    assert (await find(admin, "Wiederfinder"))["items"] == []

    def invoke(*args: str) -> Any:  # the CLI runs its own event loop: give it a thread
        return CliRunner().invoke(cli, list(args))

    result = await asyncio.to_thread(invoke, "search", "reindex", "--tenant", tenant.slug, "--type", "contact")
    assert result.exit_code == 0, result.output
    assert "Indexed 1 contact" in result.output
    assert titles(await find(admin, "Wiederfinder")) == ["Wiederfinder"]
    result = await asyncio.to_thread(invoke, "search", "reindex", "--tenant", tenant.slug)
    assert result.exit_code == 0 and "task" in result.output
    assert set(titles(await find(admin, "Wiederfinder"))) == {"Wiederfinder", "Wiederfinder anrufen"}

    result = await asyncio.to_thread(invoke, "search", "reindex", "--tenant", tenant.slug, "--type", "nonsense")
    assert result.exit_code == 1 and "Unknown search type" in result.output
    result = await asyncio.to_thread(invoke, "search", "reindex", "--tenant", "no-such-tenant")
    assert result.exit_code == 1
