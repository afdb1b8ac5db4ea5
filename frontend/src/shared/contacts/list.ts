/**
 * The contact list's data: filters → query, and a keyset-paged list that only ever asks for the
 * next page (`cursor` / `next_cursor`), drops answers to outdated queries and takes live updates.
 */
import { computed, ref, shallowRef } from 'vue'
import { asApiError, type ApiError } from '@/core/api/errors'
import type { FieldDef, Page } from './api'

export interface ContactFilters {
  q: string
  type: '' | 'person' | 'organization'
  tag: string
  owner_id: string
  segment: string
  /** cf.<key> → value */
  cf: Record<string, string>
}

export function emptyFilters(): ContactFilters {
  return { q: '', type: '', tag: '', owner_id: '', segment: '', cf: {} }
}

/** Number of filters set (for the "Filter (2)" button). */
export function activeFilterCount(filters: ContactFilters): number {
  let n = 0
  if (filters.q.trim()) n++
  if (filters.type) n++
  if (filters.tag) n++
  if (filters.owner_id) n++
  if (filters.segment) n++
  n += Object.values(filters.cf).filter((v) => v !== '').length
  return n
}

/** The query string of GET /api/contacts for these filters, sort and page size. */
export function contactQuery(filters: ContactFilters, sort: string, limit = 100): Record<string, string | number> {
  const query: Record<string, string | number> = { sort, limit }
  const q = filters.q.trim()
  if (q) query.q = q.slice(0, 100)
  if (filters.type) query.type = filters.type
  if (filters.tag) query.tag = filters.tag
  if (filters.owner_id) query.owner_id = filters.owner_id
  if (filters.segment) query.segment = filters.segment
  for (const [key, value] of Object.entries(filters.cf)) {
    if (value !== '') query[`cf.${key}`] = value
  }
  return query
}

/** "name" → "-name" → "name": clicking a column header flips the direction; another column starts ascending. */
export function nextSort(current: string, column: string): string {
  const field = current.replace(/^-/, '')
  if (field !== column) return column
  return current.startsWith('-') ? column : `-${column}`
}

export function sortState(current: string, column: string): 'ascending' | 'descending' | 'none' {
  const field = current.replace(/^-/, '')
  if (field !== column) return 'none'
  return current.startsWith('-') ? 'descending' : 'ascending'
}

export type PageFetcher<T> = (cursor: string | null) => Promise<Page<T>>

export function useKeysetList<T extends { id: string }>(fetchPage: () => PageFetcher<T>) {
  const items = shallowRef<T[]>([])
  const nextCursor = ref<string | null>(null)
  const loading = ref(false)
  const loadingMore = ref(false)
  const loaded = ref(false)
  const error = ref<ApiError | null>(null)
  let generation = 0

  const hasMore = computed(() => nextCursor.value !== null)

  /** Load the first page (again); answers to earlier calls are ignored. */
  async function reset(): Promise<void> {
    const mine = ++generation
    loading.value = true
    loadingMore.value = false // a next-page request still under way belongs to the old query
    error.value = null
    try {
      const page = await fetchPage()(null)
      if (mine !== generation) return
      items.value = page.items
      nextCursor.value = page.next_cursor ?? null
      loaded.value = true
    } catch (err) {
      if (mine !== generation) return
      error.value = asApiError(err)
      items.value = []
      nextCursor.value = null
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  /** The next page, once at a time; no-op without a cursor. */
  async function loadMore(): Promise<void> {
    if (loading.value || loadingMore.value || !nextCursor.value) return
    const mine = generation
    loadingMore.value = true
    try {
      const page = await fetchPage()(nextCursor.value)
      if (mine !== generation) return
      const seen = new Set(items.value.map((i) => i.id))
      items.value = [...items.value, ...page.items.filter((i) => !seen.has(i.id))]
      nextCursor.value = page.next_cursor ?? null
    } catch (err) {
      if (mine === generation) error.value = asApiError(err)
    } finally {
      if (mine === generation) loadingMore.value = false
    }
  }

  /** Replace an item in place (live update); returns false when it is not in the loaded part. */
  function replace(item: T): boolean {
    const index = items.value.findIndex((i) => i.id === item.id)
    if (index < 0) return false
    const next = items.value.slice()
    next[index] = item
    items.value = next
    return true
  }

  function remove(id: string): boolean {
    const next = items.value.filter((i) => i.id !== id)
    const removed = next.length !== items.value.length
    if (removed) items.value = next
    return removed
  }

  return { items, nextCursor, hasMore, loading, loadingMore, loaded, error, reset, loadMore, replace, remove }
}

/**
 * The list filters as a segment filter (for counting with POST /api/contacts/segments/preview); null
 * when they cannot be expressed (the free-text search is not part of the grammar).
 */
export function filtersToGrammar(filters: ContactFilters, defs: readonly FieldDef[], segmentFilter: unknown = null): Record<string, unknown> | null {
  if (filters.q.trim()) return null
  const conditions: unknown[] = []
  if (filters.type) conditions.push({ field: 'type', operator: 'eq', value: filters.type })
  if (filters.tag) conditions.push({ field: 'tag', operator: 'has', value: filters.tag })
  if (filters.owner_id) conditions.push({ field: 'owner_id', operator: 'eq', value: filters.owner_id })
  for (const [key, raw] of Object.entries(filters.cf)) {
    if (raw === '') continue
    const def = defs.find((d) => d.key === key)
    if (!def) return null
    const value = def.type === 'checkbox' ? raw === 'true' : def.type === 'number' ? Number(raw) : raw
    conditions.push({ field: `cf.${key}`, operator: def.type === 'multiselect' ? 'contains' : 'eq', value })
  }
  if (filters.segment) {
    if (!segmentFilter) return null
    conditions.push(segmentFilter)
  }
  return { op: 'and', conditions }
}
