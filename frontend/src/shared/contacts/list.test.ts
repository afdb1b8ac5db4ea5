import { describe, expect, it, vi } from 'vitest'
import { activeFilterCount, contactQuery, emptyFilters, filtersToGrammar, nextSort, sortState, useKeysetList } from './list'
import type { FieldDef } from './api'

type Row = { id: string; name: string }

function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

const FIELDS: FieldDef[] = [
  { id: 'f1', entity: 'contact', key: 'branche', label: 'Branche', type: 'select', options: ['IT'], required: false, position: 0, created_at: '' },
  { id: 'f2', entity: 'contact', key: 'vip', label: 'VIP', type: 'checkbox', options: [], required: false, position: 1, created_at: '' },
]

describe('contact query', () => {
  it('sends only the filters that are set, custom fields as cf.<key>', () => {
    const filters = { ...emptyFilters(), q: '  Becker ', type: 'person' as const, cf: { branche: 'IT', leer: '' } }
    expect(contactQuery(filters, '-created_at', 100)).toEqual({ sort: '-created_at', limit: 100, q: 'Becker', type: 'person', 'cf.branche': 'IT' })
    expect(activeFilterCount(filters)).toBe(3)
    expect(activeFilterCount(emptyFilters())).toBe(0)
  })

  it('flips the sort direction on the same column and starts ascending on another', () => {
    expect(nextSort('name', 'name')).toBe('-name')
    expect(nextSort('-name', 'name')).toBe('name')
    expect(nextSort('-name', 'created_at')).toBe('created_at')
    expect(sortState('-created_at', 'created_at')).toBe('descending')
    expect(sortState('-created_at', 'name')).toBe('none')
    expect(sortState('cf.branche', 'cf.branche')).toBe('ascending')
  })

  it('turns list filters into the segment grammar for counting, but not free text', () => {
    const filters = { ...emptyFilters(), type: 'organization' as const, tag: 't1', cf: { vip: 'true', branche: 'IT' } }
    expect(filtersToGrammar(filters, FIELDS)).toEqual({
      op: 'and',
      conditions: [
        { field: 'type', operator: 'eq', value: 'organization' },
        { field: 'tag', operator: 'has', value: 't1' },
        { field: 'cf.vip', operator: 'eq', value: true },
        { field: 'cf.branche', operator: 'eq', value: 'IT' },
      ],
    })
    expect(filtersToGrammar({ ...emptyFilters(), q: 'x' }, FIELDS)).toBeNull()
    const segment = { op: 'or', conditions: [] }
    expect(filtersToGrammar({ ...emptyFilters(), segment: 's1' }, FIELDS, segment)).toEqual({ op: 'and', conditions: [segment] })
    expect(filtersToGrammar({ ...emptyFilters(), segment: 's1' }, FIELDS)).toBeNull()
  })
})

describe('useKeysetList', () => {
  it('pages with the cursor the server gave and stops without one', async () => {
    const fetchPage = vi.fn(async (cursor: string | null) =>
      cursor === null ? { items: [{ id: '1', name: 'a' }, { id: '2', name: 'b' }], next_cursor: 'c2' } : { items: [{ id: '2', name: 'b' }, { id: '3', name: 'c' }], next_cursor: null },
    )
    const list = useKeysetList<Row>(() => fetchPage)
    await list.reset()
    expect(list.items.value.map((r) => r.id)).toEqual(['1', '2'])
    expect(list.hasMore.value).toBe(true)
    await list.loadMore()
    expect(fetchPage).toHaveBeenLastCalledWith('c2')
    // A row that moved between pages is not shown twice.
    expect(list.items.value.map((r) => r.id)).toEqual(['1', '2', '3'])
    expect(list.hasMore.value).toBe(false)
    await list.loadMore()
    expect(fetchPage).toHaveBeenCalledTimes(2)
  })

  it('ignores the answer to an outdated query', async () => {
    const slow = deferred<{ items: Row[]; next_cursor: string | null }>()
    let query = 'old'
    const list = useKeysetList<Row>(() => {
      const q = query
      return (_cursor) => (q === 'old' ? slow.promise : Promise.resolve({ items: [{ id: 'new', name: 'n' }], next_cursor: null }))
    })
    const first = list.reset()
    query = 'new'
    await list.reset()
    slow.resolve({ items: [{ id: 'old', name: 'o' }], next_cursor: 'x' })
    await first
    expect(list.items.value.map((r) => r.id)).toEqual(['new'])
    expect(list.hasMore.value).toBe(false)
    expect(list.loading.value).toBe(false)
  })

  it('can page again after a new query interrupted a next-page request', async () => {
    const slow = deferred<{ items: Row[]; next_cursor: string | null }>()
    const fetchPage = vi.fn(async (cursor: string | null) => {
      if (cursor === 'c2' && fetchPage.mock.calls.length === 2) return slow.promise
      return { items: [{ id: cursor ?? 'first', name: '' }], next_cursor: cursor === null ? 'c2' : null }
    })
    const list = useKeysetList<Row>(() => fetchPage)
    await list.reset()
    const pending = list.loadMore()
    await list.reset()
    slow.resolve({ items: [{ id: 'stale', name: '' }], next_cursor: null })
    await pending
    expect(list.loadingMore.value).toBe(false)
    await list.loadMore()
    expect(list.items.value.map((r) => r.id)).toEqual(['first', 'c2'])
  })

  it('keeps the error of a failed load and takes live updates in place', async () => {
    const list = useKeysetList<Row>(() => async () => ({ items: [{ id: '1', name: 'a' }, { id: '2', name: 'b' }], next_cursor: null }))
    await list.reset()
    expect(list.replace({ id: '2', name: 'B' })).toBe(true)
    expect(list.items.value[1].name).toBe('B')
    expect(list.replace({ id: '9', name: 'x' })).toBe(false)
    expect(list.remove('1')).toBe(true)
    expect(list.items.value.map((r) => r.id)).toEqual(['2'])

    const failing = useKeysetList<Row>(() => async () => {
      throw new TypeError('Failed to fetch')
    })
    await failing.reset()
    expect(failing.error.value?.code).toBe('network_error')
    expect(failing.items.value).toEqual([])
  })
})
