/**
 * Virtual scrolling for fixed-height rows: only the rows in view (plus `overscan`) are rendered, so
 * the DOM stays small however many rows are loaded. `onNearEnd` fires when the view comes within
 * `threshold` rows of the end (the list then loads its next page).
 */
import { computed, ref, watch, type Ref } from 'vue'

export interface VirtualWindow {
  start: number
  end: number
  offset: number
  total: number
}

/** Pure: which rows to render for a scroll position. */
export function visibleRange(scrollTop: number, viewport: number, rowHeight: number, count: number, overscan = 6): VirtualWindow {
  const height = Math.max(1, rowHeight)
  const first = Math.floor(Math.max(0, scrollTop) / height)
  const visible = Math.ceil(Math.max(0, viewport) / height) + 1
  const start = Math.max(0, first - overscan)
  const end = Math.min(count, first + visible + overscan)
  return { start, end: Math.max(start, end), offset: start * height, total: count * height }
}

export function useVirtualRows(options: {
  container: Ref<HTMLElement | null>
  count: Ref<number>
  rowHeight: Ref<number>
  /** Height of what scrolls above the first row inside the container (a sticky header). */
  offsetTop?: Ref<number>
  overscan?: number
  threshold?: number
  onNearEnd?: () => void
}) {
  const scrollTop = ref(0)
  const viewport = ref(600)
  let observer: ResizeObserver | null = null

  const top = () => options.offsetTop?.value ?? 0
  const range = computed(() =>
    visibleRange(scrollTop.value - top(), viewport.value - top(), options.rowHeight.value, options.count.value, options.overscan ?? 6),
  )

  function measure(): void {
    const el = options.container.value
    if (!el) return
    scrollTop.value = el.scrollTop
    viewport.value = el.clientHeight || viewport.value
  }

  function onScroll(): void {
    measure()
  }

  watch(
    () => options.container.value,
    (el, _old, onCleanup) => {
      if (!el) return
      measure()
      el.addEventListener('scroll', onScroll, { passive: true })
      if (typeof ResizeObserver !== 'undefined') {
        observer = new ResizeObserver(measure)
        observer.observe(el)
      }
      // Also runs when the component unmounts (its watchers stop).
      onCleanup(() => {
        el.removeEventListener('scroll', onScroll)
        observer?.disconnect()
        observer = null
      })
    },
    { immediate: true, flush: 'post' },
  )

  // Near the end of what is loaded: ask for more.
  watch(
    () => [range.value.end, options.count.value] as const,
    ([end, count]) => {
      if (count > 0 && end >= count - (options.threshold ?? 20)) options.onNearEnd?.()
    },
  )

  /** Scroll so that row `index` is in view (keyboard navigation). */
  function scrollToIndex(index: number): void {
    const el = options.container.value
    if (!el) return
    // Row `index` starts at header + index × height; keep it below the sticky header and above the bottom.
    const rowTop = index * options.rowHeight.value
    if (rowTop < el.scrollTop) el.scrollTop = rowTop
    else if (top() + rowTop + options.rowHeight.value > el.scrollTop + el.clientHeight) el.scrollTop = top() + rowTop + options.rowHeight.value - el.clientHeight
    measure()
  }

  function toTop(): void {
    const el = options.container.value
    if (el) el.scrollTop = 0
    scrollTop.value = 0
  }

  return { range, scrollToIndex, toTop, measure }
}
