/**
 * The sales reports (`/api/crm/reports/…`) through the generated client, their filters and the
 * file exports (CSV/PDF fetched with the login and handed to the browser as a download).
 */
import { api, sessionFetch, unwrap } from '@/core/api/client'
import { errorFromResponse } from '@/core/api/errors'
import type { components } from '@/core/api/schema'

type S = components['schemas']
export type PipelineValueReport = S['PipelineValueReport']
export type FunnelReport = S['FunnelReport']
export type DurationReport = S['DurationReport']
export type WinLossReport = S['WinLossReport']
export type OwnersReport = S['OwnersReport']
export type ForecastReport = S['ForecastReport']
export type CurrencySum = S['CurrencySum']

export type ReportName = 'pipeline-value' | 'funnel' | 'durations' | 'win-loss' | 'owners' | 'forecast'
export type Period = 'month' | 'quarter' | 'year' | 'last12' | 'all'
export const PERIODS: Period[] = ['month', 'quarter', 'year', 'last12', 'all']

export interface ReportFilters {
  pipeline_id?: string
  currency?: string
  date_from?: string
  date_to?: string
}

function iso(date: Date): string {
  const y = date.getFullYear()
  const m = String(date.getMonth() + 1).padStart(2, '0')
  const d = String(date.getDate()).padStart(2, '0')
  return `${y}-${m}-${d}`
}

/** The calendar range of a period choice (local days, `date_to` included); `all` has none. */
export function periodRange(period: Period, today: Date = new Date()): { date_from?: string; date_to?: string } {
  const y = today.getFullYear()
  const m = today.getMonth()
  switch (period) {
    case 'month':
      return { date_from: iso(new Date(y, m, 1)), date_to: iso(new Date(y, m + 1, 0)) }
    case 'quarter': {
      const first = m - (m % 3)
      return { date_from: iso(new Date(y, first, 1)), date_to: iso(new Date(y, first + 3, 0)) }
    }
    case 'year':
      return { date_from: iso(new Date(y, 0, 1)), date_to: iso(new Date(y, 11, 31)) }
    case 'last12':
      return { date_from: iso(new Date(y, m - 11, 1)), date_to: iso(new Date(y, m + 1, 0)) }
    default:
      return {}
  }
}

function clean(filters: ReportFilters): ReportFilters {
  const out: ReportFilters = {}
  for (const [key, value] of Object.entries(filters) as [keyof ReportFilters, string | undefined][]) if (value) out[key] = value
  return out
}

export const reportsApi = {
  pipelineValue: (f: ReportFilters) => unwrap(api.GET('/api/crm/reports/pipeline-value', { params: { query: clean(f) } })),
  funnel: (f: ReportFilters) => unwrap(api.GET('/api/crm/reports/funnel', { params: { query: clean(f) } })),
  durations: (f: ReportFilters) => unwrap(api.GET('/api/crm/reports/durations', { params: { query: clean(f) } })),
  winLoss: (f: ReportFilters) => unwrap(api.GET('/api/crm/reports/win-loss', { params: { query: clean(f) } })),
  owners: (f: ReportFilters) => unwrap(api.GET('/api/crm/reports/owners', { params: { query: clean(f) } })),
  /** The forecast keeps its own default window (five months back, six ahead) unless a period is chosen. */
  forecast: (f: ReportFilters) => unwrap(api.GET('/api/crm/reports/forecast', { params: { query: clean(f) } })),
}

export function exportUrl(report: ReportName, format: 'csv' | 'pdf', filters: ReportFilters, lang: string): string {
  const params = new URLSearchParams({ ...clean(filters), format, lang: lang === 'en' ? 'en' : 'de' } as Record<string, string>)
  return `/api/crm/reports/${report}/export?${params.toString()}`
}

function fileNameOf(response: Response, fallback: string): string {
  const match = /filename="?([^";]+)"?/i.exec(response.headers.get('content-disposition') ?? '')
  return match?.[1] || fallback
}

/** Fetch an export with the access token and save it; resolves to the file name. */
export async function downloadReport(path: string, fallback: string): Promise<string> {
  const response = await sessionFetch(new Request(new URL(path, location.origin)))
  if (!response.ok) throw await errorFromResponse(response)
  const name = fileNameOf(response, fallback)
  const url = URL.createObjectURL(await response.blob())
  const link = document.createElement('a')
  link.href = url
  link.download = name
  link.rel = 'noopener'
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return name
}

/** Amounts of one currency from a per-currency list (0 when the currency is absent). */
export function amountIn(sums: CurrencySum[], currency: string): number {
  const found = sums.find((s) => s.currency === currency)
  return found ? Number(found.value) : 0
}

/** The currencies of several per-currency lists, the one with the largest amount first. */
export function currenciesOf(...groups: CurrencySum[][]): string[] {
  const totals = new Map<string, number>()
  for (const group of groups) for (const s of group) totals.set(s.currency, (totals.get(s.currency) ?? 0) + Number(s.value))
  return [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([c]) => c)
}
