"""Queries of the CRM module that read many deals: the board, the deal list and the forecast.

All of them run on the request's session (tenant filter and RLS apply) and narrow by the caller's
record scope through ``Access.apply``; none hand-filters by tenant.

Board: one GROUP BY (stage, currency) over the open deals of the pipeline for counts and sums, then
per stage one index range scan ``(tenant_id, pipeline_id, stage_id, status, position)`` with LIMIT —
the work is the number of stages × the page size, not the number of deals.

Forecast: one GROUP BY over open deals. The weighted value is
``sum(value × coalesce(deal.probability, stage.probability)) / 100`` per group *and currency*, never
across currencies. The stage's probability is not joined in SQL: the query groups by stage as well and
returns ``sum(value × own probability)`` and ``sum(value)`` of the deals without one; the few rows are
folded with the stages' probabilities here (a join over 100,000 deals costs more than the grouping).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, case, extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.pagination import encode_cursor
from xynap.core.security.permissions import Access
from xynap.modules.crm.models import Deal, DealTag, Stage
from xynap.modules.crm.schemas import CurrencySum, ForecastRow
from xynap.platform.users.models import Team, TeamMember, User

CENT = decimal.Decimal("0.01")
HUNDRED = decimal.Decimal(100)
FORECAST_GROUPS = ("stage", "month", "quarter", "owner", "team")


def _dec(value: Any) -> decimal.Decimal:
    if value is None:
        return decimal.Decimal("0")
    return value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))


def _money(value: Any) -> decimal.Decimal:
    return _dec(value).quantize(CENT, rounding=decimal.ROUND_HALF_UP)


def _sums() -> tuple[Any, ...]:
    """count, sum(value), sum(value × own probability), sum(value) of the deals using the stage's."""
    return (func.count(), func.sum(Deal.value),
            func.sum(case((Deal.probability.is_not(None), Deal.value * Deal.probability), else_=0)),
            func.sum(case((Deal.probability.is_(None), Deal.value), else_=0)))


def _weighted(own: Any, by_stage: Any, stage_probability: int) -> decimal.Decimal:
    """sum(value × probability), before the division by 100."""
    return _dec(own) + _dec(by_stage) * stage_probability


async def _stage_probabilities(db: AsyncSession, stage_ids: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not stage_ids:
        return {}
    return dict((await db.execute(select(Stage.id, Stage.probability).where(Stage.id.in_(stage_ids)))).all())


def open_deals(access: Access, pipeline_id: uuid.UUID | None = None, owner_id: uuid.UUID | None = None) -> Select[Any]:
    stmt = access.apply(select(Deal).where(Deal.status == "open"), Deal.owner_id)
    if pipeline_id is not None:
        stmt = stmt.where(Deal.pipeline_id == pipeline_id)
    if owner_id is not None:
        stmt = stmt.where(Deal.owner_id == owner_id)
    return stmt


async def column_totals(db: AsyncSession, access: Access, pipeline_id: uuid.UUID, owner_id: uuid.UUID | None
                        ) -> dict[uuid.UUID, tuple[int, list[CurrencySum], list[CurrencySum]]]:
    """{stage id: (count, sums per currency, weighted sums per currency)} of the open deals."""
    stmt = access.apply(
        select(Deal.stage_id, Deal.currency, *_sums())
        .where(Deal.pipeline_id == pipeline_id, Deal.status == "open")
        .group_by(Deal.stage_id, Deal.currency), Deal.owner_id)
    if owner_id is not None:
        stmt = stmt.where(Deal.owner_id == owner_id)
    rows = (await db.execute(stmt)).all()
    probabilities = await _stage_probabilities(db, {r[0] for r in rows})
    counts: dict[uuid.UUID, int] = defaultdict(int)
    sums: dict[uuid.UUID, list[CurrencySum]] = defaultdict(list)
    weighted: dict[uuid.UUID, list[CurrencySum]] = defaultdict(list)
    for stage_id, currency, count, total, own, by_stage in rows:
        counts[stage_id] += int(count)
        sums[stage_id].append(CurrencySum(currency=currency, value=_money(total)))
        weight = _weighted(own, by_stage, probabilities.get(stage_id, 0))
        weighted[stage_id].append(CurrencySum(currency=currency, value=_money(weight / HUNDRED)))
    return {sid: (counts[sid], sorted(sums[sid], key=lambda s: s.currency),
                  sorted(weighted[sid], key=lambda s: s.currency)) for sid in counts}


async def stage_page(db: AsyncSession, access: Access, stage_id: uuid.UUID, *, limit: int,
                     owner_id: uuid.UUID | None = None, after: tuple[int, uuid.UUID] | None = None
                     ) -> tuple[list[Deal], str | None]:
    """Open deals of one stage in board order, ``limit`` at a time (keyset on position, id)."""
    stmt = open_deals(access, owner_id=owner_id).where(Deal.stage_id == stage_id)
    if after is not None:
        pos, last_id = after
        stmt = stmt.where((Deal.position > pos) | ((Deal.position == pos) & (Deal.id > last_id)))
    rows = list((await db.scalars(stmt.order_by(Deal.position, Deal.id).limit(limit + 1))).all())
    cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        cursor = encode_cursor(rows[-1].position, rows[-1].id)
    return rows, cursor


def deal_filters(stmt: Select[Any], *, pipeline_id: uuid.UUID | None = None, stage_id: uuid.UUID | None = None,
                 status: str | None = None, owner_id: uuid.UUID | None = None, contact_id: uuid.UUID | None = None,
                 tag_id: uuid.UUID | None = None, q: str | None = None, close_from: dt.date | None = None,
                 close_to: dt.date | None = None) -> Select[Any]:
    if pipeline_id is not None:
        stmt = stmt.where(Deal.pipeline_id == pipeline_id)
    if stage_id is not None:
        stmt = stmt.where(Deal.stage_id == stage_id)
    if status is not None:
        stmt = stmt.where(Deal.status == status)
    if owner_id is not None:
        stmt = stmt.where(Deal.owner_id == owner_id)
    if contact_id is not None:
        stmt = stmt.where((Deal.contact_id == contact_id) | (Deal.organization_id == contact_id))
    if tag_id is not None:
        stmt = stmt.where(Deal.id.in_(select(DealTag.deal_id).where(DealTag.tag_id == tag_id)))
    if q:
        stmt = stmt.where(Deal.title.icontains(q, autoescape=True))
    if close_from is not None:
        stmt = stmt.where(Deal.expected_close_date >= close_from)
    if close_to is not None:
        stmt = stmt.where(Deal.expected_close_date <= close_to)
    return stmt


# --- forecast ----------------------------------------------------------------------------------------


def _forecast_base(access: Access, pipeline_id: uuid.UUID | None, owner_id: uuid.UUID | None,
                   close_from: dt.date | None, close_to: dt.date | None, *columns: Any) -> Select[Any]:
    stmt = select(*columns, Deal.stage_id, Deal.currency, *_sums())
    stmt = access.apply(stmt.select_from(Deal).where(Deal.status == "open"), Deal.owner_id)
    if pipeline_id is not None:
        stmt = stmt.where(Deal.pipeline_id == pipeline_id)
    if owner_id is not None:
        stmt = stmt.where(Deal.owner_id == owner_id)
    if close_from is not None:
        stmt = stmt.where(Deal.expected_close_date >= close_from)
    if close_to is not None:
        stmt = stmt.where(Deal.expected_close_date <= close_to)
    return stmt


class _Acc:
    __slots__ = ("count", "value", "weighted")

    def __init__(self) -> None:
        self.count, self.value, self.weighted = 0, decimal.Decimal("0"), decimal.Decimal("0")

    def add(self, count: Any, value: Any, weighted: Any) -> None:
        self.count += int(count)
        self.value += _dec(value)
        self.weighted += _dec(weighted)


def _rows(acc: dict[tuple[str | None, str], _Acc], labels: dict[str | None, str], order: Sequence[str | None]
          ) -> list[ForecastRow]:
    rank = {key: i for i, key in enumerate(order)}
    out = [ForecastRow(key=key, label=labels.get(key, key or "—"), currency=currency, count=a.count,
                       value=_money(a.value), weighted=_money(a.weighted / HUNDRED))
           for (key, currency), a in acc.items()]
    out.sort(key=lambda r: (rank.get(r.key, len(rank)), r.key is None, r.key or "", r.currency))
    return out


async def forecast(db: AsyncSession, access: Access, group: str, *, pipeline_id: uuid.UUID | None = None,
                   owner_id: uuid.UUID | None = None, close_from: dt.date | None = None,
                   close_to: dt.date | None = None) -> tuple[list[ForecastRow], list[ForecastRow]]:
    """(rows per group and currency, totals per currency) of the weighted forecast of open deals."""
    base = (access, pipeline_id, owner_id, close_from, close_to)
    if group == "stage":
        columns: tuple[Any, ...] = ()
    elif group in ("month", "quarter"):
        columns = (extract("year", Deal.expected_close_date), extract("month", Deal.expected_close_date))
    elif group == "owner":
        columns = (Deal.owner_id,)
    elif group == "team":
        columns = (TeamMember.team_id,)
    else:  # pragma: no cover - the route validates the group
        raise ValueError(group)
    stmt = _forecast_base(*base, *columns)
    if group == "team":
        # A deal counts for every team of its owner; deals whose owner is in no team land under None.
        stmt = stmt.outerjoin(TeamMember, TeamMember.user_id == Deal.owner_id)
    rows = (await db.execute(stmt.group_by(*columns, Deal.stage_id, Deal.currency))).all()
    width = len(columns)
    probabilities = await _stage_probabilities(db, {r[width] for r in rows})

    acc: dict[tuple[str | None, str], _Acc] = defaultdict(_Acc)
    for row in rows:
        keys, (stage_id, currency, count, value, own, by_stage) = row[:width], row[width:]
        weighted = _weighted(own, by_stage, probabilities.get(stage_id, 0))
        if group == "stage":
            key = str(stage_id)
        elif group in ("month", "quarter"):
            year, month = keys
            if year is None:
                key = None
            elif group == "month":
                key = f"{int(year):04d}-{int(month):02d}"
            else:
                key = f"{int(year):04d}-Q{(int(month) - 1) // 3 + 1}"
        else:
            key = str(keys[0]) if keys[0] else None
        acc[(key, currency)].add(count, value, weighted)

    labels: dict[str | None, str] = {None: "—"}
    ids = [uuid.UUID(k) for k, _ in acc if k] if group in ("stage", "owner", "team") else []
    if group == "stage":
        stages = list(await db.scalars(select(Stage).where(Stage.id.in_(ids)))) if ids else []
        stages.sort(key=lambda st: (str(st.pipeline_id), st.position))
        labels.update({str(st.id): st.name for st in stages})
        order: list[str | None] = [str(st.id) for st in stages]
    elif group in ("month", "quarter"):
        order = sorted(k for k, _ in acc if k is not None)
        labels.update({k: k for k in order if k})
    else:
        model = User if group == "owner" else Team
        names = (await db.execute(select(model.id, model.name).where(model.id.in_(ids)))).all() if ids else []
        labels.update({str(i): name for i, name in names})
        order = [k for k in sorted(labels, key=lambda k: labels[k]) if k is not None]
    out_rows = _rows(acc, labels, order)

    totals_acc: dict[tuple[str | None, str], _Acc] = defaultdict(_Acc)
    if group == "team":  # a deal may sit in several teams: totals come from the deals, not the rows
        total_rows = (await db.execute(_forecast_base(*base).group_by(Deal.stage_id, Deal.currency))).all()
        probabilities |= await _stage_probabilities(db, {r[0] for r in total_rows} - set(probabilities))
        for stage_id, currency, count, value, own, by_stage in total_rows:
            totals_acc[(None, currency)].add(count, value, _weighted(own, by_stage, probabilities.get(stage_id, 0)))
    else:
        for (_, currency), a in acc.items():
            totals_acc[(None, currency)].add(a.count, a.value, a.weighted)
    return out_rows, _rows(totals_acc, {None: "Σ"}, [])
