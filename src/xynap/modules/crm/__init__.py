"""Bookable module ``crm``: sales pipelines, deals with line items, the Kanban board, rotting and the
weighted forecast (spec §2.1.2, §6.3).

Routes live at ``/api/crm`` (see ``api``); events and the timeline in ``events``; the hourly rotting
scan in ``jobs``. Deals point at contacts of the shared contacts component by plain id (registered
as contact references, so a merge moves them), carry tags of the tags component (``crm_deal_tags``,
registered as tag link ``deal``) and are searchable (search type ``deal``).

Entry point (group ``xynap.modules``): ``crm = "xynap.modules.crm:module"``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import secrets
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from xynap.core.db import utcnow
from xynap.core.ids import uuid7
from xynap.core.modules import JobDecl, Module, PlanDecl, ScheduleDecl, UIEntry
from xynap.core.search import SearchSource
from xynap.modules.crm import service
from xynap.modules.crm.api import router
from xynap.modules.crm.events import EVENT_HANDLERS
from xynap.modules.crm.jobs import RESCORE_JOB, ROTTING_JOB, rescore_leads, rotting_scan
from xynap.modules.crm.leads_api import router as leads_router
from xynap.modules.crm.models import (
    Deal,
    DealItem,
    DealStageHistory,
    DealTag,
    Lead,
    LeadForm,
    LeadScoreRule,
    LeadSettings,
    LeadTag,
    Pipeline,
    Stage,
)
from xynap.modules.crm.permissions import PERMISSIONS
from xynap.modules.crm.reports_api import router as reports_router
from xynap.shared.contacts.references import register_contact_reference
from xynap.shared.tags.registry import register_tag_link

# A contact merge moves these links to the surviving contact (and counts the deal's version up).
register_contact_reference(Deal, "contact_id", "organization_id")
register_contact_reference(Lead, "converted_contact_id", "converted_organization_id")
register_tag_link("deal", DealTag, DealTag.tag_id)
register_tag_link("lead", LeadTag, LeadTag.tag_id)


def _deal_subtitle(deal: Deal) -> str:
    return f"{deal.value} {deal.currency} · {deal.status}"


SEARCH_SOURCES = [SearchSource(
    type="deal", model=Deal, permission="crm.deal:read", title=lambda d: d.title, subtitle=_deal_subtitle,
    body=lambda d: " ".join([d.source or "", *(str(v) for v in (d.custom_fields or {}).values()
                                              if isinstance(v, (str, int, float)))]),
    url="/crm/deals/{id}", icon="handshake", label={"de": "Deals", "en": "Deals"}),
    SearchSource(
        type="lead", model=Lead, permission="crm.lead:read",
        title=lambda lead: " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.company_name or "Lead",
        subtitle=lambda lead: " · ".join(p for p in (lead.company_name, lead.email) if p),
        body=lambda lead: " ".join(p for p in (lead.email, lead.phone, lead.region, lead.message) if p),
        url="/crm/leads/{id}", icon="user-plus", label={"de": "Leads", "en": "Leads"})]

# --- demo data ---------------------------------------------------------------------------------------

DEMO_STAGES = (
    # name, colour, probability %, rotting days
    ("Lead", "#94a3b8", 10, 14),
    ("Qualifiziert", "#0ea5e9", 25, 14),
    ("Angebot", "#6366f1", 50, 21),
    ("Verhandlung", "#f59e0b", 75, 14),
    ("Vertragsprüfung", "#8b5cf6", 90, 7),
    ("Abschluss", "#22c55e", 100, None),
)
DEMO_UPSELL_STAGES = (("Bedarf erkannt", "#94a3b8", 20, 30), ("Angebot", "#6366f1", 60, 30))

# title, stage index, owner key, person key, organisation key, value, currency, days to close,
# days in stage, status (open/won/lost), source, line items (product, qty, unit price, discount %)
DEMO_DEALS: tuple[tuple[Any, ...], ...] = (
    ("CNC-Fräse Wartungsvertrag", 0, "manager", "becker", "brenner", "18000.00", "EUR", 60, 3, "open", "Messe", ()),
    ("Ersatzteilpaket 2027", 1, "manager", "becker", "brenner", "7450.00", "EUR", 45, 20, "open", "Bestand",
     (("Spindel-Lager", "10", "425.00", "5"), ("Kühlmittelpumpe", "5", "650.00", "0"))),
    ("Lagerlogistik Hamburg", 2, "staff1", "wagner", "nordlicht", "42000.00", "EUR", 30, 5, "open", "Empfehlung", ()),
    ("Tourenplanung-Software", 3, "staff1", "wagner", "nordlicht", "12500.00", "EUR", 20, 2, "open", "Website", ()),
    ("Kassensystem Filialen", 1, "staff2", "kaiser_m", "kaiser", "8900.00", "EUR", 40, 1, "open", "Telefon",
     (("Kassenterminal", "3", "2500.00", "10"), ("Einrichtung", "1", "2150.00", "0"))),
    ("Backstuben-Sensorik", 0, "staff2", "kaiser_m", "kaiser", "3200.00", "EUR", 90, 30, "open", "Website", ()),
    ("IT-Rahmenvertrag", 4, "admin", "schulz", "datawerk", "96000.00", "EUR", 10, 2, "open", "Bestand", ()),
    ("Cloud-Migration Phase 2", 2, "admin", "schulz", "datawerk", "54000.00", "EUR", 75, 25, "open", "Bestand", ()),
    ("Schulungspaket Einkauf", 1, "staff3", "koch", "lindner", "4800.00", "EUR", 35, 4, "open", "Messe", ()),
    ("Lieferantenportal", 3, "staff3", "koch", "lindner", "27500.00", "EUR", 15, 18, "open", "Empfehlung", ()),
    ("Beratung Exportkontrolle", 0, "manager", "richter", None, "2400.00", "EUR", 50, 2, "open", "Website", ()),
    ("Privatkunde Wolf – Einbau", 2, "staff1", "wolf", None, "6300.00", "EUR", 25, 9, "open", "Telefon", ()),
    ("Swiss Subsidiary Rollout", 2, "manager", "becker", "brenner", "38000.00", "CHF", 55, 6, "open", "Partner", ()),
    ("UK Distribution Pilot", 1, "staff1", "wagner", "nordlicht", "15000.00", "GBP", 80, 3, "open", "Partner", ()),
    ("Wartung Backöfen", 3, "staff2", "kaiser_m", "kaiser", "5400.00", "EUR", 12, 3, "open", "Bestand", ()),
    ("Netzwerk-Audit", 4, "admin", "schulz", "datawerk", "11800.00", "EUR", 5, 9, "open", "Bestand", ()),
    ("Messestand 2026", 5, "staff3", "koch", "lindner", "9600.00", "EUR", -10, 12, "won", "Messe", ()),
    ("Fuhrpark-Telematik", 3, "staff1", "wagner", "nordlicht", "21000.00", "EUR", -20, 4, "lost", "Website", ()),
    ("Server-Leasing", 5, "admin", "schulz", "datawerk", "33000.00", "EUR", -5, 3, "won", "Bestand", ()),
    ("Energieberatung Halle 3", 2, "manager", "becker", "brenner", "7700.00", "EUR", 65, 2, "open", "Empfehlung", ()),
)


async def demo(session: Any, tenant_id: uuid.UUID, users: dict[str, Any]) -> None:
    """Demo data for ``xynap demo``: the pipeline "Neugeschäft" with 6 stages and 20 deals on the demo
    contacts (some with line items, tags, won and lost), and an "Upsell" pipeline."""
    from xynap.shared.contacts import DEMO_CONTACTS
    from xynap.shared.contacts.models import Contact
    from xynap.shared.tags.models import Tag

    by_name = {c.display_name: c.id for c in await session.scalars(select(Contact))}
    keys: dict[str, uuid.UUID] = {}
    for spec in DEMO_CONTACTS:
        name = service_display_name(spec)
        if name in by_name:
            keys[spec["key"]] = by_name[name]
    vip = await session.scalar(select(Tag.id).where(Tag.name == "VIP"))
    now = utcnow()
    # Ids ascend from the main pipeline to its stages to the upsell pipeline: the route-wide isolation
    # test takes the oldest row of each table, and its stage must belong to its pipeline.
    ids = _ascending_ids(2 + len(DEMO_STAGES) + len(DEMO_UPSELL_STAGES))
    main = Pipeline(id=ids[0], tenant_id=tenant_id, name="Neugeschäft", is_default=True, position=1)
    upsell = Pipeline(id=ids[1], tenant_id=tenant_id, name="Upsell Bestandskunden", is_default=False, position=2)
    session.add_all([main, upsell])
    await session.flush()
    stages = []
    for index, (name, color, probability, rotting) in enumerate(DEMO_STAGES):
        stages.append(Stage(id=ids[2 + index], tenant_id=tenant_id, pipeline_id=main.id, name=name, color=color,
                            probability=probability, rotting_days=rotting, position=index))
    for index, (name, color, probability, rotting) in enumerate(DEMO_UPSELL_STAGES):
        session.add(Stage(id=ids[2 + len(DEMO_STAGES) + index], tenant_id=tenant_id, pipeline_id=upsell.id,
                          name=name, color=color, probability=probability, rotting_days=rotting, position=index))
    session.add_all(stages)
    await session.flush()
    admin = users.get("admin")
    positions: dict[uuid.UUID, int] = {}
    for (title, stage_index, owner_key, person, org, value, currency, close_in, in_stage, status, source,
         items) in DEMO_DEALS:
        stage = stages[stage_index]
        owner = users.get(owner_key) or admin
        entered = now - dt.timedelta(days=in_stage)
        rows, items_total = service.item_rows([_item(*i) for i in items])
        positions[stage.id] = positions.get(stage.id, 0) + service.POSITION_GAP
        deal = Deal(tenant_id=tenant_id, title=title, pipeline_id=main.id, stage_id=stage.id,
                    contact_id=keys.get(person) if person else None, organization_id=keys.get(org) if org else None,
                    owner_id=owner.id if owner else None,
                    value=items_total if rows else decimal.Decimal(value), currency=currency,
                    expected_close_date=(now + dt.timedelta(days=close_in)).date(), status=status,
                    won_at=now - dt.timedelta(days=1) if status == "won" else None,
                    lost_at=now - dt.timedelta(days=2) if status == "lost" else None,
                    lost_reason="Preis zu hoch" if status == "lost" else None, source=source,
                    position=positions[stage.id], stage_entered_at=entered, custom_fields={},
                    # created before its first stage stay, so durations and the funnel read like real history
                    created_at=entered - dt.timedelta(days=7 * stage_index + 3))
        session.add(deal)
        await session.flush()
        if stage_index > 0:
            session.add(DealStageHistory(tenant_id=tenant_id, deal_id=deal.id, pipeline_id=main.id,
                                         stage_id=stages[stage_index - 1].id,
                                         entered_at=entered - dt.timedelta(days=7), left_at=entered))
        session.add(DealStageHistory(tenant_id=tenant_id, deal_id=deal.id, pipeline_id=main.id, stage_id=stage.id,
                                     entered_at=entered, left_at=None if status == "open" else now))
        for row in rows:
            session.add(DealItem(tenant_id=tenant_id, deal_id=deal.id, **row))
        if vip is not None and org in ("brenner", "datawerk"):
            session.add(DealTag(tenant_id=tenant_id, deal_id=deal.id, tag_id=vip))
    await session.flush()
    await demo_leads(session, tenant_id, users)


# first name, last name, company, e-mail, region, Branche (form field), message
DEMO_LEADS = (
    ("Jonas", "Hartmann", "Hartmann Metallbau", "j.hartmann@hartmann-metall.de", "Süd", "Maschinenbau",
     "Wir suchen eine Lösung für die Wartungsplanung unserer Anlagen."),
    ("Lea", "Neumann", "Neumann & Söhne Spedition", "lea.neumann@neumann-spedition.de", "Nord", "Logistik",
     "Bitte um Rückruf wegen Tourenplanung."),
    ("Tim", "Brandt", None, "tim.brandt@example.org", "West", None, "Interesse am Newsletter."),
    ("Sophie", "Krüger", "Café Krüger", "info@cafe-krueger.de", "Nord", "Gastronomie", "Kassensystem gesucht."),
    ("Felix", "Zimmermann", "Zimmermann IT GmbH", "fz@zimmermann-it.de", "Süd", "IT",
     "Angebot für 50 Arbeitsplätze erbeten."),
)


async def demo_leads(session: Any, tenant_id: uuid.UUID, users: dict[str, Any]) -> None:
    """A web form, two scoring rules, routing (region Nord → Julia Weber, else round robin) and five leads."""
    from xynap.modules.crm import leads

    form = LeadForm(tenant_id=tenant_id, name="Kontaktformular Website", form_key=secrets.token_urlsafe(18),
                    extra_fields=["branche"], tag_ids=[], success_message="Vielen Dank! Wir melden uns in Kürze.")
    rules = [LeadScoreRule(tenant_id=tenant_id, name="Branche Maschinenbau", field="data.branche", operator="equals",
                           value="Maschinenbau", points=20),
             LeadScoreRule(tenant_id=tenant_id, name="Firmenkunde", field="company_name", operator="exists", value="",
                           points=30),
             LeadScoreRule(tenant_id=tenant_id, name="Angebot angefragt", field="message", operator="contains",
                           value="Angebot", points=25)]
    session.add_all([form, *rules])
    pool = [str(users[k].id) for k in ("staff1", "staff2") if k in users]
    nord = users.get("staff1")
    fallback = users.get("manager")
    session.add(LeadSettings(tenant_id=tenant_id, score_threshold=50, round_robin_user_ids=pool,
                             routing_rules=[{"kind": "field", "field": "region", "value": "Nord", "tag_id": None,
                                             "user_id": str(nord.id)}] if nord else [],
                             fallback_owner_id=fallback.id if fallback else None))
    await session.flush()
    from xynap.shared.tags.models import Tag

    tag_id = await session.scalar(select(Tag.id).order_by(Tag.name).limit(1))
    for index, (first, last, company, email, region, branche, message) in enumerate(DEMO_LEADS):
        lead = Lead(tenant_id=tenant_id, first_name=first, last_name=last, company_name=company, email=email,
                    region=region, message=message, data={"branche": branche} if branche else {},
                    source="web_form", status="new", form_id=form.id, score=0, matched_rules=[])
        session.add(lead)
        await session.flush()
        tags = {tag_id} if tag_id is not None and index == 0 else set()
        for tag in tags:
            session.add(LeadTag(tenant_id=tenant_id, lead_id=lead.id, tag_id=tag))
        owner = await leads.route(session, lead, tags)
        lead.owner_id, lead.routed_at = owner, utcnow() if owner else None
        await leads.rescore(session, lead, tags, threshold=50, rules=rules)
        await session.flush()


def _ascending_ids(count: int) -> list[uuid.UUID]:
    return sorted(uuid7() for _ in range(count))


def service_display_name(spec: dict[str, Any]) -> str:
    from xynap.shared.contacts.service import display_name_of

    return display_name_of(spec["type"], spec.get("first_name"), spec.get("last_name"), spec.get("company_name"))


def _item(product: str, quantity: str, unit_price: str, discount: str) -> Any:
    from xynap.modules.crm.schemas import DealItemIn

    return DealItemIn(product_name=product, quantity=decimal.Decimal(quantity), unit_price=decimal.Decimal(unit_price),
                  discount_percent=decimal.Decimal(discount))


module = Module(
    slug="crm", name="CRM", version="1.0.0", icon="handshake", color="#6366f1", kind="module", sort_order=100,
    description="Sales pipelines, deals with line items, Kanban board, rotting deals and weighted forecast",
    depends=["contacts", "tags", "tasks", "activities"],
    permissions=PERMISSIONS,
    routers=[router, leads_router, reports_router],
    event_handlers=EVENT_HANDLERS,
    jobs=[JobDecl(ROTTING_JOB, rotting_scan, max_attempts=3), JobDecl(RESCORE_JOB, rescore_leads, max_attempts=5)],
    schedules=[ScheduleDecl("crm.rotting_hourly", "7 * * * *", ROTTING_JOB)],
    plans=[
        PlanDecl("starter", "19.00", "190.00", limits={"pipelines": 1, "deals": 1_000}, features=("deals",)),
        PlanDecl("business", "39.00", "390.00", limits={"pipelines": 10, "deals": 100_000},
                 features=("deals", "forecast", "leads")),
        PlanDecl("enterprise", "79.00", "790.00", limits={"pipelines": None, "deals": None},
                 features=("deals", "forecast", "leads", "api")),
    ],
    search_sources=SEARCH_SOURCES,
    ui=UIEntry(path="/crm", label={"de": "CRM", "en": "CRM"}, entry="modules/crm/index.ts"),
    migrations=Path(__file__).parent / "migrations" / "versions",
)
# Optional manifest extra read by xynap.platform.demo (Module has no field for it).
module.demo = demo  # type: ignore[attr-defined]

__all__ = ["Deal", "DealItem", "DealStageHistory", "DealTag", "Pipeline", "Stage", "module", "service"]
