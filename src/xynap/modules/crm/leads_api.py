"""Routes of leads, lead forms, scoring rules and lead settings, mounted at ``/api/crm``.

Public (no login, the company comes from the host or ``X-Tenant`` as everywhere):
``POST /public/forms/{form_key}`` takes a submission (JSON, or a plain HTML form post) and
``GET /public/forms/{form_key}/embed`` serves an HTML snippet to paste into a web page. The
submission has a honeypot field (``website``: people leave it empty, bots fill it — such posts are
answered like a success and dropped) and a per-IP limit (``FORM_LIMIT`` posts per ``FORM_WINDOW``
seconds per company, 429 ``rate_limited`` beyond).
"""

from __future__ import annotations

import html
import secrets
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.db import utcnow
from xynap.core.errors import Conflict, NotFound, TooManyRequests, ValidationFailed, check_version
from xynap.core.ids import uuid7
from xynap.core.pagination import Page, paginate
from xynap.core.security.permissions import Access
from xynap.modules.crm import jobs as crm_jobs
from xynap.modules.crm import leads, service
from xynap.modules.crm.models import (
    Deal,
    Lead,
    LeadForm,
    LeadScoreEvent,
    LeadScoreRule,
    LeadSettings,
    LeadTag,
    Pipeline,
)
from xynap.modules.crm.schemas import (
    DuplicateRef,
    FormCreate,
    FormRead,
    FormUpdate,
    LeadConversion,
    LeadConvert,
    LeadCreate,
    LeadDetail,
    LeadFields,
    LeadRead,
    LeadSettingsRead,
    LeadSettingsWrite,
    LeadUpdate,
    RoutingRule,
    ScoreRuleCreate,
    ScoreRuleRead,
    ScoreRuleUpdate,
)
from xynap.platform.auth.deps import DbDep, require

router = APIRouter(tags=["crm-leads"])

LeadReadAccess = Annotated[Access, require("crm.lead:read")]
ConfigRead = Annotated[Access, require("crm.lead_config:read")]
ConfigWrite = Annotated[Access, require("crm.lead_config:update")]
LEAD_SORTS = {"created_at": Lead.created_at, "score": Lead.score, "updated_at": Lead.updated_at}
STANDARD_FIELDS = ("first_name", "last_name", "company_name", "email", "phone", "region", "message")
HONEYPOT = "website"
FORM_LIMIT, FORM_WINDOW = 10, 60
SCORE_FIELDS = (*leads.TEXT_FIELDS, "tag")


# --- helpers -----------------------------------------------------------------------------------------


async def _visible_lead(db: AsyncSession, lead_id: uuid.UUID, read: Access) -> Lead:
    lead = await db.scalar(read.apply(select(Lead).where(Lead.id == lead_id), Lead.owner_id))
    if lead is None:
        raise NotFound("No such lead.", code="lead_not_found")
    return lead


async def _detail(db: AsyncSession, lead: Lead) -> LeadDetail:
    (read,) = await leads.lead_reads(db, [lead])
    return LeadDetail(**read.model_dump(), score_history=await leads.score_history(db, lead.id))


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


async def _capture(db: AsyncSession, fields: LeadFields, *, source: str, owner_id: uuid.UUID | None,
                   tag_ids: list[uuid.UUID], form: LeadForm | None, default_owner: uuid.UUID | None) -> Lead:
    """Store a new lead: tags, routing (when no owner is given), score; publishes ``lead.created``."""
    if not any(_clean(getattr(fields, f)) for f in ("first_name", "last_name", "company_name", "email", "phone")):
        raise service.invalid([service.field_error("email", "give at least a name, a company, an e-mail or a phone")],
                              code="lead_empty")
    lead = Lead(id=uuid7(), first_name=_clean(fields.first_name), last_name=_clean(fields.last_name),
                company_name=_clean(fields.company_name), email=(_clean(fields.email) or "").casefold() or None,
                phone=_clean(fields.phone), region=_clean(fields.region), message=fields.message.strip(),
                data=dict(fields.data), source=source, status="new", owner_id=owner_id,
                form_id=form.id if form else None, score=0, matched_rules=[])
    db.add(lead)
    tags = set(tag_ids)
    await leads.set_tags(db, lead, tag_ids, set())
    with db.sync_session.no_autoflush:  # routing and scoring complete the row before its one INSERT
        if owner_id is None:
            routed = await leads.route(db, lead, tags)
            lead.owner_id = routed or default_owner
            lead.routed_at = utcnow() if routed else None
        await leads.rescore(db, lead, tags)
    await db.flush()
    leads.publish_lead(db, "lead.created", lead)
    return lead


# --- leads -------------------------------------------------------------------------------------------


@router.get("/leads", response_model=Page[LeadRead], summary="Leads in the caller's scope")
async def list_leads(
    db: DbDep, access: LeadReadAccess,
    status: Literal["new", "qualified", "disqualified", "converted"] | None = None,
    owner_id: uuid.UUID | None = None, form_id: uuid.UUID | None = None, tag_id: uuid.UUID | None = None,
    min_score: int | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of name, company or e-mail")] = None,
    sort: Annotated[str, Query(description="created_at, updated_at or score; - for descending")] = "-created_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> Page[LeadRead]:
    stmt = access.apply(select(Lead), Lead.owner_id)
    if status is not None:
        stmt = stmt.where(Lead.status == status)
    if owner_id is not None:
        stmt = stmt.where(Lead.owner_id == owner_id)
    if form_id is not None:
        stmt = stmt.where(Lead.form_id == form_id)
    if tag_id is not None:
        stmt = stmt.where(Lead.id.in_(select(LeadTag.lead_id).where(LeadTag.tag_id == tag_id)))
    if min_score is not None:
        stmt = stmt.where(Lead.score >= min_score)
    if q:
        stmt = stmt.where(Lead.last_name.icontains(q, autoescape=True) | Lead.first_name.icontains(q, autoescape=True)
                          | Lead.company_name.icontains(q, autoescape=True) | Lead.email.icontains(q, autoescape=True))
    rows, next_cursor = await paginate(db, stmt, model=Lead, sort=sort, sortable=LEAD_SORTS, limit=limit,
                                       cursor=cursor)
    return Page(items=await leads.lead_reads(db, rows), next_cursor=next_cursor)


@router.post("/leads", response_model=LeadDetail, status_code=201, summary="Capture a lead (API)")
async def create_lead(body: LeadCreate, db: DbDep, access: Annotated[Access, require("crm.lead:create")]) -> LeadDetail:
    if body.owner_id is not None:
        access.ensure_owner(body.owner_id)
        await service.check_owner(db, body.owner_id)
    tag_ids = await service.check_tags(db, body.tag_ids)
    lead = await _capture(db, body, source=body.source, owner_id=body.owner_id, tag_ids=tag_ids, form=None,
                          default_owner=access.principal.user_id)
    return await _detail(db, lead)


@router.get("/leads/{lead_id}", response_model=LeadDetail, summary="One lead with its score history")
async def get_lead(lead_id: uuid.UUID, db: DbDep, access: LeadReadAccess) -> LeadDetail:
    return await _detail(db, await _visible_lead(db, lead_id, access))


@router.patch("/leads/{lead_id}", response_model=LeadDetail, summary="Change a lead (rescored at once)")
async def update_lead(lead_id: uuid.UUID, body: LeadUpdate, db: DbDep, read: LeadReadAccess,
                      access: Annotated[Access, require("crm.lead:update")]) -> LeadDetail:
    lead = await _visible_lead(db, lead_id, read)
    access.ensure_owner(lead.owner_id)
    check_version(lead, body.version)
    if lead.status == "converted":
        raise Conflict("A converted lead is kept as it was; edit the contact or the deal.", code="lead_converted")
    given = body.model_fields_set - {"version"}
    if "owner_id" in given and body.owner_id != lead.owner_id:
        access.ensure_owner(body.owner_id)
        await service.check_owner(db, body.owner_id)
    tag_ids = await service.check_tags(db, body.tag_ids) if body.tag_ids is not None else None
    current = await leads.tag_ids_of(db, lead.id)
    if tag_ids is not None:
        await leads.set_tags(db, lead, tag_ids, current)
        current = set(tag_ids)
    await leads.settings_of(db)  # loaded before the first change (see below)
    with db.sync_session.no_autoflush:  # one write of the lead, one version step
        for name in STANDARD_FIELDS:
            if name in given:
                value = getattr(body, name)
                value = (value or "").strip() if name == "message" else _clean(value)
                if name == "email" and value:
                    value = value.casefold()
                if getattr(lead, name) != value:
                    setattr(lead, name, value)
        if "data" in given and body.data is not None:
            lead.data = dict(body.data)
        if body.status is not None and body.status != lead.status:
            lead.status = body.status
        if "owner_id" in given and body.owner_id != lead.owner_id:
            lead.owner_id = body.owner_id
        if tag_ids is not None:
            lead.updated_at = utcnow()
        await leads.rescore(db, lead, current)
    await db.flush()
    leads.publish_lead(db, "lead.updated", lead, changed=sorted(given))
    return await _detail(db, lead)


@router.delete("/leads/{lead_id}", status_code=204, summary="Delete a lead")
async def delete_lead(lead_id: uuid.UUID, db: DbDep, read: LeadReadAccess,
                      access: Annotated[Access, require("crm.lead:delete")]) -> Response:
    lead = await _visible_lead(db, lead_id, read)
    access.ensure_owner(lead.owner_id)
    for model in (LeadTag, LeadScoreEvent):
        await db.execute(delete(model).where(model.lead_id == lead.id))
    leads.publish_lead(db, "lead.deleted", lead)
    await db.delete(lead)
    await db.flush()
    return Response(status_code=204)


@router.get("/leads/{lead_id}/duplicates", response_model=list[DuplicateRef],
            summary="Contacts that look like the lead's person or company")
async def lead_duplicates(lead_id: uuid.UUID, db: DbDep, access: LeadReadAccess) -> list[DuplicateRef]:
    return await leads.find_duplicates(db, await _visible_lead(db, lead_id, access))


@router.post("/leads/{lead_id}/convert", response_model=LeadConversion,
             summary="Convert a lead into person + organisation + deal (after a duplicate check)")
async def convert_lead(lead_id: uuid.UUID, body: LeadConvert, db: DbDep, read: LeadReadAccess,
                       access: Annotated[Access, require("crm.lead:update")],
                       contacts: Annotated[Access, require("contacts.contact:create")]) -> LeadConversion:
    lead = await _visible_lead(db, lead_id, read)
    access.ensure_owner(lead.owner_id)
    check_version(lead, body.version)
    if lead.status == "converted":
        raise Conflict("The lead was converted already.", code="lead_converted")
    owner_id = lead.owner_id or access.principal.user_id
    # every check first: nothing is written when one fails
    person_id = await leads.existing_contact(db, body.contact_id, "person", "contact_id") if body.contact_id else None
    org_id = (await leads.existing_contact(db, body.organization_id, "organization", "organization_id")
              if body.organization_id else None)
    wants_person = person_id is None and bool(lead.first_name or lead.last_name or lead.email)
    wants_org = org_id is None and bool(lead.company_name)
    if (wants_person or wants_org) and not body.ignore_duplicates:
        found = [d for d in await leads.find_duplicates(db, lead)
                 if (d.role == "person" and wants_person) or (d.role == "organization" and wants_org)]
        if found:
            raise Conflict("Similar contacts exist: pick them (contact_id / organization_id) or convert with "
                           "ignore_duplicates.", code="lead_duplicates",
                           candidates=[d.model_dump(mode="json") for d in found])
    pipeline = stage = None
    if body.create_deal:
        service.check_currency(body.currency)
        if body.pipeline_id is not None:
            pipeline = await db.get(Pipeline, body.pipeline_id)
        else:
            pipeline = await db.scalar(select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.position)
                                       .limit(1))
        if pipeline is None:
            raise service.invalid([service.field_error("pipeline_id", "no such pipeline")], code="pipeline_not_found")
        stage = await service.stage_in_pipeline(db, pipeline, body.stage_id)
    contacts.ensure_owner(owner_id)
    if wants_person:
        person_id = (await leads.create_contact(db, kind="person", owner_id=owner_id, first_name=lead.first_name,
                                                last_name=lead.last_name or (None if lead.first_name else lead.email),
                                                email=lead.email, phone=lead.phone)).id
    if wants_org:
        org_id = (await leads.create_contact(db, kind="organization", owner_id=owner_id,
                                             company_name=lead.company_name)).id
    if (wants_person or wants_org) and person_id and org_id:  # a new one of the two: link them
        leads.relate(db, person_id, org_id)
    deal = None
    if pipeline is not None and stage is not None:
        now = utcnow()
        title = (body.deal_title or "").strip() or lead.company_name or leads.display_name(lead)
        deal = Deal(title=title[:300], pipeline_id=pipeline.id, stage_id=stage.id, contact_id=person_id,
                    organization_id=org_id, owner_id=owner_id, value=body.value, currency=body.currency,
                    status="open", source=f"lead:{lead.source}", custom_fields={},
                    position=await service.end_position(db, stage.id), stage_entered_at=now)
        db.add(deal)
        await db.flush()
        service.enter_stage(db, deal, now, access.principal.user_id)
        service.publish_deal(db, "deal.created", deal, stage_name=stage.name)
    leads.mark_converted(lead, person_id, org_id, deal.id if deal else None)
    await db.flush()
    leads.publish_lead(db, "lead.converted", lead, contact_id=person_id or org_id, deal_id=deal.id if deal else None)
    (read_lead,) = await leads.lead_reads(db, [lead])
    return LeadConversion(lead=read_lead, contact_id=person_id, organization_id=org_id,
                          deal=(await service.deal_reads(db, [deal], access.principal))[0] if deal else None)


# --- forms -------------------------------------------------------------------------------------------


def _form_read(form: LeadForm, submissions: int = 0) -> FormRead:
    return FormRead.model_validate(form).model_copy(update={
        "submit_url": f"/api/crm/public/forms/{form.form_key}",
        "embed_url": f"/api/crm/public/forms/{form.form_key}/embed",
        "submission_count": submissions})


async def _submissions(db: AsyncSession, form_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Leads captured per form (one GROUP BY over the forms asked for)."""
    if not form_ids:
        return {}
    rows = await db.execute(select(Lead.form_id, func.count()).where(Lead.form_id.in_(form_ids))
                            .group_by(Lead.form_id))
    return {form_id: int(count) for form_id, count in rows}


async def _form(db: AsyncSession, form_id: uuid.UUID) -> LeadForm:
    form = await db.get(LeadForm, form_id)
    if form is None:
        raise NotFound("No such form.", code="form_not_found")
    return form


def _extra_fields(names: list[str]) -> list[str]:
    out = []
    for i, name in enumerate(names):
        name = name.strip()
        if not name.isidentifier() or not name.islower() or name in STANDARD_FIELDS or name == HONEYPOT:
            raise service.invalid([service.field_error(f"extra_fields.{i}", "a lower-case key, not a standard field")])
        out.append(name)
    return list(dict.fromkeys(out))


@router.get("/lead-forms", response_model=list[FormRead], summary="Web forms for lead capture")
async def list_forms(db: DbDep, _: ConfigRead) -> list[FormRead]:
    forms = list(await db.scalars(select(LeadForm).order_by(LeadForm.created_at, LeadForm.id)))
    counts = await _submissions(db, [f.id for f in forms])
    return [_form_read(f, counts.get(f.id, 0)) for f in forms]


@router.post("/lead-forms", response_model=FormRead, status_code=201, summary="Create a web form")
async def create_form(body: FormCreate, db: DbDep, _: ConfigWrite) -> FormRead:
    tag_ids = await service.check_tags(db, body.tag_ids)
    form = LeadForm(name=body.name.strip() or body.name, form_key=secrets.token_urlsafe(18), is_active=body.is_active,
                    extra_fields=_extra_fields(body.extra_fields), tag_ids=[str(t) for t in tag_ids],
                    redirect_url=body.redirect_url, success_message=body.success_message)
    db.add(form)
    await db.flush()
    return _form_read(form)


@router.get("/lead-forms/{form_id}", response_model=FormRead, summary="One web form")
async def get_form(form_id: uuid.UUID, db: DbDep, _: ConfigRead) -> FormRead:
    form = await _form(db, form_id)
    return _form_read(form, (await _submissions(db, [form.id])).get(form.id, 0))


@router.patch("/lead-forms/{form_id}", response_model=FormRead, summary="Change a web form")
async def update_form(form_id: uuid.UUID, body: FormUpdate, db: DbDep, _: ConfigWrite) -> FormRead:
    form = await _form(db, form_id)
    check_version(form, body.version)
    tag_ids = await service.check_tags(db, body.tag_ids) if body.tag_ids is not None else None
    extra = _extra_fields(body.extra_fields) if body.extra_fields is not None else None
    for name in ("name", "is_active", "success_message"):
        if getattr(body, name) is not None:
            setattr(form, name, getattr(body, name))
    if "redirect_url" in body.model_fields_set:
        form.redirect_url = body.redirect_url
    if tag_ids is not None:
        form.tag_ids = [str(t) for t in tag_ids]
    if extra is not None:
        form.extra_fields = extra
    await db.flush()
    return _form_read(form, (await _submissions(db, [form.id])).get(form.id, 0))


@router.delete("/lead-forms/{form_id}", status_code=204, summary="Delete a web form (its leads stay)")
async def delete_form(form_id: uuid.UUID, db: DbDep, _: ConfigWrite) -> Response:
    form = await _form(db, form_id)
    await db.delete(form)
    await db.flush()
    return Response(status_code=204)


async def _public_form(db: AsyncSession, form_key: str) -> LeadForm:
    form = await db.scalar(select(LeadForm).where(LeadForm.form_key == form_key[:40]))
    if form is None or not form.is_active:
        raise NotFound("No such form.", code="form_not_found")
    return form


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/public/forms/{form_key}", status_code=202, summary="Submit a web form (public; JSON or form post)",
             responses={202: {"description": "Accepted"}, 303: {"description": "Redirect after an HTML form post"}})
async def submit_form(form_key: str, request: Request, db: DbDep) -> Response:
    form = await _public_form(db, form_key)
    runtime = request.app.state.runtime
    key = f"crm-form:{form.tenant_id}:{_client_ip(request)}"
    if await runtime.login_counter.hit(key, FORM_WINDOW) > FORM_LIMIT:
        raise TooManyRequests("Too many submissions; please try again in a minute.",
                              headers={"Retry-After": str(FORM_WINDOW)})
    is_json = request.headers.get("content-type", "").startswith("application/json")
    if is_json:
        try:
            raw = await request.json()
        except ValueError:
            raise ValidationFailed("The body is not valid JSON.", code="invalid_json", status=400) from None
        if not isinstance(raw, dict):
            raise service.invalid([service.field_error("body", "expected an object")])
    else:
        raw = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if str(raw.get(HONEYPOT) or "").strip():
        return _submitted(form, is_json)  # a bot: answer like a success, keep nothing
    values = {name: raw.get(name) for name in STANDARD_FIELDS if raw.get(name) not in (None, "")}
    data = {name: raw.get(name) for name in form.extra_fields or [] if raw.get(name) not in (None, "")}
    try:
        fields = LeadFields.model_validate({**values, "data": data})
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "in": "body", "message": e["msg"]}
                  for e in exc.errors()]
        raise ValidationFailed("Invalid value for: " + ", ".join(e["field"] for e in errors), errors=errors) from None
    tag_ids = await service.check_tags(db, [uuid.UUID(str(t)) for t in form.tag_ids or []])
    await _capture(db, fields, source="web_form", owner_id=None, tag_ids=tag_ids, form=form, default_owner=None)
    return _submitted(form, is_json)


def _submitted(form: LeadForm, is_json: bool) -> Response:
    if is_json:
        return JSONResponse({"status": "accepted", "message": form.success_message}, status_code=202)
    if form.redirect_url:
        return RedirectResponse(form.redirect_url, status_code=303)
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><p>{html.escape(form.success_message)}</p>",
                        status_code=202)


LABELS = {"first_name": "Vorname", "last_name": "Nachname", "company_name": "Firma", "email": "E-Mail",
          "phone": "Telefon", "region": "Region", "message": "Nachricht"}


@router.get("/public/forms/{form_key}/embed", response_class=HTMLResponse,
            summary="An HTML snippet of the form to paste into a web page (public)")
async def embed_form(form_key: str, request: Request, db: DbDep) -> HTMLResponse:
    form = await _public_form(db, form_key)
    action = str(request.url_for("submit_form", form_key=form.form_key))
    rows = []
    for name in (*STANDARD_FIELDS, *(form.extra_fields or [])):
        label = html.escape(LABELS.get(name, name.replace("_", " ").capitalize()))
        kind = "email" if name == "email" else "tel" if name == "phone" else "text"
        control = (f'<textarea name="{name}" rows="4"></textarea>' if name == "message"
                   else f'<input type="{kind}" name="{name}"{" required" if name == "email" else ""}>')
        rows.append(f'<label class="xynap-field">{label}<br>{control}</label>')
    snippet = (
        f'<form class="xynap-lead-form" method="post" action="{html.escape(action)}" '
        'accept-charset="utf-8">\n  ' + "\n  ".join(rows) + "\n"
        # the honeypot: hidden from people (off-screen, not focusable), filled in by bots
        f'  <div aria-hidden="true" style="position:absolute;left:-10000px"><input type="text" name="{HONEYPOT}" '
        'tabindex="-1" autocomplete="off"></div>\n'
        '  <button type="submit">Absenden</button>\n</form>\n')
    return HTMLResponse(snippet)


# --- scoring rules -----------------------------------------------------------------------------------


async def _rule(db: AsyncSession, rule_id: uuid.UUID) -> LeadScoreRule:
    rule = await db.get(LeadScoreRule, rule_id)
    if rule is None:
        raise NotFound("No such scoring rule.", code="score_rule_not_found")
    return rule


def _check_rule(field: str, operator: str, value: str) -> None:
    if operator == "has_tag" or field == "tag":
        try:
            uuid.UUID(value)
        except ValueError:
            raise service.invalid([service.field_error("value", "a tag id")]) from None
        if field != "tag" or operator != "has_tag":
            raise service.invalid([service.field_error("operator", "tag rules use field tag and operator has_tag")])
    elif field not in SCORE_FIELDS and not (field.startswith("data.") and field[5:].isidentifier()):
        raise service.invalid([service.field_error("field", f"one of {', '.join(SCORE_FIELDS)} or data.<key>")])


@router.get("/score-rules", response_model=list[ScoreRuleRead], summary="Lead scoring rules")
async def list_rules(db: DbDep, _: ConfigRead) -> list[ScoreRuleRead]:
    rows = await db.scalars(select(LeadScoreRule).order_by(LeadScoreRule.created_at, LeadScoreRule.id))
    return [ScoreRuleRead.model_validate(r) for r in rows]


@router.post("/score-rules", response_model=crm_jobs.ScoreRuleChanged, status_code=201,
             summary="Add a scoring rule (open leads are rescored by a background job)")
async def create_rule(body: ScoreRuleCreate, db: DbDep, _: ConfigWrite) -> crm_jobs.ScoreRuleChanged:
    _check_rule(body.field, body.operator, body.value)
    rule = LeadScoreRule(name=body.name, field=body.field, operator=body.operator, value=body.value,
                         points=body.points, is_active=body.is_active)
    db.add(rule)
    await db.flush()
    job_id = await crm_jobs.enqueue_rescore(db, "rule created") if rule.is_active else None
    return crm_jobs.ScoreRuleChanged(**ScoreRuleRead.model_validate(rule).model_dump(), rescore_job_id=job_id)


@router.patch("/score-rules/{score_rule_id}", response_model=crm_jobs.ScoreRuleChanged,
              summary="Change a scoring rule (open leads are rescored by a background job)")
async def update_rule(score_rule_id: uuid.UUID, body: ScoreRuleUpdate, db: DbDep, _: ConfigWrite
                      ) -> crm_jobs.ScoreRuleChanged:
    rule = await _rule(db, score_rule_id)
    check_version(rule, body.version)
    if body.value is not None:
        _check_rule(rule.field, rule.operator, body.value)
    scoring = (rule.value, rule.points, rule.is_active)
    for name in ("name", "value", "points", "is_active"):
        if getattr(body, name) is not None:
            setattr(rule, name, getattr(body, name))
    await db.flush()
    changed = scoring != (rule.value, rule.points, rule.is_active)  # a new name changes no score
    job_id = await crm_jobs.enqueue_rescore(db, "rule changed") if changed else None
    return crm_jobs.ScoreRuleChanged(**ScoreRuleRead.model_validate(rule).model_dump(), rescore_job_id=job_id)


@router.delete("/score-rules/{score_rule_id}", status_code=204,
               summary="Delete a scoring rule (a background job takes its points back from open leads; "
                       "the job id is in the X-Rescore-Job header)")
async def delete_rule(score_rule_id: uuid.UUID, db: DbDep, _: ConfigWrite) -> Response:
    await db.delete(await _rule(db, score_rule_id))
    await db.flush()
    job_id = await crm_jobs.enqueue_rescore(db, "rule deleted")
    return Response(status_code=204, headers={"X-Rescore-Job": str(job_id)})


@router.get("/score-rules/rescoring", response_model=crm_jobs.RescoreStatus | None,
            summary="The latest rescoring of the open leads after a rule change (status and progress)")
async def rescoring_status(db: DbDep, _: ConfigRead) -> crm_jobs.RescoreStatus | None:
    return await crm_jobs.rescore_status(db)


@router.post("/leads/{lead_id}/rescore", response_model=LeadDetail, summary="Apply the current rules to a lead now")
async def rescore_lead(lead_id: uuid.UUID, db: DbDep, read: LeadReadAccess,
                       access: Annotated[Access, require("crm.lead:update")]) -> LeadDetail:
    lead = await _visible_lead(db, lead_id, read)
    access.ensure_owner(lead.owner_id)
    await leads.rescore(db, lead, await leads.tag_ids_of(db, lead.id))
    await db.flush()
    return await _detail(db, lead)


# --- settings ----------------------------------------------------------------------------------------


def _settings_read(row: LeadSettings | None) -> LeadSettingsRead:
    if row is None:
        return LeadSettingsRead(score_threshold=leads.DEFAULT_THRESHOLD, routing_rules=[], round_robin_user_ids=[],
                                fallback_owner_id=None, version=0)
    return LeadSettingsRead(score_threshold=row.score_threshold,
                            routing_rules=[RoutingRule.model_validate(r) for r in row.routing_rules or []],
                            round_robin_user_ids=[uuid.UUID(str(u)) for u in row.round_robin_user_ids or []],
                            fallback_owner_id=row.fallback_owner_id, version=row.version)


@router.get("/lead-settings", response_model=LeadSettingsRead, summary="Score threshold and lead routing")
async def get_lead_settings(db: DbDep, _: ConfigRead) -> LeadSettingsRead:
    return _settings_read(await leads.settings_of(db))


@router.put("/lead-settings", response_model=LeadSettingsRead, summary="Set the score threshold and lead routing")
async def put_lead_settings(body: LeadSettingsWrite, db: DbDep, _: ConfigWrite) -> LeadSettingsRead:
    row = await leads.settings_of(db)
    if (row.version if row else 0) != body.version:
        raise Conflict("The settings were changed by someone else; reload them.", code="version_conflict",
                       current_version=row.version if row else 0)
    errors: list[dict[str, Any]] = []
    users = [*body.round_robin_user_ids, *(r.user_id for r in body.routing_rules)]
    if body.fallback_owner_id:
        users.append(body.fallback_owner_id)
    from xynap.platform.users.models import User

    known = set(await db.scalars(select(User.id).where(User.id.in_(users)))) if users else set()
    for i, rule in enumerate(body.routing_rules):
        if rule.user_id not in known:
            errors.append(service.field_error(f"routing_rules.{i}.user_id", "no such user"))
        if rule.kind == "tag" and rule.tag_id is None:
            errors.append(service.field_error(f"routing_rules.{i}.tag_id", "a tag rule needs tag_id"))
        if rule.kind == "field" and not (rule.field and rule.value):
            errors.append(service.field_error(f"routing_rules.{i}.field", "a field rule needs field and value"))
    for i, user_id in enumerate(body.round_robin_user_ids):
        if user_id not in known:
            errors.append(service.field_error(f"round_robin_user_ids.{i}", "no such user"))
    if body.fallback_owner_id and body.fallback_owner_id not in known:
        errors.append(service.field_error("fallback_owner_id", "no such user"))
    if errors:
        raise service.invalid(errors)
    tag_ids = [r.tag_id for r in body.routing_rules if r.tag_id]
    if tag_ids:
        await service.check_tags(db, tag_ids)
    if row is None:
        row = LeadSettings()
        db.add(row)
    row.score_threshold = body.score_threshold
    row.routing_rules = [r.model_dump(mode="json") for r in body.routing_rules]
    row.round_robin_user_ids = [str(u) for u in dict.fromkeys(body.round_robin_user_ids)]
    row.fallback_owner_id = body.fallback_owner_id
    await db.flush()
    return _settings_read(row)
