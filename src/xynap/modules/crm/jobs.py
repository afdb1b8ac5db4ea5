"""Background jobs of the CRM module.

``crm.rotting_scan`` (hourly, see the manifest's schedule) finds open deals that have stayed in their
stage longer than the stage's ``rotting_days`` and publishes ``deal.rotting`` once per deal and stay:
``rotting_notified_at`` is set in the same transaction as the event, and a move to another stage (or
a reopen) clears it. The cron run has a platform session and covers every company; each event
belongs to its deal's tenant. Idempotent: a retried run finds the already-notified deals marked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from xynap.core.db import utcnow
from xynap.modules.crm import service
from xynap.modules.crm.models import Deal, Stage

ROTTING_JOB = "crm.rotting_scan"
BATCH = 500


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
    return {"notified": notified}
