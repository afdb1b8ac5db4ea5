"""Shared component: contacts (persons and organisations), tags and custom fields (spec §3.1).

Routes live at ``/api/contacts`` (custom field definitions at ``/api/contacts/fields``, segments at
``/api/contacts/segments``, duplicates and merge under ``/api/contacts/{id}/...``); they open as soon
as the tenant has booked any module. Tags are their own component (``xynap.shared.tags``,
``/api/tags``); contacts register their link table there for usage counts.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from xynap.core.modules import Module, PermissionDecl
from xynap.core.search import SearchSource
from xynap.shared.contacts import service
from xynap.shared.contacts.api import router
from xynap.shared.contacts.jobs import JOBS as TRANSFER_JOBS
from xynap.shared.contacts.jobs import SCHEDULES as TRANSFER_SCHEDULES
from xynap.shared.contacts.jobs import SETTINGS as TRANSFER_SETTINGS
from xynap.shared.contacts.models import Contact, ContactRelation, ContactTag, CustomFieldDefinition, Segment, Tag
from xynap.shared.contacts.transfer_api import router as transfer_router
from xynap.shared.tags.registry import register_tag_link

PERMISSIONS = [
    PermissionDecl("contacts.contact", label="Contacts", defaults={
        "admin": "all",
        "manager": "all",
        "staff": {"read": "all", "create": "own", "update": "own", "delete": "own"},
        "external": {"read": "own"},
    }),
    # Saved filters: everybody keeps their own; shared ones are visible to all who read contacts.
    PermissionDecl("contacts.segment", label="Contact segments", defaults={
        "admin": "all", "manager": "all",
        "staff": {"read": "own", "create": "own", "update": "own", "delete": "own"}, "external": {"read": "own"},
    }),
    # Everybody reads the definitions (forms need them); only admins define fields.
    PermissionDecl("contacts.field", scoped=False, label="Custom fields", defaults={
        "admin": "all", "manager": {"read": "all"}, "staff": {"read": "all"}, "external": {"read": "all"},
    }),
]

DEMO_TAGS = (("VIP", "#eab308"), ("Lieferant", "#0ea5e9"), ("Kunde", "#22c55e"))
BRANCHEN = ["Maschinenbau", "Handel", "IT", "Handwerk", "Logistik", "Gastronomie"]

# key, type, owner key, names (first, last | company), e-mail, phone, address (street, zip, city),
# tags, Branche
DEMO_CONTACTS: tuple[dict[str, Any], ...] = (
    {"key": "brenner", "type": "organization", "company_name": "Brenner Maschinenbau GmbH", "owner": "manager",
     "email": "info@brenner-maschinenbau.de", "phone": "0711 2345670",
     "address": ("Industriestraße 12", "70565", "Stuttgart"), "tags": ["Kunde", "VIP"], "branche": "Maschinenbau"},
    {"key": "nordlicht", "type": "organization", "company_name": "Nordlicht Logistik AG", "owner": "staff1",
     "email": "kontakt@nordlicht-logistik.de", "phone": "040 30123400",
     "address": ("Am Sandtorkai 5", "20457", "Hamburg"), "tags": ["Lieferant"], "branche": "Logistik"},
    {"key": "kaiser", "type": "organization", "company_name": "Bäckerei Kaiser", "owner": "staff2",
     "email": "hallo@baeckerei-kaiser.de", "phone": "089 5512340",
     "address": ("Leopoldstraße 88", "80802", "München"), "tags": ["Kunde"], "branche": "Handwerk"},
    {"key": "datawerk", "type": "organization", "company_name": "Datawerk IT-Services GmbH", "owner": "admin",
     "email": "service@datawerk.de", "phone": "0221 9876540",
     "address": ("Hohenzollernring 40", "50672", "Köln"), "tags": ["Lieferant", "VIP"], "branche": "IT"},
    {"key": "lindner", "type": "organization", "company_name": "Lindner Handelshaus KG", "owner": "staff3",
     "email": "einkauf@lindner-handel.de", "phone": "0341 2233440",
     "address": ("Petersstraße 20", "04109", "Leipzig"), "tags": ["Kunde"], "branche": "Handel"},
    {"key": "becker", "type": "person", "first_name": "Andreas", "last_name": "Becker", "owner": "manager",
     "email": "a.becker@brenner-maschinenbau.de", "phone": "+49 151 23456789",
     "address": ("Industriestraße 12", "70565", "Stuttgart"), "tags": ["VIP"]},
    {"key": "wagner", "type": "person", "first_name": "Claudia", "last_name": "Wagner", "owner": "staff1",
     "email": "c.wagner@nordlicht-logistik.de", "phone": "0160 98765432",
     "address": ("Am Sandtorkai 5", "20457", "Hamburg"), "tags": ["Lieferant"]},
    {"key": "kaiser_m", "type": "person", "first_name": "Michael", "last_name": "Kaiser", "owner": "staff2",
     "email": "michael@baeckerei-kaiser.de", "phone": "0171 4455667",
     "address": ("Leopoldstraße 88", "80802", "München"), "tags": ["Kunde"]},
    {"key": "schulz", "type": "person", "first_name": "Stefanie", "last_name": "Schulz", "owner": "admin",
     "email": "s.schulz@datawerk.de", "phone": "0221 9876541",
     "address": ("Hohenzollernring 40", "50672", "Köln"), "tags": []},
    {"key": "koch", "type": "person", "first_name": "Lukas", "last_name": "Koch", "owner": "staff3",
     "email": "l.koch@lindner-handel.de", "phone": "0176 11223344",
     "address": ("Petersstraße 20", "04109", "Leipzig"), "tags": ["Kunde"]},
    {"key": "richter", "type": "person", "first_name": "Anna", "last_name": "Richter", "owner": "external",
     "email": "anna.richter@web.de", "phone": "030 44556677",
     "address": ("Kastanienallee 7", "10435", "Berlin"), "tags": []},
    {"key": "wolf", "type": "person", "first_name": "Peter", "last_name": "Wolf", "owner": "staff1",
     "email": "peter.wolf@gmx.de", "phone": "0201 3344556",
     "address": ("Rüttenscheider Straße 150", "45131", "Essen"), "tags": ["Kunde"]},
)

DEMO_RELATIONS = (
    ("becker", "brenner", "employee_of", "Geschäftsführer", "Geschäftsleitung"),
    ("wagner", "nordlicht", "employee_of", "Disponentin", "Disposition"),
    ("kaiser_m", "kaiser", "employee_of", "Inhaber", None),
    ("schulz", "datawerk", "employee_of", "Projektleiterin", "Beratung"),
    ("koch", "lindner", "employee_of", "Einkäufer", "Einkauf"),
    ("nordlicht", "brenner", "supplier", None, None),
    ("datawerk", "lindner", "partner", None, None),
)


async def demo(session: Any, tenant_id: uuid.UUID, users: dict[str, Any]) -> None:
    """Demo data for ``xynap demo``: a dozen German contacts with relations, tags and a custom field."""
    session.add(CustomFieldDefinition(tenant_id=tenant_id, entity="contact", key="branche", label="Branche",
                                      type="select", options=BRANCHEN, required=False, position=0))
    tags = {}
    for name, color in DEMO_TAGS:
        tags[name] = Tag(tenant_id=tenant_id, name=name, color=color)
        session.add(tags[name])
    contacts: dict[str, Contact] = {}
    for spec in DEMO_CONTACTS:
        owner = users.get(spec["owner"]) or users.get("admin")
        emails = [{"type": "work", "value": spec["email"]}]
        phones = [{"type": "mobile" if spec["phone"].startswith(("01", "+49 1")) else "work",
                   "value": service.to_e164(spec["phone"], "DE")}]
        street, postal_code, city = spec["address"]
        contact = Contact(
            tenant_id=tenant_id, type=spec["type"],
            display_name=service.display_name_of(spec["type"], spec.get("first_name"), spec.get("last_name"),
                                                 spec.get("company_name")),
            first_name=spec.get("first_name"), last_name=spec.get("last_name"),
            company_name=spec.get("company_name"), emails=emails, phones=phones,
            addresses=[{"type": "work", "street": street, "postal_code": postal_code, "city": city,
                        "country": "DE"}],
            custom_fields={"branche": spec["branche"]} if "branche" in spec else {},
            notes="", source="manual", owner_id=owner.id if owner else None,
            email_keys=service.email_keys(emails), phone_keys=service.phone_keys(phones),
        )
        contacts[spec["key"]] = contact
        session.add(contact)
    await session.flush()
    for spec in DEMO_CONTACTS:
        for tag_name in spec["tags"]:
            session.add(ContactTag(tenant_id=tenant_id, contact_id=contacts[spec["key"]].id, tag_id=tags[tag_name].id))
    for a, b, kind, position, department in DEMO_RELATIONS:
        session.add(ContactRelation(tenant_id=tenant_id, contact_a_id=contacts[a].id, contact_b_id=contacts[b].id,
                                    relation_type=kind, position=position, department=department))
    await session.flush()
    await service.store_match_keys(session, contacts.values())
    admin = users.get("admin")
    session.add(Segment(tenant_id=tenant_id, name="VIP-Kunden", shared=True, owner_id=admin.id if admin else None,
                        filter={"op": "and", "conditions": [
                            {"field": "tag", "operator": "has", "value": str(tags["VIP"].id)},
                            {"field": "tag", "operator": "has", "value": str(tags["Kunde"].id)}]}))
    await session.flush()
    await demo_import(session, users.get("admin"))


async def demo_import(session: Any, admin: Any) -> None:
    """A finished CSV import (without its file), so the import routes have a record to show."""
    from xynap.core.db import utcnow
    from xynap.shared.contacts.import_models import ContactImport

    session.add(ContactImport(
        format="csv", filename="kontakte-messe.csv", size_bytes=2048, encoding="utf-8", delimiter=";",
        header=["Vorname", "Nachname", "Firma", "E-Mail", "Telefon"], total_rows=12, status="succeeded",
        created_by=admin.id if admin else None, options={"skip_invalid": True}, phase="done", rows_done=12,
        checkpoint=11, valid_rows=11, invalid_rows=1, imported_rows=11, dry_run=False,
        errors=[{"line": 7, "field": "emails.0.value", "column": "E-Mail", "value": "max.mustermann@",
                 "message": "value is not a valid email address"}],
        message="11 contacts imported, 1 invalid rows skipped", finished_at=utcnow()))
    await session.flush()


def _contact_subtitle(c: Contact) -> str:
    first = [e.get("value") for e in c.emails or []][:1] or [p.get("value") for p in c.phones or []][:1]
    city = [a.get("city") for a in c.addresses or [] if a.get("city")][:1]
    return " · ".join(str(x) for x in first + city if x)


def _contact_body(c: Contact) -> str:
    phones = [p.get("value") or "" for p in c.phones or []]
    national = ["0" + p[3:] for p in phones if p.startswith("+49")]  # "0151…" finds "+49151…"
    addresses = [" ".join(str(a.get(k) or "") for k in ("street", "postal_code", "city")) for a in c.addresses or []]
    fields = [str(v) for v in (c.custom_fields or {}).values() if isinstance(v, (str, int, float))]
    return " ".join([c.company_name or "", *(e.get("value") or "" for e in c.emails or []), *phones, *national,
                     *addresses, *fields, c.notes or ""])


SEARCH_SOURCES = [SearchSource(
    type="contact", model=Contact, permission="contacts.contact:read", title=lambda c: c.display_name,
    subtitle=_contact_subtitle, body=_contact_body, url="/contacts/{id}", icon="users",
    label={"de": "Kontakte", "en": "Contacts"})]

register_tag_link("contact", ContactTag, ContactTag.tag_id)

module = Module(
    slug="contacts", name="Kontakte", kind="shared", icon="users", color="#0ea5e9", sort_order=10,
    description="Persons and organisations shared by every module",
    permissions=PERMISSIONS,
    search_sources=SEARCH_SOURCES,
    # the import/export router first: the main router's /{contact_id} would swallow /imports, /export.csv
    routers=[transfer_router, router],
    jobs=TRANSFER_JOBS,
    schedules=TRANSFER_SCHEDULES,  # the daily cleanup of old import files
    settings=TRANSFER_SETTINGS,
    migrations=Path(__file__).parent / "migrations" / "versions",
)
# Optional manifest extra read by xynap.platform.demo (Module has no field for it).
module.demo = demo  # type: ignore[attr-defined]

__all__ = ["module"]
