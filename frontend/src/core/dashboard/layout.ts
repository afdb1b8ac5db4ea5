/**
 * The dashboard layout of one user (order, hidden widgets, widths). It lives in the user's
 * preferences on the server (key `dashboard`), with the preferences store's localStorage copy as
 * the fallback; every change is saved there.
 */
import { computed } from 'vue'
import { usePreferences } from '@/core/preferences'

export interface DashboardLayout {
  order: string[]
  hidden: string[]
  sizes: Record<string, 1 | 2>
}

export function emptyLayout(): DashboardLayout {
  return { order: [], hidden: [], sizes: {} }
}

/** Whatever was stored, as a layout (unknown shapes are dropped). */
export function normalizeLayout(value: unknown): DashboardLayout {
  if (!value || typeof value !== 'object') return emptyLayout()
  const raw = value as Partial<Record<keyof DashboardLayout, unknown>>
  const strings = (list: unknown) => (Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [])
  const sizes: Record<string, 1 | 2> = {}
  if (raw.sizes && typeof raw.sizes === 'object') {
    for (const [id, size] of Object.entries(raw.sizes as Record<string, unknown>)) if (size === 1 || size === 2) sizes[id] = size
  }
  return { order: strings(raw.order), hidden: strings(raw.hidden), sizes }
}

/** Arrange `ids` by the saved order; widgets the layout has not seen yet go to the end. */
export function arrange(ids: readonly string[], layout: DashboardLayout): string[] {
  const known = layout.order.filter((id) => ids.includes(id))
  const fresh = ids.filter((id) => !known.includes(id))
  return [...known, ...fresh]
}

/**
 * The new full order after moving `id` to position `to` among the `visible` widgets;
 * hidden (and unknown) ones keep their place after the visible ones.
 */
export function moveTo(layout: DashboardLayout, visible: readonly string[], id: string, to: number): string[] | null {
  const order = [...visible]
  const from = order.indexOf(id)
  const target = Math.max(0, Math.min(order.length - 1, to))
  if (from < 0 || from === target) return null
  order.splice(from, 1)
  order.splice(target, 0, id)
  return [...order, ...layout.order.filter((x) => !order.includes(x))]
}

export function useLayout() {
  const prefs = usePreferences()
  const layout = computed<DashboardLayout>(() => normalizeLayout(prefs.data.dashboard))

  function save(next: DashboardLayout): void {
    prefs.set('dashboard', next)
  }

  function place(visible: string[], id: string, to: number): void {
    const order = moveTo(layout.value, visible, id, to)
    if (order) save({ ...layout.value, order })
  }

  function move(visible: string[], id: string, step: -1 | 1): void {
    place(visible, id, visible.indexOf(id) + step)
  }

  function hide(id: string): void {
    if (!layout.value.hidden.includes(id)) save({ ...layout.value, hidden: [...layout.value.hidden, id] })
  }

  function show(id: string): void {
    save({ ...layout.value, hidden: layout.value.hidden.filter((x) => x !== id) })
  }

  function setSize(id: string, size: 1 | 2): void {
    save({ ...layout.value, sizes: { ...layout.value.sizes, [id]: size } })
  }

  function reset(): void {
    save(emptyLayout())
  }

  return { layout, move, place, hide, show, setSize, reset }
}
