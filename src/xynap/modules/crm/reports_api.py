"""Routes of the sales reports, mounted at ``/api/crm/reports`` (spec §2.1.6; queries in ``reports``).

Every report is ``GET /api/crm/reports/<report>`` (JSON) with the same filters: ``pipeline_id``,
``owner_id``, ``team_id``, ``currency`` and the period ``date_from``/``date_to`` (calendar days, UTC,
both included). The same report as a file: ``GET /api/crm/reports/<report>/export?format=csv|pdf``
with the same filters and ``lang=de|en`` for the labels. CSV is streamed (UTF-8, comma, one row per
group and currency); the PDF (WeasyPrint) shows the company, the period, a bar chart (SVG) and the
table. Bad filters are 422 problem+json with field errors (``currency`` not ISO 4217, ``date_from``
after ``date_to``, a forecast period over 36 months); an unknown pipeline is 404.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import html
import io
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from xynap.core.db import utcnow
from xynap.core.errors import ValidationFailed
from xynap.core.security.permissions import Access
from xynap.modules.crm import reports
from xynap.modules.crm.currencies import is_currency
from xynap.modules.crm.reports import (
    DurationReport,
    ForecastReport,
    FunnelReport,
    OwnersReport,
    PipelineValueReport,
    ReportFilters,
    WinLossReport,
)
from xynap.platform.auth.deps import DbDep, optional_tenant, require

router = APIRouter(prefix="/reports", tags=["crm-reports"])

DealReadAccess = Annotated[Access, require("crm.deal:read")]


def _query_error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "in": "query", "message": message}


def report_filters(
    pipeline_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    team_id: Annotated[uuid.UUID | None, Query(description="Deals whose owner is in this team")] = None,
    currency: Annotated[str | None, Query(min_length=3, max_length=3, description="ISO 4217 code")] = None,
    date_from: Annotated[dt.date | None, Query(description="First day of the period (UTC)")] = None,
    date_to: Annotated[dt.date | None, Query(description="Last day of the period (UTC, included)")] = None,
) -> ReportFilters:
    errors = []
    if currency is not None and not is_currency(currency.upper()):
        errors.append(_query_error("currency", "an ISO 4217 currency code"))
    if date_from is not None and date_to is not None and date_from > date_to:
        errors.append(_query_error("date_to", "must not be before date_from"))
    if errors:
        raise ValidationFailed(f"Invalid value for: {', '.join(e['field'] for e in errors)}", errors=errors)
    return ReportFilters(pipeline_id=pipeline_id, owner_id=owner_id, team_id=team_id,
                         currency=currency.upper() if currency else None, date_from=date_from, date_to=date_to)


Filters = Annotated[ReportFilters, Depends(report_filters)]


def _check_forecast_period(f: ReportFilters) -> None:
    start, end = reports.forecast_period(f, utcnow().date())
    if start > end:
        raise ValidationFailed("Invalid value for: date_from", errors=[
            _query_error("date_from", "must not be after the end of the period")])
    if (end.year * 12 + end.month) - (start.year * 12 + start.month) >= reports.FORECAST_MAX_MONTHS:
        raise ValidationFailed("Invalid value for: date_to", errors=[
            _query_error("date_to", f"the forecast covers at most {reports.FORECAST_MAX_MONTHS} months")])


@router.get("/pipeline-value", response_model=PipelineValueReport,
            summary="Open deals per stage of a pipeline: count, value and weighted value per currency")
async def pipeline_value(db: DbDep, access: DealReadAccess, f: Filters) -> PipelineValueReport:
    return await reports.pipeline_value(db, access, f)


@router.get("/funnel", response_model=FunnelReport,
            summary="Conversion funnel: how many deals created in the period reached each stage")
async def funnel(db: DbDep, access: DealReadAccess, f: Filters) -> FunnelReport:
    return await reports.funnel(db, access, f)


@router.get("/durations", response_model=DurationReport,
            summary="Average days from creation to won/lost and average stay per stage")
async def durations(db: DbDep, access: DealReadAccess, f: Filters) -> DurationReport:
    return await reports.durations(db, access, f)


@router.get("/win-loss", response_model=WinLossReport, summary="Won and lost deals, win rate and lost reasons")
async def win_loss(db: DbDep, access: DealReadAccess, f: Filters) -> WinLossReport:
    return await reports.win_loss(db, access, f)


@router.get("/owners", response_model=OwnersReport, summary="Won deals and revenue per owner")
async def owners(db: DbDep, access: DealReadAccess, f: Filters) -> OwnersReport:
    return await reports.owners(db, access, f)


@router.get("/forecast", response_model=ForecastReport,
            summary="Weighted forecast per month and currency with won revenue, last year's and a trend")
async def forecast(db: DbDep, access: DealReadAccess, f: Filters) -> ForecastReport:
    _check_forecast_period(f)
    return await reports.forecast(db, access, f)


# --- export ------------------------------------------------------------------------------------------


@router.get("/{report}/export", summary="A report as a CSV (streamed) or PDF file",
            response_class=Response, responses={200: {"content": {"text/csv": {}, "application/pdf": {}}}})
async def export(report: reports.ReportName, request: Request, db: DbDep, access: DealReadAccess, f: Filters,
                 format: Literal["csv", "pdf"] = "csv", lang: Literal["de", "en"] = "de") -> Response:
    if report == "forecast":
        _check_forecast_period(f)
    data = await reports.build(report, db, access, f)
    table = reports.table(report, data, lang)
    stamp = utcnow().date().isoformat()
    if format == "csv":
        return StreamingResponse(_csv_lines(table, lang), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="crm-{report}-{stamp}.csv"'})
    tenant = optional_tenant(request)
    page = _html(report, data, table, f, lang, tenant.name if tenant else "")
    pdf = await run_in_threadpool(_render_pdf, page)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="crm-{report}-{stamp}.pdf"'})


def _plain(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def _csv_lines(table: reports.Table, lang: str) -> Iterator[str]:
    labels = reports.LABELS[lang]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([labels[c] for c in table.columns])
    for index, row in enumerate(table.rows, 1):
        writer.writerow([_plain(v) for v in row])
        if index % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# --- PDF ---------------------------------------------------------------------------------------------


def _number(value: Any, lang: str) -> str:
    """German (1.234,50) or English (1,234.50) digits; text stays as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        return str(value)
    text = f"{value:,}" if isinstance(value, int) else f"{decimal.Decimal(value):,f}"
    if lang == "de":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def _date(day: dt.date, lang: str) -> str:
    return day.strftime("%d.%m.%Y") if lang == "de" else day.isoformat()


def _period(report: str, data: Any, f: ReportFilters, lang: str) -> str:
    labels = reports.LABELS[lang]
    if report == "forecast":
        return f"{_date(data.date_from, lang)} – {_date(data.date_to, lang)}"
    if f.date_from is None and f.date_to is None:
        return labels["no_period"]
    start = _date(f.date_from, lang) if f.date_from else "…"
    end = _date(f.date_to, lang) if f.date_to else "…"
    return f"{start} – {end}"


def _svg_chart(chart: list[tuple[str, float]], lang: str) -> str:
    """Horizontal bars, one per label — enough for a printed report, no JavaScript."""
    if not chart or not any(v for _, v in chart):
        return ""
    top = max(v for _, v in chart) or 1.0
    row, label_w, bar_w, value_w = 22, 150, 380, 110
    height = row * len(chart) + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + value_w}" height="{height}" '
             'font-family="DejaVu Sans, sans-serif" font-size="10">']
    for i, (label, value) in enumerate(chart):
        y = i * row + 4
        width = max(bar_w * value / top, 0)
        shown = _number(decimal.Decimal(str(round(value, 2))).normalize() if value % 1 else int(value), lang)
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{html.escape(label[:28])}</text>'
                     f'<rect x="{label_w}" y="{y + 2}" width="{width:.1f}" height="{row - 6}" fill="#6366f1"/>'
                     f'<text x="{label_w + width + 4:.1f}" y="{y + 14}">{html.escape(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _html(report: str, data: Any, table: reports.Table, f: ReportFilters, lang: str, company: str) -> str:
    labels = reports.LABELS[lang]
    pipeline = getattr(data, "pipeline", None)
    meta = [f"<dt>{labels['period']}</dt><dd>{html.escape(_period(report, data, f, lang))}</dd>"]
    if pipeline is not None:
        meta.append(f"<dt>{labels['pipeline']}</dt><dd>{html.escape(pipeline.name)}</dd>")
    if f.currency:
        meta.append(f"<dt>{labels['currency']}</dt><dd>{html.escape(f.currency)}</dd>")
    meta.append(f"<dt>{labels['created']}</dt><dd>{_date(utcnow().date(), lang)}</dd>")
    head = "".join(f"<th>{html.escape(labels[c])}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(
        f'<td class="{"num" if isinstance(v, (int, float, decimal.Decimal)) else ""}">'
        f"{html.escape(_number(v, lang))}</td>" for v in row) + "</tr>" for row in table.rows)
    if not table.rows:
        body = f'<tr><td colspan="{len(table.columns)}">{labels["no_data"]}</td></tr>'
    chart = _svg_chart(table.chart, lang)
    chart_block = f"<h2>{html.escape(table.chart_label)}</h2>{chart}" if chart else ""
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 18mm 15mm; @bottom-right {{ content: counter(page) " / " counter(pages);
  font-size: 8pt; color: #64748b; }} }}
body {{ font-family: "DejaVu Sans", sans-serif; font-size: 9pt; color: #0f172a; }}
.company {{ font-size: 10pt; color: #475569; margin: 0; }}
h1 {{ font-size: 16pt; margin: 2mm 0 4mm; }}
h2 {{ font-size: 10pt; margin: 6mm 0 2mm; color: #334155; }}
dl {{ display: grid; grid-template-columns: auto 1fr; gap: 1mm 4mm; margin: 0 0 4mm; }}
dt {{ color: #64748b; }} dd {{ margin: 0; }}
table {{ border-collapse: collapse; width: 100%; margin-top: 4mm; }}
th, td {{ border-bottom: 0.5pt solid #cbd5e1; padding: 1.5mm 2mm; text-align: left; }}
th {{ background: #f1f5f9; font-weight: bold; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
</style></head><body>
<p class="company">{html.escape(company)}</p>
<h1>{html.escape(labels[report])}</h1>
<dl>{"".join(meta)}</dl>
{chart_block}
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
</body></html>"""


def _render_pdf(page: str) -> bytes:
    from weasyprint import HTML  # imported on first use: it loads Pango

    return HTML(string=page).write_pdf()
