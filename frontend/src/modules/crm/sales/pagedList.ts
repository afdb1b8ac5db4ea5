/**
 * A cursor-paged list for the deals and leads pages: first page, "load more" (rows already shown are
 * not repeated), and only the newest request's answer counts when filters change quickly.
 */
import { ref, shallowRef } from 'vue'
import { asApiError } from '@/core/api/errors'
import { errorMessage } from '@/core/i18n'
import { toast } from '@/core/ui/toast'
import type { Page } from './api'

export function usePagedList<T extends { id: string }>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>) {
  const items = shallowRef<T[]>([])
  const cursor = ref<string | null>(null)
  const loading = ref(true)
  const loadingMore = ref(false)
  const loadError = ref<string | null>(null)
  let request = 0

  async function load(more = false): Promise<void> {
    const mine = ++request
    if (more) loadingMore.value = true
    else loading.value = true
    try {
      const page = await fetchPage(more ? (cursor.value ?? undefined) : undefined)
      if (mine !== request) return
      const shown = new Set(items.value.map((item) => item.id))
      items.value = more ? [...items.value, ...page.items.filter((item) => !shown.has(item.id))] : page.items
      cursor.value = page.next_cursor ?? null
      loadError.value = null
    } catch (err) {
      if (mine !== request) return
      // a failed "more" keeps what is shown; a failed first page replaces it with the error
      if (more) toast(errorMessage(asApiError(err)), 'danger', 7000)
      else loadError.value = errorMessage(asApiError(err))
    } finally {
      if (mine === request) {
        loading.value = false
        loadingMore.value = false
      }
    }
  }

  return { items, cursor, loading, loadingMore, loadError, load }
}
