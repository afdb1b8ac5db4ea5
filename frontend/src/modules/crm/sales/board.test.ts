import { describe, expect, it } from 'vitest'
import type { Board, Deal, Stage } from './api'
import { applyDealEvent, applyMove, insertDeal, keyboardStep, moveRequest, removeDeal, toColumns, upsertDeal, type Column } from './board'
import { addToSums, sumByCurrency, toCents, weightedValue } from './money'

const P = 'pipe-1'
function stage(id: string, probability: number, position: number): Stage {
  return { id, pipeline_id: P, name: id.toUpperCase(), color: '#64748b', probability, rotting_days: null, position }
}
function deal(id: string, stageId: string, position: number, value: string, currency = 'EUR', extra: Partial<Deal> = {}): Deal {
  return {
    id, title: `Deal ${id}`, pipeline_id: P, stage_id: stageId, contact_id: null, organization_id: null, owner_id: null,
    value, currency, expected_close_date: null, probability: stageId === 's1' ? 10 : 50, probability_override: null,
    status: 'open', lost_reason: null, won_at: null, lost_at: null, source: null, custom_fields: {}, position,
    stage_entered_at: '2026-01-01T00:00:00Z', rotting: false, tags: [], version: 1, created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z', ...extra,
  } as Deal
}
function board(): Column[] {
  const s1 = stage('s1', 10, 0)
  const s2 = stage('s2', 50, 1)
  const b = {
    pipeline: { id: P, name: 'Main', is_default: true, position: 1, version: 1, created_at: '', stages: [s1, s2] },
    columns: [
      { stage: s1, count: 2, sums: [{ currency: 'EUR', value: '300.10' }], weighted: [{ currency: 'EUR', value: '30.01' }],
        deals: [deal('a', 's1', 1024, '100.05'), deal('b', 's1', 2048, '200.05')], next_cursor: null },
      { stage: s2, count: 2, sums: [{ currency: 'CHF', value: '50.00' }, { currency: 'EUR', value: '10.00' }],
        weighted: [{ currency: 'CHF', value: '25.00' }, { currency: 'EUR', value: '5.00' }],
        deals: [deal('c', 's2', 1024, '10.00'), deal('d', 's2', 2048, '50.00', 'CHF')], next_cursor: null },
    ],
  } as unknown as Board
  return toColumns(b)
}

describe('money', () => {
  it('adds exactly in cents, per currency, never across currencies', () => {
    expect(toCents('0.1') + toCents('0.2')).toBe(30n)
    const sums = sumByCurrency([
      { currency: 'EUR', value: '0.10' }, { currency: 'CHF', value: '5' }, { currency: 'EUR', value: '0.20' },
    ])
    expect(sums).toEqual([{ currency: 'CHF', value: '5.00' }, { currency: 'EUR', value: '0.30' }])
    expect(addToSums(sums, 'CHF', '5.00', -1)).toEqual([{ currency: 'EUR', value: '0.30' }])
  })
  it('weights half-up to cents', () => {
    expect(weightedValue('100.05', 10)).toBe('10.01')
    expect(weightedValue('33.33', 50)).toBe('16.67')
  })
})

describe('board state', () => {
  it('moving a card to another stage moves count and sums of its currency only', () => {
    const after = applyMove(board(), 'a', 's2', 1)
    expect(after[0].deals.map((d) => d.id)).toEqual(['b'])
    expect(after[0].count).toBe(1)
    expect(after[0].sums).toEqual([{ currency: 'EUR', value: '200.05' }])
    expect(after[1].deals.map((d) => d.id)).toEqual(['c', 'a', 'd'])
    expect(after[1].count).toBe(3)
    expect(after[1].sums).toEqual([{ currency: 'CHF', value: '50.00' }, { currency: 'EUR', value: '110.05' }])
    // the stage's probability applies (no override), the card sits between its neighbours
    const moved = after[1].deals[1]
    expect(moved.probability).toBe(50)
    expect(moved.position).toBeGreaterThan(1024)
    expect(moved.position).toBeLessThan(2048)
  })

  it('reordering within a stage keeps totals and changes order', () => {
    const after = applyMove(board(), 'b', 's1', 0)
    expect(after[0].deals.map((d) => d.id)).toEqual(['b', 'a'])
    expect(after[0].count).toBe(2)
    expect(after[0].sums).toEqual([{ currency: 'EUR', value: '300.10' }])
  })

  it('asks the API for the neighbour the card lands next to', () => {
    const cols = board()
    const a = cols[0].deals[0]
    expect(moveRequest(cols, a, 's2', 0)).toEqual({ stage_id: 's2', version: 1, before_id: 'c' })
    expect(moveRequest(cols, a, 's2', 2)).toEqual({ stage_id: 's2', version: 1, after_id: 'd' })
    expect(moveRequest(cols, a, 's1', 1)).toEqual({ stage_id: 's1', version: 1, after_id: 'b' })
    const empty = cols.map((c) => (c.stage.id === 's2' ? { ...c, deals: [] } : c))
    expect(moveRequest(empty, a, 's2', 0)).toEqual({ stage_id: 's2', version: 1 })
  })

  it('inserts by position and only counts cards beyond a column with more pages', () => {
    let cols = insertDeal(board(), deal('e', 's1', 1500, '1.00'))
    expect(cols[0].deals.map((d) => d.id)).toEqual(['a', 'e', 'b'])
    cols = cols.map((c, i) => (i === 0 ? { ...c, nextCursor: 'more' } : c))
    cols = insertDeal(cols, deal('f', 's1', 9999, '2.00', 'GBP'))
    expect(cols[0].deals.map((d) => d.id)).toEqual(['a', 'e', 'b'])
    expect(cols[0].count).toBe(4)
    expect(cols[0].sums).toEqual([{ currency: 'EUR', value: '301.10' }, { currency: 'GBP', value: '2.00' }])
    expect(insertDeal(cols, deal('g', 's1', 1, '1.00', 'EUR', { status: 'won' }))).toBe(cols)
  })

  it('removes and upserts with the totals kept right', () => {
    const cols = removeDeal(board(), 'd')
    expect(cols[1].sums).toEqual([{ currency: 'EUR', value: '10.00' }])
    const changed = upsertDeal(cols, deal('c', 's2', 1024, '15.50', 'EUR', { version: 2 }))
    expect(changed[1].sums).toEqual([{ currency: 'EUR', value: '15.50' }])
    expect(changed[1].count).toBe(1)
  })
})

describe('live events', () => {
  it('applies another session\'s stage change from the payload', () => {
    const out = applyDealEvent(board(), P, 'deal.stage_changed', { id: 'a', pipeline_id: P, stage_id: 's2', position: 4096, version: 2 }, '2026-02-01T00:00:00Z')
    expect(out.kind).toBe('apply')
    if (out.kind !== 'apply') return
    expect(out.columns[1].deals.map((d) => d.id)).toEqual(['c', 'd', 'a'])
    expect(out.columns[1].deals[2].version).toBe(2)
    expect(out.columns[0].count).toBe(1)
  })
  it('ignores the echo of a change the board already has', () => {
    expect(applyDealEvent(board(), P, 'deal.reordered', { id: 'a', pipeline_id: P, stage_id: 's1', position: 1, version: 1 }, '').kind).toBe('ignore')
  })
  it('removes won, lost and deleted cards; fetches new or changed ones', () => {
    const won = applyDealEvent(board(), P, 'deal.won', { id: 'c', pipeline_id: P, version: 2 }, '')
    expect(won.kind === 'apply' && won.columns[1].deals.map((d) => d.id)).toEqual(['d'])
    expect(applyDealEvent(board(), P, 'deal.created', { id: 'new', pipeline_id: P, version: 1 }, '')).toEqual({ kind: 'fetch', dealId: 'new' })
    expect(applyDealEvent(board(), P, 'deal.updated', { id: 'a', pipeline_id: P, version: 2 }, '')).toEqual({ kind: 'fetch', dealId: 'a' })
    expect(applyDealEvent(board(), P, 'deal.created', { id: 'x', pipeline_id: 'other', version: 1 }, '').kind).toBe('ignore')
  })
  it('reloads when an unloaded card of a paged column changes stage', () => {
    const cols = board().map((c, i) => (i === 0 ? { ...c, nextCursor: 'more' } : c))
    expect(applyDealEvent(cols, P, 'deal.stage_changed', { id: 'z', pipeline_id: P, stage_id: 's2', position: 1, version: 3 }, '').kind).toBe('reload')
    expect(applyDealEvent(board(), P, 'deal.lost', { id: 'z', pipeline_id: P, version: 3 }, '').kind).toBe('ignore')
  })
})

describe('keyboard', () => {
  it('steps between columns and within a column', () => {
    const cols = board()
    expect(keyboardStep(cols, 'a', { stageId: 's1', index: 0 }, 'ArrowRight')).toEqual({ stageId: 's2', index: 0 })
    expect(keyboardStep(cols, 'a', { stageId: 's1', index: 0 }, 'ArrowLeft')).toBeNull()
    expect(keyboardStep(cols, 'a', { stageId: 's1', index: 0 }, 'ArrowDown')).toEqual({ stageId: 's1', index: 1 })
  })

  it('reaches the won / lost drop zones below the last place and comes back up', () => {
    const cols = board()
    const won = keyboardStep(cols, 'a', { stageId: 's1', index: 1 }, 'ArrowDown')
    expect(won).toEqual({ stageId: 's1', index: 1, outcome: 'won' })
    const lost = keyboardStep(cols, 'a', won!, 'ArrowRight')
    expect(lost).toEqual({ stageId: 's1', index: 1, outcome: 'lost' })
    expect(keyboardStep(cols, 'a', lost!, 'ArrowRight')).toBeNull()
    expect(keyboardStep(cols, 'a', lost!, 'ArrowDown')).toBeNull()
    expect(keyboardStep(cols, 'a', lost!, 'ArrowLeft')).toEqual({ stageId: 's1', index: 1, outcome: 'won' })
    expect(keyboardStep(cols, 'a', won!, 'ArrowUp')).toEqual({ stageId: 's1', index: 1 })
  })

  it('takes a won or lost deal off the board with its column totals, and ignores the echo of that event', () => {
    const cols = removeDeal(board(), 'a')
    expect(cols[0].deals.map((d) => d.id)).toEqual(['b'])
    expect(cols[0].count).toBe(1)
    expect(cols[0].sums).toEqual([{ currency: 'EUR', value: '200.05' }])
    expect(applyDealEvent(cols, P, 'deal.won', { id: 'a', pipeline_id: P, status: 'won', version: 2 }, '').kind).toBe('ignore')
  })
})

describe('owner filter', () => {
  it('drops cards of other owners and ignores their events', () => {
    const cols = board()
    const mine = applyDealEvent(cols, P, 'deal.updated', { id: 'a', pipeline_id: P, owner_id: 'other', version: 2 }, '', 'me')
    expect(mine.kind === 'apply' && mine.columns[0].deals.map((d) => d.id)).toEqual(['b'])
    expect(applyDealEvent(cols, P, 'deal.created', { id: 'n', pipeline_id: P, owner_id: 'other', version: 1 }, '', 'me').kind).toBe('ignore')
    expect(applyDealEvent(cols, P, 'deal.created', { id: 'n', pipeline_id: P, owner_id: 'me', version: 1 }, '', 'me')).toEqual({ kind: 'fetch', dealId: 'n' })
  })
})
