/** The dashboard layout of one user (order, hidden widgets, widths), kept in localStorage for now. */
import { reactive, watch } from 'vue'

export interface DashboardLayout {
  order: string[]
  hidden: string[]
  sizes: Record<string, 1 | 2>
}

const PREFIX = 'xynap.dashboard.'

export function loadLayout(userId: string): DashboardLayout {
  try {
    const raw = localStorage.getItem(PREFIX + userId)
    if (raw) {
      const value = JSON.parse(raw) as Partial<DashboardLayout>
      return {
        order: Array.isArray(value.order) ? value.order.filter((x) => typeof x === 'string') : [],
        hidden: Array.isArray(value.hidden) ? value.hidden.filter((x) => typeof x === 'string') : [],
        sizes: value.sizes && typeof value.sizes === 'object' ? value.sizes : {},
      }
    }
  } catch {
    /* unreadable layout: start fresh */
  }
  return { order: [], hidden: [], sizes: {} }
}

export function saveLayout(userId: string, layout: DashboardLayout): void {
  try {
    localStorage.setItem(PREFIX + userId, JSON.stringify(layout))
  } catch {
    /* ignore */
  }
}

/** Arrange `ids` by the saved order; widgets the layout has not seen yet go to the end. */
export function arrange(ids: readonly string[], layout: DashboardLayout): string[] {
  const known = layout.order.filter((id) => ids.includes(id))
  const fresh = ids.filter((id) => !known.includes(id))
  return [...known, ...fresh]
}

export function useLayout(userId: string) {
  const layout = reactive(loadLayout(userId))
  watch(layout, () => saveLayout(userId, layout), { deep: true })

  function move(visible: string[], id: string, step: -1 | 1): void {
    const order = [...visible]
    const from = order.indexOf(id)
    const to = from + step
    if (from < 0 || to < 0 || to >= order.length) return
    order.splice(from, 1)
    order.splice(to, 0, id)
    // keep hidden ones where they were, after the visible ones
    layout.order = [...order, ...layout.order.filter((x) => !order.includes(x))]
  }

  function hide(id: string): void {
    if (!layout.hidden.includes(id)) layout.hidden.push(id)
  }

  function show(id: string): void {
    layout.hidden = layout.hidden.filter((x) => x !== id)
  }

  function setSize(id: string, size: 1 | 2): void {
    layout.sizes = { ...layout.sizes, [id]: size }
  }

  function reset(): void {
    layout.order = []
    layout.hidden = []
    layout.sizes = {}
  }

  return { layout, move, hide, show, setSize, reset }
}
