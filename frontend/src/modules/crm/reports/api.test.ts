import { describe, expect, it } from 'vitest'
import { amountIn, currenciesOf, exportUrl, periodRange } from './api'

describe('periodRange', () => {
  const today = new Date(2026, 10, 22) // 22 November 2026
  it('gives calendar ranges with the last day included', () => {
    expect(periodRange('month', today)).toEqual({ date_from: '2026-11-01', date_to: '2026-11-30' })
    expect(periodRange('quarter', today)).toEqual({ date_from: '2026-10-01', date_to: '2026-12-31' })
    expect(periodRange('year', today)).toEqual({ date_from: '2026-01-01', date_to: '2026-12-31' })
    expect(periodRange('last12', today)).toEqual({ date_from: '2025-12-01', date_to: '2026-11-30' })
    expect(periodRange('all', today)).toEqual({})
  })
  it('handles February and quarter starts', () => {
    expect(periodRange('month', new Date(2028, 1, 10))).toEqual({ date_from: '2028-02-01', date_to: '2028-02-29' })
    expect(periodRange('quarter', new Date(2026, 0, 1))).toEqual({ date_from: '2026-01-01', date_to: '2026-03-31' })
  })
})

describe('amounts per currency', () => {
  const sums = [
    { currency: 'CHF', value: '3000.00' },
    { currency: 'EUR', value: '12500.50' },
  ]
  it('never adds currencies up', () => {
    expect(amountIn(sums, 'EUR')).toBe(12500.5)
    expect(amountIn(sums, 'GBP')).toBe(0)
    expect(currenciesOf(sums, [{ currency: 'GBP', value: '10.00' }])).toEqual(['EUR', 'CHF', 'GBP'])
  })
})

describe('exportUrl', () => {
  it('carries the filters, the format and the language, and drops empty filters', () => {
    expect(exportUrl('win-loss', 'pdf', { pipeline_id: 'p1', currency: '', date_from: '2026-01-01' }, 'en')).toBe(
      '/api/crm/reports/win-loss/export?pipeline_id=p1&date_from=2026-01-01&format=pdf&lang=en',
    )
    expect(exportUrl('funnel', 'csv', {}, 'fr')).toBe('/api/crm/reports/funnel/export?format=csv&lang=de')
  })
})
