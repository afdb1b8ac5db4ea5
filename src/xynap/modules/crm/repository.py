"""Queries of the CRM module that read many deals: the board, the deal list and the forecast.

All of them run on the request's session (tenant filter and RLS apply) and narrow by the caller's
record scope through ``Access.apply``; none hand-filters by tenant.

Board: one GROUP BY (stage, currency) over the open deals of the pipeline for counts and sums, then
per stage one index range scan ``(tenant_id, pipeline_id, stage_id, status, position)`` with LIMIT —
the work is the number of stages × the page size, not the number of deals.

Forecast: one GROUP BY over open deals. The weighted value is
``sum(value × coalesce(deal.probability, stage.probability)) / 100`` per group *and currency*, never
across currencies. The stage's probability is not joined per deal (a join over 100,000 deals costs more
than the grouping): the inner query groups by stage as well and returns ``sum(value × own probability)``
and ``sum(value)`` of the deals without one. On PostgreSQL an outer query joins those few rows with the
stages and sums them per group and currency, so only the answer's rows leave the database (group=owner
returned ~6,000 stage rows for 100,000 deals, folded in Python); the grouping runs with sorting and
parallel workers off (see ``_pinned_plan``). SQLite folds the stage rows here: its NUMERIC is a float,
and only Python's Decimal keeps ``333.33 × 50 / 100`` at 166.665 → 166.67.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Select, case, extract, func, select, text
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
    """count, sum(value), sum(value × own probability), sum(value) of the deals using the stage's
    (the last two are NULL when no deal of the group has / lacks its own probability)."""
    return (func.count().label("n"), func.sum(Deal.value).label("value"),
            func.sum(Deal.value * Deal.probability).label("own"),
            func.sum(case((Deal.probability.is_(None), Deal.value))).label("by_stage"))


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


# Every column of a deal as mapped attributes: rows, not ORM objects (a board reads 300 cards only to show
# them; loading them into the identity map cost more than the query), still filtered by the session.
DEAL_COLUMNS = tuple(getattr(Deal, column.key) for column in Deal.__table__.columns)


async def stage_page(db: AsyncSession, access: Access, stage_id: uuid.UUID, *, limit: int,
                     owner_id: uuid.UUID | None = None, after: tuple[int, uuid.UUID] | None = None
                     ) -> tuple[list[Any], str | None]:
    """Open deals of one stage in board order, ``limit`` at a time (keyset on position, id), as rows with
    the deal's attributes. Index ``ix_crm_deals_stage_order``: a range scan of ``limit + 1`` entries."""
    stmt = open_deals(access, owner_id=owner_id).with_only_columns(*DEAL_COLUMNS).where(Deal.stage_id == stage_id)
    if after is not None:
        pos, last_id = after
        stmt = stmt.where((Deal.position > pos) | ((Deal.position == pos) & (Deal.id > last_id)))
    rows = list((await db.execute(stmt.order_by(Deal.position, Deal.id).limit(limit + 1))).all())
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

# The planner cannot estimate how many groups a forecast has (``extract()`` has no statistics, the RLS
# policy hides the tenant's share of the table): it guessed ~22,000 instead of ~2,600 for group=month over
# 100,000 deals and chose a sort that spilled to disk plus a parallel worker (which only competes for the
# same CPU) — 3× the time of an in-memory hash aggregate, which is always right for these few groups (it
# still spills by itself beyond ``work_mem``). Session-wide and reset afterwards in a read-only session
# (autocommit: a transaction-local setting would end with its statement), transaction-local otherwise.
_PLAN_PINNED = text("SELECT set_config('enable_sort', 'off', :local), "
                    "set_config('max_parallel_workers_per_gather', '0', :local)")
_PLAN_DEFAULT = text("SELECT set_config(name, reset_val, :local) FROM pg_settings "
                     "WHERE name IN ('enable_sort', 'max_parallel_workers_per_gather')")


@contextlib.asynccontextmanager
async def _pinned_plan(db: AsyncSession) -> AsyncIterator[None]:
    if db.get_bind().dialect.name != "postgresql":
        yield
        return
    local = {"local": not db.sync_session.info.get("read_only")}
    await db.execute(_PLAN_PINNED, local)
    try:
        yield
    finally:
        await db.execute(_PLAN_DEFAULT, local)


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


async def _grouped(db: AsyncSession, base: Select[Any], width: int) -> list[tuple[Any, ...]]:
    """``(key columns…, currency, count, sum(value), sum(value × probability))`` per group and currency of
    ``base`` (key columns, stage_id, currency and the ``_sums``), grouped by its first ``width`` columns."""
    keys = list(base.selected_columns)[:width]
    inner = base.group_by(*keys, Deal.stage_id, Deal.currency)
    if db.get_bind().dialect.name == "postgresql":
        sub = inner.subquery()
        cols = list(sub.c)
        key_cols, stage_col, currency_col = cols[:width], cols[width], cols[width + 1]
        weighted = func.coalesce(sub.c.own, 0) + func.coalesce(sub.c.by_stage, 0) * func.coalesce(Stage.probability, 0)
        outer = (select(*key_cols, currency_col, func.sum(sub.c.n), func.sum(sub.c.value), func.sum(weighted))
                 .select_from(sub).outerjoin(Stage, Stage.id == stage_col).group_by(*key_cols, currency_col))
        async with _pinned_plan(db):
            return [tuple(r) for r in (await db.execute(outer)).all()]
    rows = (await db.execute(inner)).all()
    probabilities = await _stage_probabilities(db, {r[width] for r in rows})
    folded: dict[tuple[Any, ...], _Acc] = defaultdict(_Acc)
    for row in rows:
        keys_, (stage_id, currency, count, value, own, by_stage) = tuple(row[:width]), row[width:]
        folded[(*keys_, currency)].add(count, value, _weighted(own, by_stage, probabilities.get(stage_id, 0)))
    return [(*k, a.count, a.value, a.weighted) for k, a in folded.items()]


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
        columns: tuple[Any, ...] = (Deal.stage_id,)
    elif group in ("month", "quarter"):
        columns = (extract("year", Deal.expected_close_date), extract("month", Deal.expected_close_date))
    elif group in ("owner", "team"):
        # teams: grouped by owner and folded into the owner's teams below — one pass over the deals gives
        # the rows and the totals (a join with the memberships needed a second pass for the totals)
        columns = (Deal.owner_id,)
    else:  # pragma: no cover - the route validates the group
        raise ValueError(group)
    columns = tuple(c.label(f"k{i}") for i, c in enumerate(columns))  # distinct names in the subquery
    width = len(columns)
    rows = await _grouped(db, _forecast_base(*base, *columns), width)
    owner_rows = rows
    if group == "team":
        # A deal counts for every team of its owner; deals whose owner is in no team land under None.
        owners = {r[0] for r in rows if r[0] is not None}
        teams_of: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        if owners:
            for team_id, user_id in (await db.execute(select(TeamMember.team_id, TeamMember.user_id)
                                                      .where(TeamMember.user_id.in_(owners)))).all():
                teams_of[user_id].append(team_id)
        rows = [(team_id, *rest) for owner, *rest in rows for team_id in (teams_of.get(owner) or [None])]

    acc: dict[tuple[str | None, str], _Acc] = defaultdict(_Acc)
    for row in rows:
        keys, (currency, count, value, weighted) = row[:width], row[width:]
        if group in ("month", "quarter"):
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
    if group == "team":  # a deal may sit in several teams: totals come from the owners' rows
        for _owner, currency, count, value, weighted in owner_rows:
            totals_acc[(None, currency)].add(count, value, weighted)
    else:
        for (_, currency), a in acc.items():
            totals_acc[(None, currency)].add(a.count, a.value, a.weighted)
    return out_rows, _rows(totals_acc, {None: "Σ"}, [])
