/**
 * Global search for the command palette: asks `GET /api/search` while the user types (debounced,
 * stale answers dropped) and groups the hits by type in the order the server ranked them.
 */
import { onScopeDispose, ref, watch, type Ref } from 'vue'
import { api, unwrap } from '@/core/api/client'
import type { components } from '@/core/api/schema'

export type SearchHit = components['schemas']['SearchHit']
export type SearchType = components['schemas']['SearchType']

export interface SearchGroup {
  type: string
  label: Record<string, string> | undefined
  icon: string
  hits: SearchHit[]
}

export const SEARCH_DEBOUNCE_MS = 200
export const SEARCH_MIN_LENGTH = 2
export const SEARCH_PER_TYPE = 5

/** Hits grouped by type; groups appear in the order of their best hit. */
export function groupHits(hits: SearchHit[], types: SearchType[]): SearchGroup[] {
  const byType = new Map<string, SearchGroup>()
  for (const hit of hits) {
    let group = byType.get(hit.type)
    if (!group) {
      const info = types.find((t) => t.type === hit.type)
      group = { type: hit.type, label: info?.label, icon: info?.icon ?? 'file', hits: [] }
      byType.set(hit.type, group)
    }
    group.hits.push(hit)
  }
  return [...byType.values()]
}

/**
 * Reactive search over `query`; `enabled` says whether the caller may search at all (a company
 * user with a booked module). Only the answer to the latest query is kept.
 */
export function useGlobalSearch(query: Ref<string>, enabled: () => boolean) {
  const groups = ref<SearchGroup[]>([])
  const loading = ref(false)
  const failed = ref(false)
  let timer: ReturnType<typeof setTimeout> | undefined
  let sequence = 0

  async function run(text: string, ticket: number): Promise<void> {
    try {
      const result = await unwrap(
        api.GET('/api/search', { params: { query: { q: text, per_type: SEARCH_PER_TYPE, limit: 50, facets: false } } }),
      )
      if (ticket !== sequence) return
      groups.value = groupHits(result.items, result.types)
      failed.value = false
    } catch {
      if (ticket !== sequence) return
      groups.value = []
      failed.value = true
    } finally {
      if (ticket === sequence) loading.value = false
    }
  }

  watch(
    query,
    (value) => {
      clearTimeout(timer)
      const text = value.trim()
      const ticket = ++sequence
      if (!enabled() || text.length < SEARCH_MIN_LENGTH) {
        groups.value = []
        loading.value = false
        failed.value = false
        return
      }
      loading.value = true
      timer = setTimeout(() => void run(text, ticket), SEARCH_DEBOUNCE_MS)
    },
    { immediate: true },
  )

  onScopeDispose(() => clearTimeout(timer))

  return { groups, loading, failed }
}
