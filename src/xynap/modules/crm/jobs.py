"""Background jobs of the CRM module.

``crm.rotting_scan`` (hourly, see the manifest's schedule) finds open deals that have stayed in their
stage longer than the stage's ``rotting_days`` and publishes ``deal.rotting`` once per deal and stay:
``rotting_notified_at`` is set in the same transaction as the event (committed per batch), and a move
to another stage (or a reopen) clears it. The cron run has a platform session and covers every company; each event
belongs to its deal's tenant. Idempotent: a retried run finds the already-notified deals marked.

``crm.rescore_leads`` (enqueued when a scoring rule is created, changed or deleted, see
``enqueue_rescore``) applies the current rules to every open lead (status new or qualified) of the
job's company in batches of ``RESCORE_BATCH``: each batch is rescored with ``leads.rescore`` (history
entries with their reasons, ``lead.score_threshold`` on an upward crossing) and committed, then the
progress is reported (``done``/``total`` on the job, readable through
``GET /api/crm/score-rules/rescoring``). Idempotent and resumable: ``rescore`` only records the
difference between what a rule granted and what it should grant, so a retried run leaves the leads
it already did unchanged and a lead rescored twice gets no second history entry.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.db import utcnow
from xynap.core.jobs import enqueue
from xynap.core.kernel_models import Job
from xynap.modules.crm import leads, service
from xynap.modules.crm.models import Deal, Lead, LeadScoreRule, LeadTag, Stage
from xynap.modules.crm.schemas import ScoreRuleRead

ROTTING_JOB = "crm.rotting_scan"
RESCORE_JOB = "crm.rescore_leads"
BATCH = 500
RESCORE_BATCH = 200
OPEN_LEAD_STATUSES = ("new", "qualified")


async def rotting_scan(ctx: Any) -> dict[str, Any]:
    session = ctx.session
    now = utcnow()
    notified = 0
    stages = list(await session.scalars(select(Stage).where(Stage.rotting_days.is_not(None))))
    for stage in stages:
        limit = now - dt.timedelta(days=stage.rotting_days)
        while True:
            deals = list(await session.scalars(
                select(Deal).where(Deal.stage_id == stage.id, Deal.status == "open", Deal.stage_entered_at <= limit,
                                   Deal.rotting_notified_at.is_(None)).order_by(Deal.id).limit(BATCH)))
            if not deals:
                break
            # a bulk UPDATE: the mark is bookkeeping, not an edit, so the deals' versions stay
            await session.execute(update(Deal).where(Deal.id.in_([d.id for d in deals]))
                                  .values(rotting_notified_at=now), execution_options={"synchronize_session": False})
            for deal in deals:
                days = (now - deal.stage_entered_at).days
                service.publish_deal(session, "deal.rotting", deal, tenant_id=deal.tenant_id, stage_name=stage.name,
                                     days=days)
            notified += len(deals)
            # each batch durable on its own: one transaction over every company's backlog grew to hundreds of
            # thousands of outbox rows, and a rollback left them all dead for VACUUM (retries skip marked deals)
            await session.commit()
    return {"notified": notified}


# --- rescoring leads after a rule change -------------------------------------------------------------


class ScoreRuleChanged(ScoreRuleRead):
    """A scoring rule after create/update, with the rescoring job it queued (None: no score changes)."""

    rescore_job_id: uuid.UUID | None = None


class RescoreStatus(BaseModel):
    """The company's latest rescoring job, for the scoring settings' progress display."""

    job_id: uuid.UUID
    status: str  # queued | running | succeeded | dead
    done: int | None = None
    total: int | None = None
    percent: float | None = None
    result: dict[str, Any] | None = None
    created_at: dt.datetime
    finished_at: dt.datetime | None = None


async def enqueue_rescore(session: AsyncSession, reason: str) -> uuid.UUID:
    """Queue a rescoring of the company's open leads in the caller's transaction; returns the job id.

    A rescoring that is still queued is reused: it reads the rules only when it starts, so it will
    see this change too. A running one may have read the old rules already, so a new one is queued."""
    waiting = await session.scalar(select(Job).where(Job.name == RESCORE_JOB, Job.status == "queued")
                                   .order_by(Job.created_at.desc()).limit(1))
    if waiting is not None:
        return waiting.id
    job = await enqueue(session, RESCORE_JOB, {"reason": reason})
    return job.id


async def rescore_status(session: AsyncSession) -> RescoreStatus | None:
    job = await session.scalar(select(Job).where(Job.name == RESCORE_JOB)
                               .order_by(Job.created_at.desc(), Job.id.desc()).limit(1))
    if job is None:
        return None
    progress = job.progress or {}
    return RescoreStatus(job_id=job.id, status=job.status, done=progress.get("done"), total=progress.get("total"),
                         percent=progress.get("percent"), result=job.result, created_at=job.created_at,
                         finished_at=job.finished_at)


async def rescore_leads(ctx: Any) -> dict[str, Any]:
    session = ctx.session
    rules = list(await session.scalars(select(LeadScoreRule).where(LeadScoreRule.is_active.is_(True))
                                       .order_by(LeadScoreRule.created_at, LeadScoreRule.id)))
    settings = await leads.settings_of(session)
    threshold = settings.score_threshold if settings else leads.DEFAULT_THRESHOLD
    is_open = Lead.status.in_(OPEN_LEAD_STATUSES)
    total = int(await session.scalar(select(func.count()).select_from(Lead).where(is_open)) or 0)
    done = changed = 0
    after: uuid.UUID | None = None
    await ctx.report_progress(0, total, "rescoring")
    while True:
        stmt = select(Lead).where(is_open).order_by(Lead.id).limit(RESCORE_BATCH)
        if after is not None:
            stmt = stmt.where(Lead.id > after)
        batch = list(await session.scalars(stmt))
        if not batch:
            break
        tags: dict[uuid.UUID, set[uuid.UUID]] = {lead.id: set() for lead in batch}
        for lead_id, tag_id in await session.execute(
                select(LeadTag.lead_id, LeadTag.tag_id).where(LeadTag.lead_id.in_(list(tags)))):
            tags[lead_id].add(tag_id)
        for lead in batch:
            before = (lead.score, list(lead.matched_rules or []))
            await leads.rescore(session, lead, tags[lead.id], threshold=threshold, rules=rules)
            changed += (lead.score, list(lead.matched_rules or [])) != before
        await session.flush()
        after = batch[-1].id
        done += len(batch)
        await session.commit()  # each batch is durable (and its progress visible, on SQLite too)
        await ctx.report_progress(done, total, "rescoring")
    return {"leads": done, "changed": changed, "rules": len(rules)}
