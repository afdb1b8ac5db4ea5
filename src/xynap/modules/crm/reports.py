"""Sales reports of the CRM module (spec §2.1.6): the queries behind ``/api/crm/reports/…``.

Six reports, each a pure read on the request's session (tenant filter and RLS apply) narrowed by the
caller's ``crm.deal:read`` scope through ``Access.apply`` — a staff member with an "own" scope sees
the figures of their own deals only, exactly like the deal list:

* ``pipeline-value``: open deals per stage of one pipeline — count, sum, weighted sum
  (``value × coalesce(deal.probability, stage.probability) / 100``).
* ``funnel``: of the deals created in the period, how many reached each stage (a deal reached stage
  *n* when its stage history or its current stage has a position ≥ *n*: skipping a stage still
  passes it), the drop-off to the next stage and the conversion rates; won/lost at the end.
* ``durations``: average days from creation to won / lost for deals closed in the period, and the
  average stay per stage (finished stays of the stage history that ended in the period).
* ``win-loss``: deals closed in the period — won/lost counts, win rate, values, lost reasons.
* ``owners``: won deals and revenue per owner (closed in the period).
* ``forecast``: per month of the period the weighted value of the open deals expected to close
  then, the revenue actually won in that month, the same month a year earlier, and a linear trend
  over "won + weighted".

Money is ``Decimal`` and always kept **per currency** (lists of ``{currency, value}``): different
currencies are never added up. Dates of the period are calendar days in UTC (``date_to`` included).
Time arithmetic (durations, month buckets of timestamps) is done in Python over a few selected
columns, which keeps the SQL identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import decimal
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Select, and_, extract, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.db import utcnow
from xynap.core.errors import NotFound
from xynap.core.security.permissions import Access
from xynap.modules.crm.models import Deal, DealStageHistory, Pipeline, Stage
from xynap.modules.crm.schemas import CurrencySum
from xynap.platform.users.models import TeamMember, User

CENT = decimal.Decimal("0.01")
TENTH = decimal.Decimal("0.1")
HUNDRED = decimal.Decimal(100)
DAY_SECONDS = decimal.Decimal(86400)
REPORTS = ("pipeline-value", "funnel", "durations", "win-loss", "owners", "forecast")
ReportName = Literal["pipeline-value", "funnel", "durations", "win-loss", "owners", "forecast"]
FORECAST_MAX_MONTHS = 36


# --- filters -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ReportFilters:
    pipeline_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    currency: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The period as a half-open UTC range [from 00:00, day after ``date_to`` 00:00)."""
        start = _midnight(self.date_from) if self.date_from else None
        end = _midnight(self.date_to + dt.timedelta(days=1)) if self.date_to else None
        return start, end


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _scoped(stmt: Select[Any], access: Access, f: ReportFilters, *, pipeline: bool = True) -> Select[Any]:
    """The caller's record scope and the owner/team/currency/pipeline filters on a query over deals."""
    stmt = access.apply(stmt, Deal.owner_id)
    if pipeline and f.pipeline_id is not None:
        stmt = stmt.where(Deal.pipeline_id == f.pipeline_id)
    if f.owner_id is not None:
        stmt = stmt.where(Deal.owner_id == f.owner_id)
    if f.team_id is not None:
        stmt = stmt.where(Deal.owner_id.in_(select(TeamMember.user_id).where(TeamMember.team_id == f.team_id)))
    if f.currency is not None:
        stmt = stmt.where(Deal.currency == f.currency)
    return stmt


def _in_period(column: Any, f: ReportFilters) -> list[Any]:
    start, end = f.bounds()
    out = []
    if start is not None:
        out.append(column >= start)
    if end is not None:
        out.append(column < end)
    return out


def _dec(value: Any) -> decimal.Decimal:
    if value is None:
        return decimal.Decimal("0")
    return value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))


def _money(value: Any) -> decimal.Decimal:
    return _dec(value).quantize(CENT, rounding=decimal.ROUND_HALF_UP)


def _percent(part: int, whole: int) -> decimal.Decimal | None:
    if not whole:
        return None
    return (decimal.Decimal(part) * HUNDRED / decimal.Decimal(whole)).quantize(TENTH, rounding=decimal.ROUND_HALF_UP)


def _days(seconds: decimal.Decimal, count: int) -> decimal.Decimal | None:
    if not count:
        return None
    return (seconds / DAY_SECONDS / count).quantize(TENTH, rounding=decimal.ROUND_HALF_UP)


def _sums(acc: dict[str, decimal.Decimal]) -> list[CurrencySum]:
    return [CurrencySum(currency=c, value=_money(v)) for c, v in sorted(acc.items())]


async def resolve_pipeline(db: AsyncSession, pipeline_id: uuid.UUID | None) -> Pipeline | None:
    """The given pipeline (404 when unknown), else the default one, else the first; None without any."""
    if pipeline_id is not None:
        pipeline = await db.get(Pipeline, pipeline_id)
        if pipeline is None:
            raise NotFound("No such pipeline.", code="pipeline_not_found")
        return pipeline
    return await db.scalar(select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.position, Pipeline.id)
                           .limit(1))


async def _stages(db: AsyncSession, pipeline: Pipeline | None) -> list[Stage]:
    if pipeline is None:
        return []
    return list(await db.scalars(select(Stage).where(Stage.pipeline_id == pipeline.id)
                                 .order_by(Stage.position, Stage.id)))


class PipelineRef(BaseModel):
    id: uuid.UUID
    name: str


def _pipeline_ref(pipeline: Pipeline | None) -> PipelineRef | None:
    return PipelineRef(id=pipeline.id, name=pipeline.name) if pipeline else None


# --- pipeline value ----------------------------------------------------------------------------------


class StageValue(BaseModel):
    stage_id: uuid.UUID
    name: str
    color: str
    probability: int
    count: int
    values: list[CurrencySum]
    weighted: list[CurrencySum]


class PipelineValueReport(BaseModel):
    pipeline: PipelineRef | None
    stages: list[StageValue]
    count: int
    values: list[CurrencySum]
    weighted: list[CurrencySum]


async def pipeline_value(db: AsyncSession, access: Access, f: ReportFilters) -> PipelineValueReport:
    """Open deals of one pipeline per stage; the period (if any) narrows by expected close date."""
    pipeline = await resolve_pipeline(db, f.pipeline_id)
    stages = await _stages(db, pipeline)
    if pipeline is None:
        return PipelineValueReport(pipeline=None, stages=[], count=0, values=[], weighted=[])
    probability = func.coalesce(Deal.probability, Stage.probability)
    stmt = (select(Deal.stage_id, Deal.currency, func.count(), func.sum(Deal.value),
                   func.sum(Deal.value * probability))
            .select_from(Deal).join(Stage, Stage.id == Deal.stage_id)
            .where(Deal.status == "open", Deal.pipeline_id == pipeline.id))
    stmt = _scoped(stmt, access, f, pipeline=False)
    if f.date_from is not None:
        stmt = stmt.where(Deal.expected_close_date >= f.date_from)
    if f.date_to is not None:
        stmt = stmt.where(Deal.expected_close_date <= f.date_to)
    rows = (await db.execute(stmt.group_by(Deal.stage_id, Deal.currency))).all()
    counts: dict[uuid.UUID, int] = defaultdict(int)
    values: dict[uuid.UUID, dict[str, decimal.Decimal]] = defaultdict(lambda: defaultdict(decimal.Decimal))
    weighted: dict[uuid.UUID, dict[str, decimal.Decimal]] = defaultdict(lambda: defaultdict(decimal.Decimal))
    total_values: dict[str, decimal.Decimal] = defaultdict(decimal.Decimal)
    total_weighted: dict[str, decimal.Decimal] = defaultdict(decimal.Decimal)
    for stage_id, currency, count, value, weight in rows:
        counts[stage_id] += int(count)
        values[stage_id][currency] += _dec(value)
        weighted[stage_id][currency] += _dec(weight) / HUNDRED
        total_values[currency] += _dec(value)
        total_weighted[currency] += _dec(weight) / HUNDRED
    return PipelineValueReport(
        pipeline=_pipeline_ref(pipeline),
        stages=[StageValue(stage_id=s.id, name=s.name, color=s.color, probability=s.probability,
                           count=counts[s.id], values=_sums(values[s.id]), weighted=_sums(weighted[s.id]))
                for s in stages],
        count=sum(counts.values()), values=_sums(total_values), weighted=_sums(total_weighted))


# --- funnel ------------------------------------------------------------------------------------------


class FunnelStage(BaseModel):
    stage_id: uuid.UUID
    name: str
    color: str
    reached: int
    dropped: int  # reached this stage but not the next one
    rate_from_previous: decimal.Decimal | None  # % of the previous stage's deals that got here
    rate_from_start: decimal.Decimal | None  # % of all deals of the cohort


class FunnelReport(BaseModel):
    pipeline: PipelineRef | None
    deals: int
    stages: list[FunnelStage]
    won: int
    lost: int
    open: int
    win_rate: decimal.Decimal | None  # won / all deals of the cohort, %


async def funnel(db: AsyncSession, access: Access, f: ReportFilters) -> FunnelReport:
    """The deals of one pipeline created in the period and how far each of them got."""
    pipeline = await resolve_pipeline(db, f.pipeline_id)
    stages = await _stages(db, pipeline)
    if pipeline is None:
        return FunnelReport(pipeline=None, deals=0, stages=[], won=0, lost=0, open=0, win_rate=None)
    cohort = _scoped(select(Deal.id).where(Deal.pipeline_id == pipeline.id, *_in_period(Deal.created_at, f)),
                     access, f, pipeline=False)
    position = {s.id: s.position for s in stages}
    # furthest stage per deal: its current stage and every stage in its history
    furthest: dict[uuid.UUID, int] = {}
    status_of: dict[uuid.UUID, str] = {}
    for deal_id, stage_id, status in await db.execute(
            select(Deal.id, Deal.stage_id, Deal.status).where(Deal.id.in_(cohort))):
        furthest[deal_id] = position.get(stage_id, -1)
        status_of[deal_id] = status
    history = (select(DealStageHistory.deal_id, func.max(Stage.position))
               .join(Stage, Stage.id == DealStageHistory.stage_id)
               .where(DealStageHistory.deal_id.in_(cohort), Stage.pipeline_id == pipeline.id)
               .group_by(DealStageHistory.deal_id))
    for deal_id, max_position in await db.execute(history):
        if deal_id in furthest and max_position is not None:
            furthest[deal_id] = max(furthest[deal_id], int(max_position))
    total = len(furthest)
    reached = [sum(1 for p in furthest.values() if p >= s.position) for s in stages]
    out = []
    for index, stage in enumerate(stages):
        following = reached[index + 1] if index + 1 < len(stages) else reached[index]
        previous = reached[index - 1] if index else total
        out.append(FunnelStage(stage_id=stage.id, name=stage.name, color=stage.color, reached=reached[index],
                               dropped=reached[index] - following if index + 1 < len(stages) else 0,
                               rate_from_previous=_percent(reached[index], previous),
                               rate_from_start=_percent(reached[index], total)))
    won = sum(1 for s in status_of.values() if s == "won")
    lost = sum(1 for s in status_of.values() if s == "lost")
    return FunnelReport(pipeline=_pipeline_ref(pipeline), deals=total, stages=out, won=won, lost=lost,
                        open=total - won - lost, win_rate=_percent(won, total))


# --- durations ---------------------------------------------------------------------------------------


class StageDuration(BaseModel):
    stage_id: uuid.UUID
    name: str
    color: str
    stays: int
    average_days: decimal.Decimal | None


class DurationReport(BaseModel):
    pipeline: PipelineRef | None
    won_count: int
    won_average_days: decimal.Decimal | None
    lost_count: int
    lost_average_days: decimal.Decimal | None
    closed_average_days: decimal.Decimal | None
    stages: list[StageDuration]


def _closed_in_period(f: ReportFilters) -> Any:
    """won in the period or lost in the period (each status by its own timestamp)."""
    won = [Deal.status == "won", *_in_period(Deal.won_at, f)]
    lost = [Deal.status == "lost", *_in_period(Deal.lost_at, f)]
    return or_(and_(*won), and_(*lost))


async def durations(db: AsyncSession, access: Access, f: ReportFilters) -> DurationReport:
    """Days from creation to won/lost (deals closed in the period, every pipeline unless one is given)
    and the average stay per stage of one pipeline (stays that ended in the period)."""
    stmt = _scoped(select(Deal.status, Deal.created_at, Deal.won_at, Deal.lost_at).where(_closed_in_period(f)),
                   access, f)
    seconds = {"won": decimal.Decimal(0), "lost": decimal.Decimal(0)}
    counts = {"won": 0, "lost": 0}
    for status, created, won_at, lost_at in await db.execute(stmt):
        closed = won_at if status == "won" else lost_at
        if closed is None or created is None:
            continue
        seconds[status] += decimal.Decimal(max((closed - created).total_seconds(), 0))
        counts[status] += 1
    pipeline = await resolve_pipeline(db, f.pipeline_id)
    stages = await _stages(db, pipeline)
    stay_seconds: dict[uuid.UUID, decimal.Decimal] = defaultdict(decimal.Decimal)
    stays: dict[uuid.UUID, int] = defaultdict(int)
    if pipeline is not None:
        deals = _scoped(select(Deal.id), access, f, pipeline=False)
        history = (select(DealStageHistory.stage_id, DealStageHistory.entered_at, DealStageHistory.left_at)
                   .where(DealStageHistory.pipeline_id == pipeline.id, DealStageHistory.left_at.is_not(None),
                          DealStageHistory.deal_id.in_(deals), *_in_period(DealStageHistory.left_at, f)))
        for stage_id, entered, left in await db.execute(history):
            stay_seconds[stage_id] += decimal.Decimal(max((left - entered).total_seconds(), 0))
            stays[stage_id] += 1
    return DurationReport(
        pipeline=_pipeline_ref(pipeline),
        won_count=counts["won"], won_average_days=_days(seconds["won"], counts["won"]),
        lost_count=counts["lost"], lost_average_days=_days(seconds["lost"], counts["lost"]),
        closed_average_days=_days(seconds["won"] + seconds["lost"], counts["won"] + counts["lost"]),
        stages=[StageDuration(stage_id=s.id, name=s.name, color=s.color, stays=stays[s.id],
                              average_days=_days(stay_seconds[s.id], stays[s.id])) for s in stages])


# --- win / loss --------------------------------------------------------------------------------------


class LostReason(BaseModel):
    reason: str
    count: int
    values: list[CurrencySum]


class WinLossReport(BaseModel):
    won: int
    lost: int
    win_rate: decimal.Decimal | None  # won / (won + lost), %
    won_values: list[CurrencySum]
    lost_values: list[CurrencySum]
    reasons: list[LostReason]


async def win_loss(db: AsyncSession, access: Access, f: ReportFilters) -> WinLossReport:
    stmt = _scoped(select(Deal.status, Deal.lost_reason, Deal.currency, func.count(), func.sum(Deal.value))
                   .where(_closed_in_period(f)), access, f)
    rows = (await db.execute(stmt.group_by(Deal.status, Deal.lost_reason, Deal.currency))).all()
    counts = {"won": 0, "lost": 0}
    sums: dict[str, dict[str, decimal.Decimal]] = {"won": defaultdict(decimal.Decimal),
                                                   "lost": defaultdict(decimal.Decimal)}
    reason_counts: dict[str, int] = defaultdict(int)
    reason_values: dict[str, dict[str, decimal.Decimal]] = defaultdict(lambda: defaultdict(decimal.Decimal))
    for status, reason, currency, count, value in rows:
        counts[status] += int(count)
        sums[status][currency] += _dec(value)
        if status == "lost":
            key = (reason or "").strip()
            reason_counts[key] += int(count)
            reason_values[key][currency] += _dec(value)
    reasons = [LostReason(reason=r, count=reason_counts[r], values=_sums(reason_values[r]))
               for r in sorted(reason_counts, key=lambda r: (-reason_counts[r], r))]
    return WinLossReport(won=counts["won"], lost=counts["lost"],
                         win_rate=_percent(counts["won"], counts["won"] + counts["lost"]),
                         won_values=_sums(sums["won"]), lost_values=_sums(sums["lost"]), reasons=reasons)


# --- owners ------------------------------------------------------------------------------------------


class OwnerRow(BaseModel):
    owner_id: uuid.UUID | None
    name: str
    won: int
    lost: int
    win_rate: decimal.Decimal | None
    revenue: list[CurrencySum]


class OwnersReport(BaseModel):
    owners: list[OwnerRow]
    revenue: list[CurrencySum]


async def owners(db: AsyncSession, access: Access, f: ReportFilters) -> OwnersReport:
    stmt = _scoped(select(Deal.owner_id, Deal.status, Deal.currency, func.count(), func.sum(Deal.value))
                   .where(_closed_in_period(f)), access, f)
    rows = (await db.execute(stmt.group_by(Deal.owner_id, Deal.status, Deal.currency))).all()
    won: dict[uuid.UUID | None, int] = defaultdict(int)
    lost: dict[uuid.UUID | None, int] = defaultdict(int)
    revenue: dict[uuid.UUID | None, dict[str, decimal.Decimal]] = defaultdict(lambda: defaultdict(decimal.Decimal))
    total: dict[str, decimal.Decimal] = defaultdict(decimal.Decimal)
    for owner_id, status, currency, count, value in rows:
        if status == "won":
            won[owner_id] += int(count)
            revenue[owner_id][currency] += _dec(value)
            total[currency] += _dec(value)
        else:
            lost[owner_id] += int(count)
    ids = [i for i in {*won, *lost} if i is not None]
    names = dict((await db.execute(select(User.id, User.name).where(User.id.in_(ids)))).all()) if ids else {}
    out = [OwnerRow(owner_id=i, name=names.get(i, "—") if i else "—", won=won[i], lost=lost[i],
                    win_rate=_percent(won[i], won[i] + lost[i]), revenue=_sums(revenue[i]))
           for i in {*won, *lost}]
    out.sort(key=lambda r: (-r.won, r.name.casefold(), str(r.owner_id)))
    return OwnersReport(owners=out, revenue=_sums(total))


# --- forecast per month ------------------------------------------------------------------------------


class ForecastMonth(BaseModel):
    month: str  # YYYY-MM
    currency: str
    count: int  # open deals expected to close in the month
    weighted: decimal.Decimal
    value: decimal.Decimal  # unweighted sum of those open deals
    won: decimal.Decimal  # revenue actually won in the month
    previous_year_won: decimal.Decimal  # revenue won in the same month a year earlier
    trend: decimal.Decimal  # least-squares line over won + weighted, per currency


class ForecastReport(BaseModel):
    date_from: dt.date
    date_to: dt.date
    months: list[str]
    currencies: list[str]
    rows: list[ForecastMonth]


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_key(day: dt.date | dt.datetime) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def forecast_period(f: ReportFilters, today: dt.date) -> tuple[dt.date, dt.date]:
    """The period, by default five months back to six months ahead of the current month."""
    start = f.date_from or _add_months(today.replace(day=1), -5)
    if f.date_to is not None:
        end = f.date_to
    else:
        last = _add_months(today.replace(day=1), 6)
        end = last.replace(day=calendar.monthrange(last.year, last.month)[1])
    return start, end


def _trend(values: list[decimal.Decimal]) -> list[decimal.Decimal]:
    n = len(values)
    if n < 2:
        return [_money(v) for v in values]
    mean_x = decimal.Decimal(n - 1) / 2
    mean_y = sum(values, decimal.Decimal(0)) / n
    sxx = sum(((decimal.Decimal(i) - mean_x) ** 2 for i in range(n)), decimal.Decimal(0))
    sxy = sum(((decimal.Decimal(i) - mean_x) * (v - mean_y) for i, v in enumerate(values)), decimal.Decimal(0))
    slope = sxy / sxx
    return [_money(mean_y + slope * (decimal.Decimal(i) - mean_x)) for i in range(n)]


async def forecast(db: AsyncSession, access: Access, f: ReportFilters) -> ForecastReport:
    start, end = forecast_period(f, utcnow().date())
    months: list[str] = []
    cursor = start.replace(day=1)
    while cursor <= end and len(months) < FORECAST_MAX_MONTHS:
        months.append(_month_key(cursor))
        cursor = _add_months(cursor, 1)
    year, month = extract("year", Deal.expected_close_date), extract("month", Deal.expected_close_date)
    probability = func.coalesce(Deal.probability, Stage.probability)
    stmt = _scoped(select(year, month, Deal.currency, func.count(), func.sum(Deal.value),
                          func.sum(Deal.value * probability))
                   .select_from(Deal).join(Stage, Stage.id == Deal.stage_id)
                   .where(Deal.status == "open", Deal.expected_close_date >= start,
                          Deal.expected_close_date <= end), access, f)
    Key = tuple[str, str]
    count: dict[Key, int] = defaultdict(int)
    weighted: dict[Key, decimal.Decimal] = defaultdict(decimal.Decimal)
    value: dict[Key, decimal.Decimal] = defaultdict(decimal.Decimal)
    won: dict[Key, decimal.Decimal] = defaultdict(decimal.Decimal)
    before: dict[Key, decimal.Decimal] = defaultdict(decimal.Decimal)
    for y, m, currency, n, total, weight in await db.execute(stmt.group_by(year, month, Deal.currency)):
        key = (f"{int(y):04d}-{int(m):02d}", currency)
        count[key] += int(n)
        value[key] += _dec(total)
        weighted[key] += _dec(weight) / HUNDRED
    period = dataclasses.replace(f, date_from=start, date_to=end)
    last_year = dataclasses.replace(f, date_from=_minus_year(start), date_to=_minus_year(end))
    for target, window, shift in ((won, period, 0), (before, last_year, 1)):
        stmt = _scoped(select(Deal.won_at, Deal.currency, Deal.value)
                       .where(Deal.status == "won", *_in_period(Deal.won_at, window)), access, f)
        for won_at, currency, amount in await db.execute(stmt):
            target[(f"{won_at.year + shift:04d}-{won_at.month:02d}", currency)] += _dec(amount)
    currencies = sorted({c for _, c in (*count, *won, *before)})
    rows: list[ForecastMonth] = []
    for currency in currencies:
        expected = [won[(m, currency)] + weighted[(m, currency)] for m in months]
        for m, trend in zip(months, _trend(expected), strict=True):
            key = (m, currency)
            rows.append(ForecastMonth(month=m, currency=currency, count=count[key], weighted=_money(weighted[key]),
                                      value=_money(value[key]), won=_money(won[key]),
                                      previous_year_won=_money(before[key]), trend=trend))
    rows.sort(key=lambda r: (r.month, r.currency))
    return ForecastReport(date_from=start, date_to=end, months=months, currencies=currencies, rows=rows)


def _minus_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


# --- dispatch ----------------------------------------------------------------------------------------

BUILDERS = {"pipeline-value": pipeline_value, "funnel": funnel, "durations": durations, "win-loss": win_loss,
            "owners": owners, "forecast": forecast}


async def build(name: str, db: AsyncSession, access: Access, f: ReportFilters) -> BaseModel:
    return await BUILDERS[name](db, access, f)


# --- tables (CSV and PDF) ----------------------------------------------------------------------------

LABELS: dict[str, dict[str, str]] = {
    "de": {
        "pipeline-value": "Pipeline-Wert", "funnel": "Conversion-Funnel", "durations": "Deal-Dauer",
        "win-loss": "Gewonnen / Verloren", "owners": "Abschlüsse je Verantwortlichem",
        "forecast": "Gewichtete Prognose je Monat",
        "stage": "Phase", "currency": "Währung", "count": "Anzahl", "value": "Wert", "weighted": "Gewichtet",
        "probability": "Wahrscheinlichkeit %", "reached": "Erreicht", "dropped": "Abgesprungen",
        "rate_from_previous": "Quote zur Vorphase %", "rate_from_start": "Quote gesamt %",
        "stays": "Aufenthalte", "average_days": "Ø Tage", "metric": "Kennzahl", "status": "Status",
        "won": "Gewonnen", "lost": "Verloren", "open": "Offen", "win_rate": "Gewinnquote %",
        "reason": "Verlustgrund", "owner": "Verantwortlich", "revenue": "Umsatz", "month": "Monat",
        "previous_year_won": "Vorjahr gewonnen", "trend": "Trend", "closed": "Abgeschlossen",
        "all": "gesamt", "period": "Zeitraum", "pipeline": "Pipeline", "created": "Erstellt am",
        "no_period": "gesamter Zeitraum", "no_data": "Keine Daten im gewählten Zeitraum.",
        "deals": "Deals", "stage_stay": "Aufenthalt in Phase", "deal_duration": "Erstellt → abgeschlossen",
    },
    "en": {
        "pipeline-value": "Pipeline value", "funnel": "Conversion funnel", "durations": "Deal duration",
        "win-loss": "Won / lost", "owners": "Won deals per owner", "forecast": "Weighted forecast per month",
        "stage": "Stage", "currency": "Currency", "count": "Count", "value": "Value", "weighted": "Weighted",
        "probability": "Probability %", "reached": "Reached", "dropped": "Dropped",
        "rate_from_previous": "Rate from previous %", "rate_from_start": "Rate from start %",
        "stays": "Stays", "average_days": "Avg. days", "metric": "Metric", "status": "Status",
        "won": "Won", "lost": "Lost", "open": "Open", "win_rate": "Win rate %",
        "reason": "Lost reason", "owner": "Owner", "revenue": "Revenue", "month": "Month",
        "previous_year_won": "Won a year earlier", "trend": "Trend", "closed": "Closed",
        "all": "all", "period": "Period", "pipeline": "Pipeline", "created": "Created",
        "no_period": "all time", "no_data": "No data in the selected period.",
        "deals": "Deals", "stage_stay": "Stay in stage", "deal_duration": "Created → closed",
    },
}


@dataclasses.dataclass
class Table:
    """A report flattened to one header and rows of plain values (money as Decimal, one currency a row)."""

    columns: list[str]  # label keys
    rows: list[list[Any]]
    chart: list[tuple[str, float]]  # label, number: the bar chart of the PDF
    chart_label: str


def _per_currency(sums: list[CurrencySum]) -> dict[str, decimal.Decimal]:
    return {s.currency: s.value for s in sums}


def _main_currency(*groups: Iterable[CurrencySum]) -> str | None:
    totals: dict[str, decimal.Decimal] = defaultdict(decimal.Decimal)
    for group in groups:
        for s in group:
            totals[s.currency] += s.value
    return max(sorted(totals), key=lambda c: totals[c]) if totals else None


def table(name: str, report: Any, lang: str) -> Table:
    """The rows of ``report`` for the CSV and the PDF (labels in ``lang``)."""
    L = LABELS[lang]
    if name == "pipeline-value":
        rows: list[list[Any]] = []
        for s in report.stages:
            values, weighted = _per_currency(s.values), _per_currency(s.weighted)
            # one row per currency; the stage's deal count on its first row only
            for index, currency in enumerate(sorted(values) or [""]):
                rows.append([s.name, s.probability, currency, "" if index else s.count, values.get(currency, ""),
                             weighted.get(currency, "")])
        main = _main_currency(report.values)
        chart = [(s.name, float(_per_currency(s.values).get(main or "", 0))) for s in report.stages]
        return Table(["stage", "probability", "currency", "count", "value", "weighted"], rows, chart,
                     f"{L['value']} ({main})" if main else L["value"])
    if name == "funnel":
        rows = [[s.name, s.reached, s.dropped, s.rate_from_previous, s.rate_from_start] for s in report.stages]
        rows += [[L["won"], report.won, "", "", report.win_rate], [L["lost"], report.lost, "", "", ""],
                 [L["open"], report.open, "", "", ""]]
        return Table(["stage", "reached", "dropped", "rate_from_previous", "rate_from_start"], rows,
                     [(s.name, float(s.reached)) for s in report.stages], L["reached"])
    if name == "durations":
        rows = [[L["deal_duration"], L["won"], report.won_count, report.won_average_days],
                [L["deal_duration"], L["lost"], report.lost_count, report.lost_average_days],
                [L["deal_duration"], L["all"], report.won_count + report.lost_count, report.closed_average_days]]
        rows += [[L["stage_stay"], s.name, s.stays, s.average_days] for s in report.stages]
        return Table(["metric", "stage", "count", "average_days"], rows,
                     [(s.name, float(s.average_days or 0)) for s in report.stages], L["average_days"])
    if name == "win-loss":
        # one row per currency; the count (deals of every currency) on the first row of its group only
        rows = []
        groups = [(L["won"], "", report.won, report.won_values), (L["lost"], "", report.lost, report.lost_values),
                  *((L["lost"], r.reason or "—", r.count, r.values) for r in report.reasons)]
        for label, reason, count, values in groups:
            rows += [[label, reason, "" if i else count, c.currency, c.value] for i, c in enumerate(values)] or [
                [label, reason, count, "", ""]]
        after_totals = max(len(report.won_values), 1) + max(len(report.lost_values), 1)
        rows.insert(after_totals, [L["win_rate"], "", report.win_rate, "", ""])
        return Table(["status", "reason", "count", "currency", "value"], rows,
                     [(L["won"], float(report.won)), (L["lost"], float(report.lost))]
                     + [(r.reason or "—", float(r.count)) for r in report.reasons], L["count"])
    if name == "owners":
        rows = []
        for o in report.owners:
            for currency_sum in o.revenue or [CurrencySum(currency="", value=decimal.Decimal(0))]:
                rows.append([o.name, o.won, o.lost, o.win_rate, currency_sum.currency,
                             currency_sum.value if currency_sum.currency else ""])
        return Table(["owner", "won", "lost", "win_rate", "currency", "revenue"], rows,
                     [(o.name, float(o.won)) for o in report.owners], L["won"])
    if name == "forecast":
        rows = [[r.month, r.currency, r.count, r.value, r.weighted, r.won, r.previous_year_won, r.trend]
                for r in report.rows]
        main = _main_currency([CurrencySum(currency=r.currency, value=r.weighted + r.won) for r in report.rows])
        by_month = {r.month: float(r.weighted + r.won) for r in report.rows if r.currency == main}
        return Table(["month", "currency", "count", "value", "weighted", "won", "previous_year_won", "trend"], rows,
                     [(m, by_month.get(m, 0.0)) for m in report.months],
                     f"{L['won']} + {L['weighted']} ({main})" if main else L["weighted"])
    raise ValueError(name)  # pragma: no cover - the route validates the name
