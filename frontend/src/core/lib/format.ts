import { currentLocale } from '@/core/i18n'

const intlLocale = () => (currentLocale() === 'de' ? 'de-DE' : 'en-GB')

export function formatMoney(value: string | number, currency = 'EUR'): string {
  const amount = typeof value === 'string' ? Number(value) : value
  if (!Number.isFinite(amount)) return String(value)
  return new Intl.NumberFormat(intlLocale(), { style: 'currency', currency }).format(amount)
}

export function formatDateTime(value: string | null | undefined): string {
  if (!value) return '—'
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) return value
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium', timeStyle: 'short' }).format(date)
}

export function formatDate(value: string | null | undefined): string {
  if (!value) return '—'
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) return value
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium' }).format(date)
}

export function formatNumber(value: number): string {
  return new Intl.NumberFormat(intlLocale()).format(value)
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean)
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] ?? '?').slice(0, 2)
  return letters.toUpperCase()
}
