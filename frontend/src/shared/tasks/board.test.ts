import { describe, expect, it } from 'vitest'
import {
  activeFilterCount,
  dueRange,
  dueState,
  emptyFilters,
  fullPosition,
  keyboardTarget,
  listQuery,
  matchesFilters,
  moveTask,
  toColumns,
} from './board'
import { task } from './test-fixtures'

const TODAY = new Date(2026, 10, 22) // 22 Nov 2026, local time

describe('board columns', () => {
  const a = task({ id: 'a', position: 1 })
  const b = task({ id: 'b', position: 0 })
  const c = task({ id: 'c', status: 'in_progress', position: 0 })
  const d = task({ id: 'd', status: 'done', position: 0 })

  it('groups by status and orders by position', () => {
    const cols = toColumns([a, b, c, d])
    expect(cols.open.map((t) => t.id)).toEqual(['b', 'a'])
    expect(cols.in_progress.map((t) => t.id)).toEqual(['c'])
    expect(cols.done.map((t) => t.id)).toEqual(['d'])
  })

  it('moves a card to another column, renumbering both, and says what to send', () => {
    const result = moveTask(toColumns([a, b, c, d]), 'a', 'in_progress', 0)!
    expect(result.columns.open.map((t) => [t.id, t.position])).toEqual([['b', 0]])
    expect(result.columns.in_progress.map((t) => [t.id, t.position, t.status])).toEqual([
      ['a', 0, 'in_progress'],
      ['c', 1, 'in_progress'],
    ])
    expect(result.move).toMatchObject({ status: 'in_progress', position: 0 })
    expect(result.move.task.version).toBe(1)
  })

  it('reorders within a column and clamps the position', () => {
    const result = moveTask(toColumns([a, b]), 'b', 'open', 99)!
    expect(result.columns.open.map((t) => t.id)).toEqual(['a', 'b'])
    expect(result.move.position).toBe(1)
  })

  it('does nothing for a drop on the same place or an unknown card', () => {
    expect(moveTask(toColumns([a, b]), 'b', 'open', 0)).toBeNull()
    expect(moveTask(toColumns([a, b]), 'zzz', 'done', 0)).toBeNull()
  })

  it('keyboard moves: left/right keep the row, up/down swap, edges stop', () => {
    const cols = toColumns([a, b, c, d])
    expect(keyboardTarget(cols, 'a', 'ArrowRight')).toEqual({ status: 'in_progress', position: 1 })
    expect(keyboardTarget(cols, 'a', 'ArrowLeft')).toBeNull()
    expect(keyboardTarget(cols, 'a', 'ArrowUp')).toEqual({ status: 'open', position: 0 })
    expect(keyboardTarget(cols, 'a', 'ArrowDown')).toBeNull()
    expect(keyboardTarget(cols, 'd', 'ArrowRight')).toBeNull()
    expect(keyboardTarget(cols, 'd', 'ArrowLeft')).toEqual({ status: 'in_progress', position: 0 })
  })

  it('turns a drop among filtered cards into a position in the whole column', () => {
    const column = ['p', 'q', 'r', 's'].map((id, position) => task({ id, position }))
    const shown = [column[1], column[3]] // q and s pass the filter
    expect(fullPosition(column, shown, 0, 'x')).toBe(1) // before q
    expect(fullPosition(column, shown, 1, 'x')).toBe(3) // before s
    expect(fullPosition(column, shown, 2, 'x')).toBe(4) // after s
    expect(fullPosition(column, [], 0, 'x')).toBe(4)
    // the moving card itself does not count
    expect(fullPosition(column, shown, 0, 'q')).toBe(2)
  })
})

describe('filters', () => {
  it('builds the list query, leaving out what is not set', () => {
    expect(listQuery(emptyFilters(), TODAY)).toEqual({
      status: undefined,
      priority: undefined,
      assignee: undefined,
      linked_contact_id: undefined,
      q: undefined,
    })
    const query = listQuery({ ...emptyFilters(), status: 'open', assignee: 'me', due: 'week', q: '  call ' }, TODAY)
    expect(query).toMatchObject({ status: 'open', assignee: 'me', q: 'call', due_after: '2026-11-22', due_before: '2026-11-29' })
  })

  it('filters by a tag on the server and in the browser', () => {
    expect(listQuery({ ...emptyFilters(), tag: 'tag-vip' }, TODAY)).toMatchObject({ tag: 'tag-vip' })
    expect(listQuery(emptyFilters(), TODAY).tag).toBeUndefined()
    const vip = { id: 'tag-vip', name: 'VIP', color: '#eab308' }
    const tagged = task({ tags: [vip] })
    const plain = task()
    const f = { ...emptyFilters(), tag: 'tag-vip' }
    expect(matchesFilters(tagged, f, null, TODAY)).toBe(true)
    expect(matchesFilters(plain, f, null, TODAY)).toBe(false)
    expect(matchesFilters(plain, emptyFilters(), null, TODAY)).toBe(true)
    expect(activeFilterCount(f)).toBe(1)
  })

  it('due ranges are whole local days', () => {
    expect(dueRange('overdue', TODAY)).toEqual({ due_before: '2026-11-21' })
    expect(dueRange('today', TODAY)).toEqual({ due_after: '2026-11-22', due_before: '2026-11-22' })
    expect(dueRange('', TODAY)).toEqual({})
  })

  it('applies the same filters in the browser (for the board)', () => {
    const f = { ...emptyFilters() }
    const mine = task({ assigned_to: 'me-id', priority: 'high', due_date: '2026-11-20', title: 'Call Anna' })
    expect(matchesFilters(mine, f, 'me-id', TODAY)).toBe(true)
    expect(matchesFilters(mine, { ...f, assignee: 'me' }, 'me-id', TODAY)).toBe(true)
    expect(matchesFilters(mine, { ...f, assignee: 'none' }, 'me-id', TODAY)).toBe(false)
    expect(matchesFilters(mine, { ...f, priority: 'low' }, 'me-id', TODAY)).toBe(false)
    expect(matchesFilters(mine, { ...f, due: 'overdue' }, 'me-id', TODAY)).toBe(true)
    expect(matchesFilters(mine, { ...f, due: 'today' }, 'me-id', TODAY)).toBe(false)
    expect(matchesFilters(mine, { ...f, q: 'anna' }, 'me-id', TODAY)).toBe(true)
    expect(matchesFilters(mine, { ...f, contactId: 'c1' }, 'me-id', TODAY)).toBe(false)
    expect(activeFilterCount({ ...f, q: 'x', due: 'today' })).toBe(2)
  })

  it('says how urgent a due date is (done tasks are never late)', () => {
    expect(dueState({ due_date: '2026-11-21', status: 'open' }, TODAY)).toBe('overdue')
    expect(dueState({ due_date: '2026-11-22', status: 'open' }, TODAY)).toBe('today')
    expect(dueState({ due_date: '2026-11-24', status: 'in_progress' }, TODAY)).toBe('soon')
    expect(dueState({ due_date: '2026-12-24', status: 'open' }, TODAY)).toBe('later')
    expect(dueState({ due_date: '2026-11-01', status: 'done' }, TODAY)).toBeNull()
    expect(dueState({ due_date: null, status: 'open' }, TODAY)).toBeNull()
  })
})
