/** Display helpers of the sales screens. */
import { formatMoney } from '@/core/lib/format'
import type { Amount } from './money'

export function money(value: string | number, currency: string): string {
  return formatMoney(value, currency)
}

/** "12.000,00 € · 5.000,00 CHF" — one amount per currency, never added up. */
export function sumsText(sums: Amount[]): string {
  return sums.map((s) => formatMoney(s.value, s.currency)).join(' · ')
}

export function leadName(lead: { first_name?: string | null; last_name?: string | null; company_name?: string | null; email?: string | null }): string {
  const name = [lead.first_name, lead.last_name].filter(Boolean).join(' ')
  return name || lead.company_name || lead.email || '—'
}

export function statusTone(status: string): 'neutral' | 'accent' | 'success' | 'warning' | 'danger' {
  if (status === 'won' || status === 'converted' || status === 'qualified') return 'success'
  if (status === 'lost' || status === 'disqualified') return 'danger'
  if (status === 'new') return 'accent'
  return 'neutral'
}

/** Seconds → "3 d 4 h" / "5 h" / "12 min". */
export function duration(seconds: number, units: { d: string; h: string; min: string }): string {
  const d = Math.floor(seconds / 86400)
  const h = Math.floor((seconds % 86400) / 3600)
  if (d) return h ? `${d} ${units.d} ${h} ${units.h}` : `${d} ${units.d}`
  if (h) return `${h} ${units.h}`
  return `${Math.max(1, Math.floor(seconds / 60))} ${units.min}`
}

/** A decimal string without trailing zeros ("2.0000" → "2", "12.50" → "12.5") for editing quantities. */
export function plain(value: string | number): string {
  const text = String(value)
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text
}
