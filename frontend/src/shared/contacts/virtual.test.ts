import { describe, expect, it } from 'vitest'
import { nextTick, ref } from 'vue'
import { useVirtualRows, visibleRange } from './virtual'

describe('visibleRange', () => {
  it('renders only the rows in view plus the overscan, whatever the row count', () => {
    const range = visibleRange(48_000, 480, 48, 1_000_000, 5)
    expect(range.start).toBe(995)
    expect(range.end).toBe(1000 + 11 + 5)
    expect(range.offset).toBe(995 * 48)
    expect(range.total).toBe(48_000_000)
    expect(range.end - range.start).toBeLessThan(30)
  })

  it('clamps at both ends', () => {
    expect(visibleRange(0, 480, 48, 3, 5)).toMatchObject({ start: 0, end: 3, offset: 0 })
    expect(visibleRange(-20, 480, 48, 0, 5)).toMatchObject({ start: 0, end: 0, total: 0 })
  })
})

describe('useVirtualRows', () => {
  it('follows the scroll position and asks for more near the end', async () => {
    const el = document.createElement('div')
    Object.defineProperty(el, 'clientHeight', { value: 480, configurable: true })
    const container = ref<HTMLElement | null>(null)
    const count = ref(100)
    let nearEnd = 0
    const rows = useVirtualRows({ container, count, rowHeight: ref(48), overscan: 2, threshold: 10, onNearEnd: () => nearEnd++ })
    container.value = el
    await nextTick()
    expect(rows.range.value.start).toBe(0)
    expect(nearEnd).toBe(0)

    el.scrollTop = 48 * 85
    el.dispatchEvent(new Event('scroll'))
    await nextTick()
    expect(rows.range.value.start).toBe(83)
    expect(nearEnd).toBe(1)

    rows.scrollToIndex(10)
    expect(el.scrollTop).toBe(480)
  })
})
