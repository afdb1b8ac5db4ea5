import { describe, expect, it, vi } from 'vitest'

vi.mock('@/core/ui/toast', () => ({ toast: vi.fn() }))

import { usePagedList } from './pagedList'

type Row = { id: string }

describe('usePagedList', () => {
  it('appends the next page without repeating rows already shown', async () => {
    const pages: Record<string, { items: Row[]; next_cursor: string | null }> = {
      first: { items: [{ id: 'a' }, { id: 'b' }], next_cursor: 'c1' },
      c1: { items: [{ id: 'b' }, { id: 'c' }], next_cursor: null },
    }
    const list = usePagedList<Row>(async (cursor) => pages[cursor ?? 'first'])
    await list.load()
    expect(list.items.value.map((r) => r.id)).toEqual(['a', 'b'])
    expect(list.cursor.value).toBe('c1')
    await list.load(true)
    expect(list.items.value.map((r) => r.id)).toEqual(['a', 'b', 'c'])
    expect(list.cursor.value).toBeNull()
    expect(list.loading.value).toBe(false)
  })

  it('keeps only the newest answer when filters change quickly', async () => {
    let release: (page: { items: Row[] }) => void = () => {}
    const slow = new Promise<{ items: Row[] }>((resolve) => (release = resolve))
    const answers = [slow, Promise.resolve({ items: [{ id: 'new' }] })]
    const list = usePagedList<Row>(() => answers.shift()!)
    const first = list.load()
    await list.load()
    release({ items: [{ id: 'stale' }] })
    await first
    expect(list.items.value.map((r) => r.id)).toEqual(['new'])
  })

  it('shows a failed first page as an error and keeps rows on a failed "more"', async () => {
    const fail = vi.fn().mockRejectedValue(new Error('boom'))
    const list = usePagedList<Row>(fail)
    await list.load()
    expect(list.loadError.value).toBeTruthy()
    const more = usePagedList<Row>(vi.fn().mockResolvedValueOnce({ items: [{ id: 'a' }], next_cursor: 'x' }).mockRejectedValueOnce(new Error('boom')))
    await more.load()
    await more.load(true)
    expect(more.items.value.map((r) => r.id)).toEqual(['a'])
    expect(more.loadError.value).toBeNull()
  })
})
