"""Housekeeping jobs of the platform itself, on cron schedules."""

from __future__ import annotations

import datetime as dt

from xynap.core.events import prune_dispatched
from xynap.core.jobs import JobContext, register_job, register_schedule
from xynap.core.modules import JobDecl, ScheduleDecl

EVENT_RETENTION = dt.timedelta(days=7)


async def prune_events(ctx: JobContext) -> dict[str, int]:
    """Dispatched outbox rows are history once delivered; keep a week for inspection."""
    return {"deleted": await prune_dispatched(ctx.session, EVENT_RETENTION)}


register_job(JobDecl("platform.events.prune", prune_events, max_attempts=3))
register_schedule(ScheduleDecl("platform.events.prune.daily", "17 3 * * *", job="platform.events.prune"))
