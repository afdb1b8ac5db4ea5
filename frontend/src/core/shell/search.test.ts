import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick, ref } from 'vue'
import { json, problem, scriptFetch } from '@/test/fetch'
import { groupHits, SEARCH_DEBOUNCE_MS, useGlobalSearch, type SearchHit } from './search'

function hit(type: string, title: string, extra: Partial<SearchHit> = {}): SearchHit {
  return {
    type,
    id: `${type}-${title}`,
    title,
    subtitle: '',
    snippet: '',
    url: `/${type}s/${title}`,
    owner_id: null,
    updated_at: '2026-11-22T00:00:00Z',
    score: 1,
    ...extra,
  }
}

const TYPES = [
  { type: 'contact', label: { de: 'Kontakte', en: 'Contacts' }, icon: 'users' },
  { type: 'task', label: { de: 'Aufgaben', en: 'Tasks' }, icon: 'check-square' },
]

function answer(items: SearchHit[]) {
  return json(200, {
    query: 'x',
    items,
    total: items.length,
    total_exact: true,
    limit: 50,
    offset: 0,
    facets: { type: [], owner: [], updated: [] },
    types: TYPES,
  })
}

async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS + 1)
  await vi.runAllTimersAsync()
  await nextTick()
}

beforeEach(() => vi.useFakeTimers())

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('groupHits', () => {
  it('groups by type in the order of the best hit and keeps the ranking inside a group', () => {
    const groups = groupHits([hit('task', 'A'), hit('contact', 'B'), hit('task', 'C'), hit('note', 'D')], TYPES)
    expect(groups.map((g) => g.type)).toEqual(['task', 'contact', 'note'])
    expect(groups[0].hits.map((h) => h.title)).toEqual(['A', 'C'])
    expect(groups[0].label).toEqual({ de: 'Aufgaben', en: 'Tasks' })
    expect(groups[2].icon).toBe('file') // a type the answer did not describe
  })
})

describe('useGlobalSearch', () => {
  it('waits until typing pauses, then asks once with the latest text', async () => {
    const { calls } = scriptFetch({ 'GET /api/search': answer([hit('contact', 'Brenner'), hit('task', 'Anruf')]) })
    const query = ref('')
    const scope = effectScope()
    const search = scope.run(() => useGlobalSearch(query, () => true))!
    query.value = 'Br'
    await nextTick()
    query.value = 'Bre'
    await nextTick()
    query.value = 'Brenn'
    await nextTick()
    expect(search.loading.value).toBe(true)
    await settle()
    expect(calls).toHaveLength(1)
    const url = new URL(calls[0].path, 'http://x')
    expect(url.searchParams.get('q')).toBe('Brenn')
    expect(url.searchParams.get('per_type')).toBe('5')
    expect(search.groups.value.map((g) => g.type)).toEqual(['contact', 'task'])
    expect(search.loading.value).toBe(false)
    scope.stop()
  })

  it('does not search for one letter or when the user may not search', async () => {
    const { calls } = scriptFetch({ 'GET /api/search': answer([hit('contact', 'X')]) })
    const query = ref('')
    const allowed = ref(false)
    const scope = effectScope()
    const search = scope.run(() => useGlobalSearch(query, () => allowed.value))!
    query.value = 'Brenner'
    await nextTick()
    await settle()
    expect(calls).toHaveLength(0)
    allowed.value = true
    query.value = 'B'
    await nextTick()
    await settle()
    expect(calls).toHaveLength(0)
    expect(search.groups.value).toEqual([])
    scope.stop()
  })

  it('drops an answer that arrives after the text changed', async () => {
    let release: (() => void) | undefined
    const { calls } = scriptFetch({
      'GET /api/search': async (request) => {
        const q = new URL(request.url).searchParams.get('q')
        if (q === 'alt') await new Promise<void>((resolve) => (release = resolve))
        return answer([hit('contact', q ?? '')])
      },
    })
    const query = ref('alt')
    const scope = effectScope()
    const search = scope.run(() => useGlobalSearch(query, () => true))!
    await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS + 1)
    expect(calls).toHaveLength(1) // "alt" is in flight
    query.value = 'neu'
    await nextTick()
    await settle()
    expect(search.groups.value[0].hits[0].title).toBe('neu')
    release?.()
    await vi.runAllTimersAsync()
    expect(search.groups.value[0].hits[0].title).toBe('neu')
    scope.stop()
  })

  it('reports a failure without throwing', async () => {
    scriptFetch({ 'GET /api/search': problem(503, 'server_unavailable') })
    const query = ref('')
    const scope = effectScope()
    const search = scope.run(() => useGlobalSearch(query, () => true))!
    query.value = 'Brenner'
    await nextTick()
    await settle()
    expect(search.failed.value).toBe(true)
    expect(search.groups.value).toEqual([])
    expect(search.loading.value).toBe(false)
    scope.stop()
  })
})
