import { describe, expect, it } from 'vitest'
import { arrange, moveTo, normalizeLayout } from './layout'
import { countActivity, lastDays } from './charts/activity'
import { linkify } from '@/core/lib/linkify'

describe('dashboard layout', () => {
  it('reads whatever was stored into a clean layout', () => {
    expect(normalizeLayout(null)).toEqual({ order: [], hidden: [], sizes: {} })
    expect(normalizeLayout({ order: ['a', 3], hidden: 'x', sizes: { a: 2, b: 5 } })).toEqual({ order: ['a'], hidden: [], sizes: { a: 2 } })
  })

  it('arranges by the saved order, new widgets last', () => {
    expect(arrange(['a', 'b', 'c'], { order: ['c', 'a'], hidden: [], sizes: {} })).toEqual(['c', 'a', 'b'])
  })

  it('moves a widget to a position and keeps hidden ones after the visible', () => {
    const layout = { order: ['a', 'x', 'b', 'c'], hidden: ['x'], sizes: {} }
    expect(moveTo(layout, ['a', 'b', 'c'], 'c', 0)).toEqual(['c', 'a', 'b', 'x'])
    expect(moveTo(layout, ['a', 'b', 'c'], 'a', 9)).toEqual(['b', 'c', 'a', 'x'])
    expect(moveTo(layout, ['a', 'b', 'c'], 'a', 0)).toBeNull()
  })
})

describe('activity chart data', () => {
  it('counts audit entries per local day and area', () => {
    const days = lastDays(3, new Date(2026, 0, 10, 12))
    expect(days).toEqual(['2026-01-08', '2026-01-09', '2026-01-10'])
    const at = (d: number, h = 10) => new Date(2026, 0, d, h).toISOString()
    const result = countActivity(
      [
        { created_at: at(10), action: 'auth.login' },
        { created_at: at(10), action: 'auth.login' },
        { created_at: at(9), action: 'user.create' },
        { created_at: at(8), action: 'crm.deal.create' },
        { created_at: at(1), action: 'auth.login' },
      ],
      days,
    )
    expect(result.total).toBe(4)
    expect(result.series).toEqual([
      { key: 'auth', values: [0, 0, 2] },
      { key: 'user', values: [0, 1, 0] },
      { key: 'other', values: [1, 0, 0] },
    ])
  })
})

describe('linkify', () => {
  it('finds http links and leaves trailing punctuation out', () => {
    expect(linkify('Open http://demo.localhost/reset-password#token=abc. Thanks')).toEqual([
      { text: 'Open ' },
      { text: 'http://demo.localhost/reset-password#token=abc', href: 'http://demo.localhost/reset-password#token=abc' },
      { text: '. Thanks' },
    ])
    expect(linkify('javascript:alert(1)')).toEqual([{ text: 'javascript:alert(1)' }])
  })
})
