"""Contact import and export: mapping suggestion, preview, dry run with a per-row report,
skip_invalid, progress and resume, a 5,000-row file, vCard 3.0/4.0 round trips, filtered and
scoped CSV/Excel exports, the CLI, and the tenant wall around import records."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from xynap.core import search
from xynap.core.ids import uuid7
from xynap.core.jobs import Worker
from xynap.shared.contacts import duplicates, transfer
from xynap.shared.contacts.import_models import ContactImport
from xynap.shared.contacts.models import Contact, ContactMatchKey, ContactTag, CustomFieldDefinition
from xynap.shared.search.models import SearchDocument

BASE = "/api/contacts"
DATA = Path(__file__).parent / "data"
CSV_FILE = DATA / "contacts_import.csv"
VCF_FILE = DATA / "contacts_mixed.vcf"


@pytest.fixture
async def company(factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    resp = await admin.post(f"{BASE}/fields", json={"entity": "contact", "key": "branche", "label": "Branche",
                                                    "type": "select", "options": ["IT", "Handel"]})
    assert resp.status_code == 201, resp.text
    return tenant, admin


async def upload(session: Any, content: bytes, name: str = "kontakte.csv") -> dict[str, Any]:
    resp = await session.post(f"{BASE}/imports", files={"file": (name, content, "text/csv")})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def run_import_jobs(runtime: Any) -> None:
    worker = Worker(runtime, names=["contacts.import"], concurrency=1)
    while await worker.run_once():
        pass


async def contacts_of(runtime: Any, tenant_id: uuid.UUID) -> list[Contact]:
    async with runtime.db.tenant_session(tenant_id) as session:
        return list(await session.scalars(select(Contact).order_by(Contact.display_name)))


async def all_contacts(session: Any, **params: Any) -> list[dict[str, Any]]:
    resp = await session.get(BASE, params={"limit": 200, **params})
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


# --- mapping and preview ---------------------------------------------------------------------------------


def test_mapping_suggestion_knows_german_and_english_headers():
    definitions = {
        "branche": CustomFieldDefinition(key="branche", label="Branche", type="text", options=[]),
        "umsatz": CustomFieldDefinition(key="umsatz", label="Jahresumsatz", type="number", options=[]),
    }
    german = ["Vorname", "Nachname", "Firma", "E-Mail", "Telefon", "Mobil", "Straße", "PLZ", "Ort", "Land",
              "Tags", "Branche", "Jahresumsatz", "Lieblingsfarbe", "E-Mail (2)"]
    assert transfer.suggest_mapping(german, definitions) == {
        "Vorname": "first_name", "Nachname": "last_name", "Firma": "company_name", "E-Mail": "email.work",
        "Telefon": "phone.work", "Mobil": "phone.mobile", "Straße": "address.street", "PLZ": "address.postal_code",
        "Ort": "address.city", "Land": "address.country", "Tags": "tags", "Branche": "cf.branche",
        "Jahresumsatz": "cf.umsatz", "Lieblingsfarbe": None, "E-Mail (2)": "email.other",
    }
    english = ["First name", "Last Name", "Company", "E-mail", "Phone", "Mobile phone", "Street", "ZIP code",
               "City", "Country", "Notes", "umsatz", "Job title"]
    assert transfer.suggest_mapping(english, definitions) == {
        "First name": "first_name", "Last Name": "last_name", "Company": "company_name", "E-mail": "email.work",
        "Phone": "phone.work", "Mobile phone": "phone.mobile", "Street": "address.street",
        "ZIP code": "address.postal_code", "City": "address.city", "Country": "address.country", "Notes": "notes",
        "umsatz": "cf.umsatz", "Job title": "title",
    }


async def test_upload_detects_format_and_shows_a_preview(company, runtime):
    tenant, admin = company
    imp = await upload(admin, CSV_FILE.read_bytes())
    assert imp["status"] == "uploaded" and imp["format"] == "csv"
    assert imp["encoding"] == "utf-8-sig" and imp["delimiter"] == ";"
    assert imp["header"][:4] == ["Vorname", "Nachname", "Firma", "E-Mail"]
    assert imp["total_rows"] == 7
    assert imp["preview"][0][:2] == ["Erika", "Mustermann"]
    assert imp["preview"][6][2] == "Brandt & Söhne; Handel"  # quoted delimiter
    assert imp["suggested_mapping"]["Branche"] == "cf.branche" and imp["suggested_mapping"]["Mobil"] == "phone.mobile"
    assert imp["targets"]["cf.branche"] == "Branche"
    # the file is kept under the data directory, not in the database
    stored = transfer.ImportFiles.of(runtime.settings.data_dir, tenant.id, uuid.UUID(imp["id"])).source
    assert stored.read_bytes() == CSV_FILE.read_bytes()

    # Windows-1252 (Excel's German default), comma separated, no BOM
    legacy = "Name,Vorname,Ort\r\nMüller,Jürgen,Köln\r\nGroß,Änne,Düsseldorf\r\n".encode("cp1252")
    imp = await upload(admin, legacy)
    assert imp["encoding"] == "cp1252" and imp["delimiter"] == ","
    assert imp["preview"] == [["Müller", "Jürgen", "Köln"], ["Groß", "Änne", "Düsseldorf"]]
    assert imp["suggested_mapping"] == {"Name": "last_name", "Vorname": "first_name", "Ort": "address.city"}
    again = await admin.get(f"{BASE}/imports/{imp['id']}")
    assert again.status_code == 200 and again.json()["preview"] == imp["preview"]

    for bad, code in ((b"", "import_empty"), (b"\n\n", "import_no_header"),
                      (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 100, "import_unsupported_format")):
        resp = await admin.post(f"{BASE}/imports", files={"file": ("kaputt.csv", bad, "text/csv")})
        assert resp.status_code == 422 and resp.json()["code"] == code, resp.text


# --- dry run, skip_invalid -------------------------------------------------------------------------------


EXPECTED_ERRORS = {(3, "emails.0.value", "E-Mail"), (4, "phones.0.value", "Telefon"),
                   (5, "custom_fields.branche", "Branche"), (6, "last_name", None)}


async def test_dry_run_reports_every_bad_row_and_imports_nothing(company, runtime):
    tenant, admin = company
    imp = await upload(admin, CSV_FILE.read_bytes())
    resp = await admin.post(f"{BASE}/imports/{imp['id']}/validate", json={})
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["dry_run"] is True and report["status"] == "uploaded"
    assert (report["valid_rows"], report["invalid_rows"], report["total_rows"]) == (3, 4, 7)
    assert {(e["line"], e["field"], e["column"]) for e in report["errors"]} == EXPECTED_ERRORS
    by_line = {e["line"]: e for e in report["errors"]}
    assert by_line[3]["value"] == "max.meier@" and "email" in by_line[3]["message"]
    assert by_line[4]["message"] == "not a valid phone number" and by_line[4]["value"] == "12"
    assert "IT, Handel" in by_line[5]["message"] and by_line[5]["value"] == "Landwirtschaft"
    assert await contacts_of(runtime, tenant.id) == []

    # the same report as CSV
    resp = await admin.get(f"{BASE}/imports/{imp['id']}/errors", params={"format": "csv"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["line", "field", "column", "message", "value"]
    assert {(int(r[0]), r[1], r[2] or None) for r in rows[1:]} == EXPECTED_ERRORS
    # and page by page as JSON
    first = (await admin.get(f"{BASE}/imports/{imp['id']}/errors", params={"limit": 3})).json()
    rest = (await admin.get(f"{BASE}/imports/{imp['id']}/errors", params={"offset": 3, "limit": 3})).json()
    assert first["has_more"] is True and rest["has_more"] is False
    assert {(e["line"], e["field"], e["column"]) for e in first["items"] + rest["items"]} == EXPECTED_ERRORS

    # a mapping that leaves the bad columns out finds only the nameless row
    mapping = {"Vorname": "first_name", "Nachname": "last_name", "Firma": "company_name"}
    resp = await admin.post(f"{BASE}/imports/{imp['id']}/validate", json={"mapping": mapping})
    assert resp.status_code == 200
    assert [(e["line"], e["field"]) for e in resp.json()["errors"]] == [(6, "last_name")]
    # an unknown column or target is refused
    resp = await admin.post(f"{BASE}/imports/{imp['id']}/validate", json={"mapping": {"Nope": "first_name",
                                                                                      "Firma": "salary"}})
    assert resp.status_code == 422
    assert {e["field"] for e in resp.json()["errors"]} == {"mapping.Nope", "mapping.Firma"}


async def test_invalid_rows_without_skip_invalid_import_nothing(company, runtime):
    tenant, admin = company
    imp = await upload(admin, CSV_FILE.read_bytes())
    resp = await admin.post(f"{BASE}/imports/{imp['id']}/run", json={"skip_invalid": False})
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "queued" and resp.json()["job_id"]
    await run_import_jobs(runtime)
    done = (await admin.get(f"{BASE}/imports/{imp['id']}")).json()
    assert done["status"] == "rejected" and done["imported_rows"] == 0
    assert "nothing was imported" in done["message"]
    assert {(e["line"], e["field"], e["column"]) for e in done["errors"]} == EXPECTED_ERRORS
    assert await contacts_of(runtime, tenant.id) == []
    async with runtime.db.tenant_session(tenant.id) as session:
        tags = list(await session.scalars(select(transfer.Tag.name)))
    assert tags == []  # not even the new tags


async def test_skip_invalid_imports_only_the_good_rows(company, runtime, factory):
    tenant, admin = company
    resp = await admin.post("/api/tags", json={"name": "Import 2026"})
    assert resp.status_code == 201, resp.text
    extra_tag = resp.json()["id"]
    imp = await upload(admin, CSV_FILE.read_bytes())
    resp = await admin.post(f"{BASE}/imports/{imp['id']}/run",
                            json={"skip_invalid": True, "default_tag_ids": [extra_tag]})
    assert resp.status_code == 202, resp.text
    # a running import cannot be started twice
    again = await admin.post(f"{BASE}/imports/{imp['id']}/run", json={"skip_invalid": True})
    assert again.status_code == 409 and again.json()["code"] == "import_running"
    await run_import_jobs(runtime)
    done = (await admin.get(f"{BASE}/imports/{imp['id']}")).json()
    assert done["status"] == "succeeded", done
    assert (done["imported_rows"], done["invalid_rows"]) == (3, 4)
    assert done["progress"] == {"phase": "done", "done": 7, "total": 7, "percent": 100.0}
    assert {e["line"] for e in done["errors"]} == {3, 4, 5, 6}

    items = {c["display_name"]: c for c in await all_contacts(admin)}
    assert set(items) == {"Erika Mustermann", "Nordwind Logistik GmbH", "Lisa Brandt"}
    erika = items["Erika Mustermann"]
    assert erika["type"] == "person" and erika["source"] == "import" and erika["owner_id"] == str(admin.user_id)
    assert erika["emails"] == [{"type": "work", "value": "erika.mustermann@example.com"}]
    assert erika["phones"] == [{"type": "work", "value": "+49301234567"}, {"type": "mobile", "value": "+4915123456789"}]
    assert erika["addresses"] == [{"type": "work", "street": "Hauptstraße 1", "postal_code": "10115",
                                   "city": "Berlin", "country": "DE"}]
    assert erika["custom_fields"] == {"branche": "IT"}
    assert sorted(t["name"] for t in erika["tags"]) == ["Import 2026", "Kunde", "Messe 2026"]
    nordwind = items["Nordwind Logistik GmbH"]
    assert nordwind["type"] == "organization" and nordwind["company_name"] == "Nordwind Logistik GmbH"
    assert items["Lisa Brandt"]["company_name"] == "Brandt & Söhne; Handel"
    # the search over e-mail keys works for imported contacts too
    assert [c["display_name"] for c in await all_contacts(admin, q="erika.m")] == ["Erika Mustermann"]
    # a finished import is not run again
    again = await admin.post(f"{BASE}/imports/{imp['id']}/run", json={"skip_invalid": True})
    assert again.status_code == 409 and again.json()["code"] == "import_finished"



async def test_imported_contacts_are_searchable_and_carry_every_derived_row(company, runtime):
    """The insert phase writes through Core statements, past the ORM flush hooks: the search
    documents, duplicate match keys and custom field keys must still be exactly what the API's
    create path writes, and every row must belong to the importing tenant."""
    tenant, admin = company
    other_tenant = await factory_tenant_with_contact(runtime, company)
    imp = await upload(admin, CSV_FILE.read_bytes())
    resp = await admin.post(f"{BASE}/imports/{imp['id']}/run", json={"skip_invalid": True})
    assert resp.status_code == 202, resp.text
    await run_import_jobs(runtime)
    assert (await admin.get(f"{BASE}/imports/{imp['id']}")).json()["status"] == "succeeded"

    found = (await admin.get("/api/search", params={"q": "Mustermann"})).json()
    assert [(h["type"], h["title"]) for h in found["items"]] == [("contact", "Erika Mustermann")]
    assert found["items"][0]["subtitle"] == "erika.mustermann@example.com · Berlin"
    assert [h["title"] for h in (await admin.get("/api/search", params={"q": "nordwind"})).json()["items"]] \
        == ["Nordwind Logistik GmbH"]
    # the custom field filter finds imported contacts through their "cf" keys
    assert [c["display_name"] for c in await all_contacts(admin, **{"cf.branche": "IT"})] == ["Erika Mustermann"]

    source = search.get_source("contact")
    assert source is not None
    async with runtime.db.tenant_session(tenant.id) as session:
        contacts = list(await session.scalars(select(Contact)))
        docs = {d.entity_id: d for d in await session.scalars(select(SearchDocument))}
        keys = list(await session.scalars(select(ContactMatchKey)))
        links = list(await session.scalars(select(ContactTag)))
    assert len(contacts) == 3 and set(docs) == {c.id for c in contacts}
    for c in contacts:
        assert c.tenant_id == tenant.id and c.version == 1 and c.created_at is not None
        expected = source.document(c)
        doc = docs[c.id]
        assert (doc.tenant_id, doc.type, doc.owner_id, doc.title, doc.subtitle, doc.body) == (
            expected["tenant_id"], expected["type"], expected["owner_id"], expected["title"], expected["subtitle"],
            expected["body"])
        assert {(k.kind, k.key) for k in keys if k.contact_id == c.id} == duplicates.all_keys(c)
    assert {k.tenant_id for k in keys} == {tenant.id} and {t.tenant_id for t in links} == {tenant.id}
    assert ("cf", "branche=IT") in {(k.kind, k.key) for k in keys}
    # the other tenant sees none of it
    async with runtime.db.tenant_session(other_tenant) as session:
        assert await session.scalar(select(func.count()).select_from(SearchDocument)) == 1
        assert await session.scalar(select(func.count()).select_from(ContactMatchKey)) > 0
        assert [c.display_name for c in await session.scalars(select(Contact))] == ["Fremd Kontakt"]



async def test_the_imports_own_index_rows_equal_the_search_writers(company, runtime):
    """The import writes new contacts' search rows itself (one insert per batch, no upsert): what it
    stores must be exactly what the search component's writer stores for the same contacts — the
    tsvectors on PostgreSQL, an FTS5 index consistent with its documents on SQLite."""
    tenant, admin = company
    imp = await upload(admin, generated_csv(300))
    assert (await admin.post(f"{BASE}/imports/{imp['id']}/run", json={})).status_code == 202
    await run_import_jobs(runtime)
    assert (await admin.get(f"{BASE}/imports/{imp['id']}")).json()["imported_rows"] == 300

    async def index_rows(session: Any) -> dict[Any, Any]:
        if (await session.connection()).dialect.name == "postgresql":
            rows = await session.execute(text(
                "SELECT d.entity_id, d.title, d.subtitle, d.body, v.tsv::text FROM search_documents d "
                "JOIN search_vectors v ON v.doc_id = d.id"))
        else:
            # FTS5 checks its index against the content table (search_documents) and raises if they differ
            await session.execute(text("INSERT INTO search_fts(search_fts) VALUES ('integrity-check')"))
            rows = await session.execute(text(
                "SELECT d.entity_id, d.title, d.subtitle, d.body, f.rowid FROM search_documents d "
                "JOIN search_fts f ON f.rowid = d.id WHERE search_fts MATCH 'nach299'"))
        return {row[0]: tuple(row[1:4]) + ((row[4],) if isinstance(row[4], str) else ()) for row in rows}

    async with runtime.db.tenant_session(tenant.id) as session:
        imported = await index_rows(session)
        contacts = list(await session.scalars(select(Contact)))
        await search.reindex(session, "contact", contacts)  # the writer's upsert over the same contacts
        rewritten = await index_rows(session)
    assert imported and imported == rewritten
    assert len(imported) == (300 if len(next(iter(imported.values()))) == 4 else 1)


@pytest.mark.parametrize("address", [
    "erika.mustermann@example.com", "Max.Muster+crm@Firma-Berlin.DE", "a_b%c@x.y.io", "x@a1.de",
    "max@localhost", "max@server.local", "max@example.test", "max@example", "max@-bad.de", "max@bad-.de",
    "max@xn--mller-kva.de", "max@ab--cd.de", "max..muster@example.com", ".max@example.com", "max.@example.com",
    "max@example.123", "müller@example.com", "max@müller.de", "max@example.c", "\"max\"@example.com",
    "max@[10.0.0.1]", "m!x#y@example.com", "a" * 65 + "@example.com", "a@" + "b" * 64 + ".de",
    "a@" + ".".join(["b" * 60] * 5) + ".de", "max@@example.com", "max@exa_mple.com",
])
def test_the_fast_email_check_agrees_with_the_schema(address):
    """``fast_email`` is a shortcut, never a second rule: where it answers, the schema gives the same."""
    from pydantic import ValidationError

    from xynap.shared.contacts.schemas import EmailEntry

    try:
        expected: str | None = EmailEntry(value=address).value
    except ValidationError:
        expected = None
    fast = transfer.fast_email(address)
    assert fast is None or fast == expected
    if address in ("erika.mustermann@example.com", "Max.Muster+crm@Firma-Berlin.DE", "a_b%c@x.y.io"):
        assert fast == expected  # the everyday addresses take the shortcut


def test_row_errors_are_the_same_with_the_shortcuts():
    """Rows through the e-mail shortcut and the phone cache report what the schema and service report."""
    definitions: dict[str, Any] = {}
    converter = transfer.RowConverter(definitions, "DE")
    entries = [("first_name", "Max", "Vorname"), ("email.work", "max@example.com", "E-Mail"),
               ("phone.work", "030 1234567", "Tel")]
    for _ in range(2):  # the second time from the cache
        converted, errors = converter.convert(2, entries)
        assert errors == [] and converted is not None
        assert converted.values["emails"] == [{"type": "work", "value": "max@example.com"}]
        assert converted.values["phones"] == [{"type": "work", "value": "+49301234567"}]
    bad = [("first_name", "Max", "Vorname"), ("email.work", "max@example", "E-Mail"),
           ("phone.work", "12", "Tel"), ("phone.mobile", "0151 12345678", "Mobil")]
    for _ in range(2):
        converted, errors = converter.convert(3, bad)
        assert converted is None
        assert [(e.field, e.column, e.value) for e in errors] == [
            ("emails.0.value", "E-Mail", "max@example"), ("phones.0.value", "Tel", "12")]
        assert errors[0].message.startswith("value is not a valid email address")
        assert errors[1].message == "not a valid phone number"


def test_batch_ids_are_uuid7_like_the_kernels():
    pool = transfer._IdPool(chunk=50)
    ids = [pool.next() for _ in range(120)]  # spans three refills
    assert len(set(ids)) == 120
    assert {i.version for i in ids} == {7} and {i.variant for i in ids} == {uuid.RFC_4122}
    kernel = uuid7()
    # the leading 48 bits are the time in milliseconds, as in xynap.core.ids.uuid7
    assert abs((ids[0].int >> 80) - (kernel.int >> 80)) < 60_000

async def factory_tenant_with_contact(runtime: Any, company: Any) -> uuid.UUID:
    """A second tenant with one contact made through the ORM (its search row comes from the listener)."""
    tenant, _ = company
    async with runtime.db.platform_session() as session:
        from xynap.platform.tenants.service import create_tenant

        other = await create_tenant(session, slug=f"fremd-{uuid.uuid4().hex[:8]}", name="Fremd", status="active")
        other_id = other.id
    async with runtime.db.tenant_session(other_id) as session:
        c = Contact(type="person", first_name="Fremd", last_name="Kontakt", display_name="Fremd Kontakt",
                    emails=[], phones=[], addresses=[], custom_fields={}, notes="", source="manual")
        session.add(c)
        await session.flush()
        await duplicates.store_match_keys(session, [c])
    assert other_id != tenant.id
    return other_id

async def test_a_staff_member_imports_only_for_themselves(company, factory, runtime):
    tenant, admin = company
    staff = await factory.member(tenant, "staff")  # contacts.contact:create is "own" for staff
    imp = await upload(staff, CSV_FILE.read_bytes())
    resp = await staff.post(f"{BASE}/imports/{imp['id']}/run",
                            json={"skip_invalid": True, "default_owner_id": str(admin.user_id)})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_scope"
    # other staff do not see the upload; the admin does
    other = await factory.member(tenant, "staff")
    assert (await other.get(f"{BASE}/imports/{imp['id']}")).status_code == 404
    assert (await admin.get(f"{BASE}/imports/{imp['id']}")).status_code == 200
    assert (await other.get(f"{BASE}/imports")).json() == []
    assert [i["id"] for i in (await staff.get(f"{BASE}/imports")).json()] == [imp["id"]]
    assert imp["id"] in [i["id"] for i in (await admin.get(f"{BASE}/imports")).json()]
    resp = await staff.post(f"{BASE}/imports/{imp['id']}/run", json={"skip_invalid": True})
    assert resp.status_code == 202
    await run_import_jobs(runtime)
    owners = {c.owner_id for c in await contacts_of(runtime, tenant.id)}
    assert owners == {staff.user_id}


# --- progress, resume, volume ----------------------------------------------------------------------------


def generated_csv(rows: int, *, start: int = 0) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Vorname", "Nachname", "Firma", "E-Mail", "Mobil", "PLZ", "Ort", "Tags"])
    for i in range(start, start + rows):
        writer.writerow([f"Vor{i}", f"Nach{i}", f"Firma {i % 97}", f"person{i}@example.com",
                         f"0151 {10000000 + i:08d}", f"{10000 + i % 89999:05d}", "Berlin",
                         "Gruppe A" if i % 2 else "Gruppe B"])
    return out.getvalue().encode()


async def test_progress_is_visible_while_running_and_a_crash_resumes(company, runtime):
    tenant, admin = company
    imp = await upload(admin, generated_csv(50))
    resp = await admin.post(f"{BASE}/imports/{imp['id']}/run", json={"skip_invalid": False})
    assert resp.status_code == 202
    import_id = uuid.UUID(imp["id"])
    seen: list[tuple[str, str, int, int]] = []

    async def watch_then_crash(current: ContactImport) -> None:
        state = (await admin.get(f"{BASE}/imports/{import_id}")).json()
        seen.append((state["status"], state["progress"]["phase"], state["progress"]["done"],
                     state["imported_rows"]))
        if current.phase == "insert" and current.checkpoint == 20:
            raise RuntimeError("the worker died")

    data_dir = runtime.settings.data_dir
    async with runtime.db.session(tenant_id=tenant.id) as session:
        with pytest.raises(RuntimeError, match="the worker died"):
            await transfer.execute_import(session, data_dir, import_id, batch_size=10, on_progress=watch_then_crash)
    # another client saw the batches arrive
    assert ("running", "insert", 10, 10) in seen and ("running", "insert", 20, 20) in seen
    assert len(await contacts_of(runtime, tenant.id)) == 20

    # the restarted run continues after the last committed batch: no row twice, none lost
    async def watch(current: ContactImport) -> None:
        state = (await admin.get(f"{BASE}/imports/{import_id}")).json()
        seen.append((state["status"], state["progress"]["phase"], state["progress"]["done"],
                     state["imported_rows"]))

    async with runtime.db.session(tenant_id=tenant.id) as session:
        result = await transfer.execute_import(session, data_dir, import_id, batch_size=10, on_progress=watch)
    assert result.status == "succeeded" and result.imported_rows == 50
    assert ("running", "insert", 30, 30) in seen and seen[-1][0] == "succeeded"
    names = [c.display_name for c in await contacts_of(runtime, tenant.id)]
    assert len(names) == 50 and len(set(names)) == 50
    await run_import_jobs(runtime)  # the queued job finds the import done and changes nothing
    assert len(await contacts_of(runtime, tenant.id)) == 50


async def test_a_one_pass_import_checks_while_it_writes_and_resumes_after_a_crash(company, runtime):
    """skip_invalid: rows are checked batch by batch while earlier batches are written (no validate phase);
    a crash after two batches resumes without a row twice or lost, with every bad row reported once."""
    tenant, admin = company
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Vorname", "Nachname", "E-Mail", "Tags"])
    bad_lines = []
    for i in range(60):
        email = f"p{i}@example.com" if i % 7 else "kein-at-zeichen"  # every 7th row is invalid
        if not i % 7:
            bad_lines.append(i + 2)  # the header is line 1
        writer.writerow([f"Vor{i}", f"Nach{i}", email, f"Neu {i // 25}"])  # tags created on the way
    imp = await upload(admin, out.getvalue().encode())
    resp = await admin.post(f"{BASE}/imports/{imp['id']}/run", json={"skip_invalid": True})
    assert resp.status_code == 202
    import_id = uuid.UUID(imp["id"])
    seen: list[tuple[str, int, int, int]] = []

    async def watch_then_crash(current: ContactImport) -> None:
        seen.append((current.phase, current.rows_done, current.imported_rows, current.invalid_rows))
        if current.checkpoint == 20:
            raise RuntimeError("the worker died")

    data_dir = runtime.settings.data_dir
    async with runtime.db.session(tenant_id=tenant.id) as session:
        with pytest.raises(RuntimeError, match="the worker died"):
            await transfer.execute_import(session, data_dir, import_id, batch_size=10, on_progress=watch_then_crash)
    # no validate phase: the first batch of 10 valid rows was written after reading 12 rows (2 bad)
    assert "validate" not in {phase for phase, *_ in seen}
    assert seen[:2] == [("insert", 12, 10, 2), ("insert", 24, 20, 4)]
    assert len(await contacts_of(runtime, tenant.id)) == 20

    async with runtime.db.session(tenant_id=tenant.id) as session:
        result = await transfer.execute_import(session, data_dir, import_id, batch_size=10)
    assert result.status == "succeeded"
    assert (result.total_rows, result.imported_rows, result.invalid_rows, result.valid_rows) == (60, 51, 9, 51)
    names = [c.display_name for c in await contacts_of(runtime, tenant.id)]
    assert len(names) == 51 and len(set(names)) == 51
    assert not {f"Vor{line - 2} Nach{line - 2}" for line in bad_lines} & set(names)
    report = (await admin.get(f"{BASE}/imports/{import_id}/errors", params={"limit": 100})).json()
    assert sorted(e["line"] for e in report["items"]) == bad_lines  # each once, though read twice
    tags = {t["name"]: t["id"] for t in (await admin.get("/api/tags")).json()}
    assert {"Neu 0", "Neu 1", "Neu 2"} <= set(tags)
    tagged = await all_contacts(admin, tag=tags["Neu 2"])
    assert sorted(c["display_name"] for c in tagged) == [f"Vor{i} Nach{i}" for i in range(50, 60) if i % 7]


async def test_a_5000_row_file_imports_fully(company, runtime):
    tenant, admin = company
    imp = await upload(admin, generated_csv(5000), name="gross.csv")
    assert imp["total_rows"] == 5000
    resp = await admin.post(f"{BASE}/imports/{imp['id']}/run", json={})
    assert resp.status_code == 202
    await run_import_jobs(runtime)
    done = (await admin.get(f"{BASE}/imports/{imp['id']}")).json()
    assert done["status"] == "succeeded", done["message"]
    assert done["imported_rows"] == 5000 and done["errors"] == []
    async with runtime.db.tenant_session(tenant.id) as session:
        count = await session.scalar(select(func.count()).select_from(Contact).where(Contact.source == "import"))
        phone = await session.scalar(select(Contact.phone_keys).where(Contact.display_name == "Vor4999 Nach4999"))
    assert count == 5000 and phone == "+4915110004999"
    tagged = await admin.get(BASE, params={"q": "Vor4999"})
    assert [t["name"] for t in tagged.json()["items"][0]["tags"]] == ["Gruppe A"]


# --- vCard -----------------------------------------------------------------------------------------------


async def test_vcard_import_of_foreign_files(company, runtime):
    tenant, admin = company
    imp = await upload(admin, VCF_FILE.read_bytes(), name="adressbuch.vcf")
    assert imp["format"] == "vcard" and imp["total_rows"] == 3
    assert imp["header"] == ["Name", "Firma", "E-Mail", "Telefon", "Ort"]
    assert imp["preview"][0] == ["Dr. Sabine Köhler", "Köhler & Partner Steuerberatung",
                                 "s.koehler@koehler-partner.de", "+49 170 1234567", "Stuttgart"]
    resp = await admin.post(f"{BASE}/imports/{imp['id']}/run", json={})
    assert resp.status_code == 202, resp.text
    await run_import_jobs(runtime)
    done = (await admin.get(f"{BASE}/imports/{imp['id']}")).json()
    assert done["status"] == "succeeded" and done["imported_rows"] == 3, done
    items = {c["display_name"]: c for c in await all_contacts(admin)}
    sabine = items["Sabine Köhler"]
    assert sabine["company_name"] == "Köhler & Partner Steuerberatung"
    assert sabine["emails"] == [{"type": "work", "value": "s.koehler@koehler-partner.de"},
                                {"type": "home", "value": "sabine@koehler.example"}]
    assert sabine["phones"] == [{"type": "mobile", "value": "+491701234567"},
                                {"type": "work", "value": "+497112345670"}]
    assert sabine["addresses"][0] == {"type": "work", "street": "Königstraße 10", "postal_code": "70173",
                                      "city": "Stuttgart", "country": "DE"}
    assert sabine["notes"] == "Position: Geschäftsführerin\nKennengelernt auf der Messe, Halle 3.\nRückruf im Mai."
    assert sorted(t["name"] for t in sabine["tags"]) == ["Kunde", "VIP"]
    juergen = items["Jürgen Müller"]  # vCard 2.1, quoted-printable
    assert juergen["phones"] == [{"type": "work", "value": "+49895512340"}]
    assert juergen["notes"] == "Eine sehr lange Notiz, die umbrochen wird und weitergeht und weitergeht bis hier."
    nordlicht = items["Nordlicht Logistik AG"]
    assert nordlicht["type"] == "organization" and nordlicht["phones"] == [{"type": "work", "value": "+494030123400"}]
    assert nordlicht["notes"] == ("Ein langer Text, der in der Datei gefaltet wurde, damit keine Zeile länger als "
                                  "fünfundsiebzig Oktette ist.")


ROUND_TRIP_FIELDS = ("type", "first_name", "last_name", "company_name", "emails", "phones", "addresses", "notes")


@pytest.mark.parametrize("version", ["3.0", "4.0"])
async def test_vcard_round_trip(factory, runtime, version):
    source = await factory.tenant(modules=("example",))
    admin = await factory.member(source, "admin")
    created = []
    for body in (
        {"type": "person", "first_name": "Jürgen", "last_name": "Groß-Übermann",
         "company_name": "Groß & Klein; GmbH",
         "emails": [{"type": "work", "value": "j.gross@example.com"}, {"type": "home", "value": "jg@example.org"}],
         "phones": [{"type": "work", "value": "030 1234567"}, {"type": "mobile", "value": "0151 23456789"},
                    {"type": "fax", "value": "030 1234568"}],
         "addresses": [{"type": "work", "street": "Unter den Linden 1", "postal_code": "10117", "city": "Berlin",
                        "country": "DE"},
                       {"type": "home", "street": "Hauptplatz 2", "postal_code": "1010", "city": "Wien",
                        "country": "AT"}],
         "notes": "Zeile eins, mit Komma; und Semikolon\nZeile zwei: " + "sehr lang " * 12},
        {"type": "organization", "company_name": "Nordlicht Logistik AG",
         "emails": [{"type": "work", "value": "kontakt@nordlicht.de"}],
         "phones": [{"type": "work", "value": "040 30123400"}]},
    ):
        resp = await admin.post(BASE, json=body)
        assert resp.status_code == 201, resp.text
        created.append(resp.json())
    resp = await admin.post("/api/tags", json={"name": "VIP, wichtig"})
    assert resp.status_code == 201, resp.text
    tag_id = resp.json()["id"]
    resp = await admin.put(f"{BASE}/{created[0]['id']}/tags", json={"tag_ids": [tag_id]})
    assert resp.status_code == 200, resp.text

    exported = await admin.get(f"{BASE}/export.vcf", params={"version": version})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/vcard")
    text = exported.content.decode()
    assert text.count("BEGIN:VCARD") == 2 and f"VERSION:{version}" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n")), "lines are folded at 75 octets"

    target = await factory.tenant(modules=("example",))
    other = await factory.member(target, "admin")
    imp = await upload(other, exported.content, name="export.vcf")
    assert imp["format"] == "vcard" and imp["total_rows"] == 2
    resp = await other.post(f"{BASE}/imports/{imp['id']}/run", json={})
    assert resp.status_code == 202
    await run_import_jobs(runtime)
    assert (await other.get(f"{BASE}/imports/{imp['id']}")).json()["status"] == "succeeded"
    imported = {c["display_name"]: c for c in await all_contacts(other)}
    for original in created:
        copy = imported[original["display_name"]]
        assert {k: copy[k] for k in ROUND_TRIP_FIELDS} == {k: original[k] for k in ROUND_TRIP_FIELDS}
    assert [t["name"] for t in imported["Jürgen Groß-Übermann"]["tags"]] == ["VIP, wichtig"]


# --- export ----------------------------------------------------------------------------------------------


async def test_csv_and_excel_exports_are_filtered_and_scoped(company, factory):
    tenant, admin = company
    external = await factory.member(tenant, "external")  # reads only own contacts
    vip = (await admin.post("/api/tags", json={"name": "VIP"})).json()["id"]
    bodies = [
        {"type": "organization", "company_name": "Alpha GmbH", "custom_fields": {"branche": "IT"},
         "emails": [{"type": "work", "value": "info@alpha.de"}], "phones": [{"type": "work", "value": "030 111111"}]},
        {"type": "organization", "company_name": "Beta KG", "custom_fields": {"branche": "Handel"}},
        {"type": "person", "first_name": "Eva", "last_name": "Extern", "owner_id": str(external.user_id),
         "notes": "=HYPERLINK(\"http://evil\")"},
        {"type": "person", "first_name": "Paul", "last_name": "Person",
         "phones": [{"type": "mobile", "value": "0151 23456789"}]},
    ]
    ids = {}
    for body in bodies:
        resp = await admin.post(BASE, json=body)
        assert resp.status_code == 201, resp.text
        ids[resp.json()["display_name"]] = resp.json()["id"]
    await admin.put(f"{BASE}/{ids['Alpha GmbH']}/tags", json={"tag_ids": [vip]})
    await admin.put(f"{BASE}/{ids['Paul Person']}/tags", json={"tag_ids": [vip]})

    def csv_rows(resp: Any) -> list[dict[str, str]]:
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("text/csv")
        assert "attachment" in resp.headers["content-disposition"]
        return list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig")), delimiter=";"))

    rows = csv_rows(await admin.get(f"{BASE}/export.csv"))
    assert sorted(r["Nachname"] or r["Firma"] for r in rows) == ["Alpha GmbH", "Beta KG", "Extern", "Person"]
    alpha = next(r for r in rows if r["Firma"] == "Alpha GmbH")
    assert alpha["Typ"] == "Firma" and alpha["E-Mail"] == "info@alpha.de" and alpha["Telefon"] == "+4930111111"
    assert alpha["Tags"] == "VIP" and alpha["Branche"] == "IT"
    eva = next(r for r in rows if r["Nachname"] == "Extern")
    assert eva["Notizen"].startswith("'=")  # no formula injection into spreadsheets

    rows = csv_rows(await admin.get(f"{BASE}/export.csv", params={"type": "organization", "cf.branche": "IT"}))
    assert [r["Firma"] for r in rows] == ["Alpha GmbH"]
    rows = csv_rows(await admin.get(f"{BASE}/export.csv", params={"tag": vip}))
    assert sorted(r["Firma"] or r["Nachname"] for r in rows) == ["Alpha GmbH", "Person"]
    rows = csv_rows(await admin.get(f"{BASE}/export.csv", params={"q": "Bet"}))
    assert [r["Firma"] for r in rows] == ["Beta KG"]
    resp = await admin.post(f"{BASE}/segments", json={"name": "Firmen mit E-Mail", "filter": {
        "op": "and", "conditions": [{"field": "type", "operator": "eq", "value": "organization"},
                                    {"field": "email", "operator": "is_not_empty"}]}})
    assert resp.status_code == 201, resp.text
    rows = csv_rows(await admin.get(f"{BASE}/export.csv", params={"segment": resp.json()["id"]}))
    assert [r["Firma"] for r in rows] == ["Alpha GmbH"]
    bad = await admin.get(f"{BASE}/export.csv", params={"cf.nope": "x"})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_custom_field"
    # the external user's "own" scope: only Eva
    rows = csv_rows(await external.get(f"{BASE}/export.csv"))
    assert [r["Nachname"] for r in rows] == ["Extern"]

    resp = await admin.get(f"{BASE}/export.xlsx", params={"tag": vip})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(resp.content), read_only=True).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][:4] == ["Typ", "Vorname", "Nachname", "Firma"] and values[0][-1] == "Branche"
    assert sorted((r[3] or r[2]) for r in values[1:]) == ["Alpha GmbH", "Person"]
    paul = next(r for r in values[1:] if r[2] == "Person")
    assert paul[7] == "+4915123456789"  # Mobil
    resp = await external.get(f"{BASE}/export.xlsx")
    values = [list(r) for r in load_workbook(io.BytesIO(resp.content), read_only=True).active.iter_rows(
        values_only=True)]
    assert [r[2] for r in values[1:]] == ["Extern"]


async def test_export_streams_many_contacts_in_pages(company, runtime, monkeypatch):
    tenant, admin = company
    async with runtime.db.tenant_session(tenant.id) as session:
        for i in range(23):
            session.add(Contact(type="person", display_name=f"Seite {i:02d}", last_name=f"Seite {i:02d}",
                                emails=[], phones=[], addresses=[], custom_fields={}, notes="", source="api"))
    monkeypatch.setattr(transfer, "EXPORT_PAGE", 5)
    pages = []
    original = transfer.iter_contacts

    async def counting(db: Any, stmt: Any, page: int = 5) -> Any:
        async for chunk in original(db, stmt, page=5):
            pages.append(len(chunk))
            yield chunk

    monkeypatch.setattr(transfer, "iter_contacts", counting)
    resp = await admin.get(f"{BASE}/export.vcf", params={"version": "3.0"})
    assert resp.status_code == 200 and resp.text.count("BEGIN:VCARD") == 23
    assert pages == [5, 5, 5, 5, 3]


# --- CLI -------------------------------------------------------------------------------------------------


async def test_cli_import_dry_run_then_real_run_and_export(company, runtime, tmp_path):
    tenant, admin = company
    runner = CliRunner()
    source = tmp_path / "kontakte.csv"
    source.write_bytes(CSV_FILE.read_bytes())

    def invoke(*args: str) -> Any:
        from xynap.cli.main import app

        return runner.invoke(app, list(args), env={"COLUMNS": "200"})  # wide enough for the error table

    result = await asyncio.to_thread(invoke, "contacts", "import", str(source), "--tenant", tenant.slug, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run: 3 valid, 4 invalid rows" in result.output and "max.meier@" in result.output
    assert await contacts_of(runtime, tenant.id) == []

    result = await asyncio.to_thread(invoke, "contacts", "import", str(source), "--tenant", tenant.slug)
    assert result.exit_code == 1 and "rejected" in result.output
    assert await contacts_of(runtime, tenant.id) == []

    mapping = tmp_path / "mapping.json"
    mapping.write_text('{"Vorname": "first_name", "Nachname": "last_name", "Firma": "company_name", '
                       '"E-Mail": "email.work"}')
    result = await asyncio.to_thread(invoke, "contacts", "import", str(source), "--tenant", tenant.slug,
                                     "--skip-invalid", "--mapping", str(mapping))
    assert result.exit_code == 0, result.output
    # without the phone and custom field columns only the bad e-mail and the nameless row fail
    assert "succeeded: 5 contacts imported, 2 invalid rows skipped" in result.output
    contacts = await contacts_of(runtime, tenant.id)
    assert len(contacts) == 5 and all(c.source == "import" and c.phones == [] for c in contacts)

    out = tmp_path / "export.xlsx"
    result = await asyncio.to_thread(invoke, "contacts", "export", "--tenant", tenant.slug, "--format", "xlsx",
                                     "-o", str(out))
    assert result.exit_code == 0, result.output
    values = list(load_workbook(out, read_only=True).active.iter_rows(values_only=True))
    assert len(values) == 6
    out = tmp_path / "export.vcf"
    result = await asyncio.to_thread(invoke, "contacts", "export", "--tenant", tenant.slug, "--format", "vcf",
                                     "-o", str(out), "--vcard-version", "3.0")
    assert result.exit_code == 0 and out.read_text().count("VERSION:3.0") == 5
    # in the list's order, as the list takes it
    out = tmp_path / "export.csv"
    result = await asyncio.to_thread(invoke, "contacts", "export", "--tenant", tenant.slug, "-o", str(out),
                                     "--sort", "-name")
    assert result.exit_code == 0, result.output
    names = [c.display_name for c in contacts]
    exported = out.read_text(encoding="utf-8-sig").splitlines()[1:]
    assert [line for line in exported if line] and all(any(n.split()[0] in line for n in names) for line in exported)
    listed = [c["display_name"] for c in await all_contacts(admin, sort="-name")]
    firsts = [next(n for n in listed if n.split()[0] in line) for line in exported if line]
    assert firsts == listed
    result = await asyncio.to_thread(invoke, "contacts", "export", "--tenant", tenant.slug, "-o", str(out),
                                     "--sort", "telefon")
    assert result.exit_code == 1 and "--sort" in result.output and "Cannot sort by 'telefon'" in result.output


# --- the tenant wall ---------------------------------------------------------------------------------------


async def test_another_tenants_import_is_not_found(company, factory):
    tenant, admin = company
    imp = await upload(admin, CSV_FILE.read_bytes())
    other_tenant = await factory.tenant(modules=("example",))
    intruder = await factory.member(other_tenant, "admin")
    url = f"{BASE}/imports/{imp['id']}"
    for method, path, body in (("GET", url, None), ("GET", f"{url}/errors", None),
                               ("POST", f"{url}/validate", {}), ("POST", f"{url}/run", {"skip_invalid": True}),
                               ("DELETE", url, None)):
        resp = await intruder.request(method, path, **({"json": body} if body is not None else {}))
        assert resp.status_code == 404 and resp.json()["code"] == "import_not_found", (method, path, resp.text)
    listed = await intruder.get(f"{BASE}/imports")
    assert listed.status_code == 200 and listed.json() == []
    assert (await admin.get(url)).json()["status"] == "uploaded"
    resp = await admin.delete(url)
    assert resp.status_code == 204 and (await admin.get(url)).status_code == 404
