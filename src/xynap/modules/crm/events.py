"""Events of the CRM module and the handler that puts deals on the activity timeline.

Published (payloads: ``service.deal_payload`` — id, title, pipeline_id, stage_id, status, value,
currency, owner_id, contact_id, person_id, organization_id, position, version, entity_type "deal",
entity_id, activity_type, summary, plus per event):

* ``deal.created``, ``deal.updated`` (``changed``), ``deal.deleted``
* ``deal.stage_changed`` (``from_stage_id``, ``to_stage_id``, ``stage_name``) and ``deal.reordered``
  (a move within its stage; for live boards only, not on the timeline)
* ``deal.won``, ``deal.lost`` (``reason``), ``deal.reopened``
* ``deal.rotting`` (``stage_name``, ``days``), once per deal and stay in a stage (see ``jobs``)

Every event except ``deal.reordered`` becomes one activity (the shared activities component's table,
keyed by the event id, so a redelivery adds nothing) with ``entity_type="deal"`` and
``entity_id=<deal id>`` — the deal's timeline is ``GET /api/activities?entity_type=deal&entity_id=…``
— and ``contact_id`` = the deal's person, else its organisation, so it shows on that contact's
timeline too. Deals without a contact get activities as well (unlike the generic
``worklog.events.record_activity``, which needs a contact).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from xynap.core.db import get_database
from xynap.core.events import Event
from xynap.platform.users.models import User
from xynap.shared.worklog.events import _uuid, describe
from xynap.shared.worklog.models import Activity

NOT_ON_TIMELINE = frozenset({"deal.reordered"})


async def record_deal_activity(event: Event) -> None:
    if event.tenant_id is None or event.name in NOT_ON_TIMELINE:
        return
    db = get_database()
    try:
        async with db.tenant_session(event.tenant_id) as session:
            if await session.scalar(select(Activity.id).where(Activity.source_event_id == event.id)) is not None:
                return
            actor = await session.get(User, event.actor_id) if event.actor_id else None
            session.add(Activity(contact_id=_uuid(event.payload.get("contact_id")),
                                 user_id=actor.id if actor else None, occurred_at=event.created_at,
                                 source_event_id=event.id, **describe(event)))
    except IntegrityError:
        # a concurrent delivery of the same event won the race; anything else is a real error
        async with db.tenant_session(event.tenant_id) as session:
            if await session.scalar(select(Activity.id).where(Activity.source_event_id == event.id)) is not None:
                return
        raise


EVENT_HANDLERS = {"deal.*": [record_deal_activity]}
