import { describe, expect, it } from 'vitest'
import { dropIndex } from './dragdrop'

function column(heights: number[]): HTMLElement {
  const list = document.createElement('ul')
  let top = 0
  heights.forEach((height, i) => {
    const card = document.createElement('li')
    card.setAttribute('data-card', `c${i}`)
    const at = top
    card.getBoundingClientRect = () => ({ top: at, height, bottom: at + height, left: 0, right: 100, width: 100, x: 0, y: at, toJSON: () => ({}) })
    top += height
    list.appendChild(card)
  })
  return list
}

describe('dropIndex', () => {
  it('lands before the first card whose middle is below the pointer', () => {
    const list = column([100, 100, 100])
    expect(dropIndex(list, 'data-card', 'x', 10)).toBe(0)
    expect(dropIndex(list, 'data-card', 'x', 160)).toBe(2)
    expect(dropIndex(list, 'data-card', 'x', 999)).toBe(3)
  })
  it('does not count the dragged card itself', () => {
    const list = column([100, 100, 100])
    expect(dropIndex(list, 'data-card', 'c0', 999)).toBe(2)
  })
})
