"""Business rules of leads (spec §2.1.3): scoring, routing, duplicates and conversion.

* **Scoring**: a lead's score is the sum of the points of the active rules it matches. Every change
  is written to the score history with its reason (the rule that started or stopped matching), and
  crossing the company's threshold upwards publishes ``lead.score_threshold`` once per crossing.
* **Routing** (only when no owner is given): the first routing rule that matches (a field value or
  a tag), else round robin over the pool — the member whose last routed lead is the oldest gets it,
  which needs no shared counter and survives concurrent submissions — else the fallback owner.
* **Conversion**: lead → person (+ organisation, related "employee_of") + deal in one transaction,
  after a duplicate check through the contacts component's blocking keys (409 ``lead_duplicates``
  with the candidates, unless the caller picks existing contacts or says ``ignore_duplicates``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.db import utcnow
from xynap.core.errors import Conflict
from xynap.core.events import publish
from xynap.modules.crm.models import Lead, LeadScoreEvent, LeadScoreRule, LeadSettings, LeadTag
from xynap.modules.crm.schemas import DuplicateRef, LeadRead, RoutingRule, ScoreEntry, TagRef
from xynap.shared.contacts import duplicates
from xynap.shared.contacts import service as contacts_service
from xynap.shared.contacts.models import Contact, ContactRelation
from xynap.shared.tags.service import replace_tag_links, tags_by_record

LEAD_READ = "crm.lead:read"
TEXT_FIELDS = ("first_name", "last_name", "company_name", "email", "phone", "region", "message", "source")
DEFAULT_THRESHOLD = 50


def display_name(lead: Lead) -> str:
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    return name or lead.company_name or lead.email or "Lead"


# --- settings ----------------------------------------------------------------------------------------


async def settings_of(db: AsyncSession) -> LeadSettings | None:
    return await db.scalar(select(LeadSettings).limit(1))


# --- tags --------------------------------------------------------------------------------------------


async def tag_ids_of(db: AsyncSession, lead_id: uuid.UUID) -> set[uuid.UUID]:
    return set(await db.scalars(select(LeadTag.tag_id).where(LeadTag.lead_id == lead_id)))


async def set_tags(db: AsyncSession, lead: Lead, tag_ids: Sequence[uuid.UUID], current: set[uuid.UUID]) -> None:
    await replace_tag_links(db, LeadTag, LeadTag.lead_id, lead.id, tag_ids, current=current)


async def tags_by_lead(db: AsyncSession, lead_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[TagRef]]:
    tags = await tags_by_record(db, LeadTag.lead_id, lead_ids)
    return {lead_id: [TagRef.model_validate(tag) for tag in found] for lead_id, found in tags.items()}


async def lead_reads(db: AsyncSession, leads: Sequence[Lead]) -> list[LeadRead]:
    tags = await tags_by_lead(db, [lead.id for lead in leads])
    return [LeadRead.model_validate(lead).model_copy(update={"tags": tags[lead.id]}) for lead in leads]


async def score_history(db: AsyncSession, lead_id: uuid.UUID) -> list[ScoreEntry]:
    rows = await db.scalars(select(LeadScoreEvent).where(LeadScoreEvent.lead_id == lead_id)
                            .order_by(LeadScoreEvent.created_at, LeadScoreEvent.id))
    return [ScoreEntry.model_validate(r) for r in rows]


# --- conditions (scoring rules and routing rules share them) -----------------------------------------


def field_value(lead: Lead, field: str) -> Any:
    if field.startswith("data."):
        return (lead.data or {}).get(field[5:])
    if field in TEXT_FIELDS:
        return getattr(lead, field)
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value).strip().casefold()


def matches(lead: Lead, tags: set[uuid.UUID], field: str, operator: str, value: str) -> bool:
    if operator == "has_tag" or field == "tag":
        try:
            return uuid.UUID(value) in tags
        except ValueError:
            return False
    actual = _text(field_value(lead, field))
    if operator == "exists":
        return actual != ""
    if operator == "equals":
        return actual == _text(value)
    if operator == "contains":
        return bool(value) and _text(value) in actual
    return False


# --- scoring -----------------------------------------------------------------------------------------


async def rescore(db: AsyncSession, lead: Lead, tags: set[uuid.UUID], *, threshold: int | None = None,
                  rules: Sequence[LeadScoreRule] | None = None) -> None:
    """Re-evaluate the rules; record every change with its reason; publish a threshold crossing.

    What a rule has granted a lead is the sum of its entries in the score history, so a rule that
    stops matching, changes its points, is switched off or deleted takes back exactly what it gave.
    Call it after the lead's own changes are set (it sets ``score``/``matched_rules`` too, so the
    lead is written once)."""
    if rules is None:
        rules = list(await db.scalars(select(LeadScoreRule).where(LeadScoreRule.is_active.is_(True))
                                      .order_by(LeadScoreRule.created_at, LeadScoreRule.id)))
    if threshold is None:
        settings = await settings_of(db)
        threshold = settings.score_threshold if settings else DEFAULT_THRESHOLD
    granted: dict[uuid.UUID, int] = {}
    if lead.id is not None and lead.matched_rules is not None:
        rows = await db.execute(select(LeadScoreEvent.rule_id, func.sum(LeadScoreEvent.delta))
                                .where(LeadScoreEvent.lead_id == lead.id, LeadScoreEvent.rule_id.is_not(None))
                                .group_by(LeadScoreEvent.rule_id))
        granted = {rule_id: int(total or 0) for rule_id, total in rows}
    active = {rule.id: rule for rule in rules}
    matching = {rule.id for rule in rules if matches(lead, tags, rule.field, rule.operator, rule.value)}
    names = {rule.id: rule.name for rule in rules}
    missing = [i for i in granted if i not in names and granted[i]]
    if missing:
        names.update(dict((await db.execute(select(LeadScoreRule.id, LeadScoreRule.name)
                                            .where(LeadScoreRule.id.in_(missing)))).all()))
        for rule_id in (i for i in missing if i not in names):  # deleted: its name lives on in the history
            reason = await db.scalar(select(LeadScoreEvent.reason).where(
                LeadScoreEvent.lead_id == lead.id, LeadScoreEvent.rule_id == rule_id).limit(1))
            if reason and "„" in reason and "“" in reason:
                names[rule_id] = reason.split("„", 1)[1].split("“", 1)[0]
    old_score = lead.score or 0
    score = old_score
    for rule_id in sorted(set(active) | set(granted), key=str):
        target = active[rule_id].points if rule_id in matching else 0
        delta = target - granted.get(rule_id, 0)
        if delta == 0:
            continue
        name = names.get(rule_id, "gelöschte Regel")
        if rule_id not in active:
            reason = f"Regel „{name}“ entfällt"
        elif rule_id not in matching:
            reason = f"Regel „{name}“ trifft nicht mehr zu"
        elif granted.get(rule_id):
            reason = f"Regel „{name}“: Punkte geändert"
        else:
            reason = f"Regel „{name}“ trifft zu"
        score += delta
        db.add(LeadScoreEvent(lead_id=lead.id, rule_id=rule_id, delta=delta, score=score, reason=reason[:300]))
    matched = sorted(str(i) for i in matching)
    if matched != sorted(str(i) for i in lead.matched_rules or []):
        lead.matched_rules = matched
    if score != old_score:
        lead.score = score
    if old_score < threshold <= score:
        publish(db, "lead.score_threshold", {**lead_payload(lead), "score": score, "threshold": threshold},
                permission=LEAD_READ, owner_id=lead.owner_id)


# --- routing -----------------------------------------------------------------------------------------


async def route(db: AsyncSession, lead: Lead, tags: set[uuid.UUID]) -> uuid.UUID | None:
    """The owner routing picks for ``lead``, or None (then the caller decides)."""
    settings = await settings_of(db)
    if settings is None:
        return None
    for raw in settings.routing_rules or []:
        rule = RoutingRule.model_validate(raw)
        if rule.kind == "tag" and rule.tag_id is not None and rule.tag_id in tags:
            return rule.user_id
        if rule.kind == "field" and rule.field and matches(lead, tags, rule.field, "equals", rule.value or ""):
            return rule.user_id
    pool = [uuid.UUID(str(u)) for u in settings.round_robin_user_ids or []]
    if pool:
        last = dict((await db.execute(select(Lead.owner_id, func.max(Lead.routed_at))
                                      .where(Lead.owner_id.in_(pool), Lead.routed_at.is_not(None))
                                      .group_by(Lead.owner_id))).all())
        never = [u for u in pool if u not in last]
        if never:
            return never[0]
        return min(pool, key=lambda u: (last[u], pool.index(u)))
    return settings.fallback_owner_id


# --- events ------------------------------------------------------------------------------------------


def lead_payload(lead: Lead, **extra: Any) -> dict[str, Any]:
    return {"id": lead.id, "name": display_name(lead), "email": lead.email, "company_name": lead.company_name,
            "source": lead.source, "status": lead.status, "score": lead.score, "owner_id": lead.owner_id,
            "form_id": lead.form_id, **extra}


def publish_lead(db: AsyncSession, name: str, lead: Lead, **extra: Any) -> None:
    publish(db, name, lead_payload(lead, **extra), permission=LEAD_READ, owner_id=lead.owner_id)


# --- duplicates and conversion -----------------------------------------------------------------------


def _probe(kind: str, name: str, email: str | None, phone: str | None, region: str) -> Contact:
    """A contact that is never stored: the duplicate finder's keys of the lead's data."""
    emails = [{"type": "work", "value": email}] if email else []
    e164 = contacts_service.to_e164(phone, region) if phone else None
    phones = [{"type": "work", "value": e164}] if e164 else []
    return Contact(id=uuid.uuid4(), type=kind, display_name=name, emails=emails, phones=phones,
                   first_name=None, last_name=None, company_name=name if kind == "organization" else None,
                   custom_fields={}, addresses=[])


async def find_duplicates(db: AsyncSession, lead: Lead) -> list[DuplicateRef]:
    region = await contacts_service.default_region(db)
    out: list[DuplicateRef] = []
    probes = []
    person_name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    if person_name or lead.email:
        probes.append(("person", _probe("person", person_name, lead.email, lead.phone, region)))
    if lead.company_name:
        probes.append(("organization", _probe("organization", lead.company_name, None, None, region)))
    for role, probe in probes:
        ids = await duplicates.candidate_ids(db, probe)
        if not ids:
            continue
        others = list(await db.scalars(select(Contact).where(Contact.id.in_(ids), Contact.type == role)))
        for match in duplicates.rank(probe, others):
            out.append(DuplicateRef(id=match.contact.id, type=match.contact.type,
                                    display_name=match.contact.display_name, score=round(match.score, 3), role=role))
    return out


async def create_contact(db: AsyncSession, *, kind: str, owner_id: uuid.UUID | None, first_name: str | None = None,
                         last_name: str | None = None, company_name: str | None = None, email: str | None = None,
                         phone: str | None = None) -> Contact:
    """A new contact with its duplicate keys and ``contact.created`` (as the contacts API makes one)."""
    region = await contacts_service.default_region(db)
    emails = [{"type": "work", "value": email}] if email and kind == "person" else []
    e164 = contacts_service.to_e164(phone, region) if phone and kind == "person" else None
    phones = [{"type": "work", "value": e164}] if e164 else []
    contact = Contact(
        type=kind, display_name=contacts_service.display_name_of(kind, first_name, last_name, company_name),
        first_name=first_name if kind == "person" else None, last_name=last_name if kind == "person" else None,
        company_name=company_name if kind == "organization" else None, emails=emails, phones=phones, addresses=[],
        custom_fields={}, notes="", source="web", owner_id=owner_id,
        email_keys=contacts_service.email_keys(emails), phone_keys=contacts_service.phone_keys(phones))
    db.add(contact)
    await db.flush()
    await contacts_service.store_match_keys(db, [contact])
    publish(db, "contact.created", {"id": contact.id, "type": contact.type, "display_name": contact.display_name,
                                    "owner_id": contact.owner_id, "contact_id": contact.id},
            permission="contacts.contact:read", owner_id=contact.owner_id)
    return contact


def relate(db: AsyncSession, person_id: uuid.UUID, organization_id: uuid.UUID) -> None:
    db.add(ContactRelation(contact_a_id=person_id, contact_b_id=organization_id, relation_type="employee_of"))


async def existing_contact(db: AsyncSession, contact_id: uuid.UUID, kind: str, field: str) -> uuid.UUID:
    found = await db.scalar(select(Contact.type).where(Contact.id == contact_id))
    if found is None:
        raise Conflict("No such contact.", code="invalid_contact", status=422,
                       errors=[{"field": field, "in": "body", "message": "no such contact"}])
    if found != kind:
        raise Conflict(f"The contact is not of type {kind}.", code="invalid_contact", status=422,
                       errors=[{"field": field, "in": "body", "message": f"must be a contact of type {kind}"}])
    return contact_id


def mark_converted(lead: Lead, contact_id: uuid.UUID | None, organization_id: uuid.UUID | None,
                   deal_id: uuid.UUID | None, at: dt.datetime | None = None) -> None:
    lead.status = "converted"
    lead.converted_at = at or utcnow()
    lead.converted_contact_id = contact_id
    lead.converted_organization_id = organization_id
    lead.converted_deal_id = deal_id
