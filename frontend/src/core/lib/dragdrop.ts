/**
 * Pointer arithmetic shared by the Kanban boards (tasks, CRM deals): where a dragged card would land
 * in a column, and whether the pointer really left a column (not just moved onto one of its cards).
 */

/** The index among the column's other cards (`[attribute]` elements) before which the card would land. */
export function dropIndex(list: HTMLElement, attribute: string, draggedId: string, clientY: number): number {
  const cards = [...list.querySelectorAll<HTMLElement>(`[${attribute}]`)].filter((el) => el.getAttribute(attribute) !== draggedId)
  for (const [i, card] of cards.entries()) {
    const box = card.getBoundingClientRect()
    if (clientY < box.top + box.height / 2) return i
  }
  return cards.length
}

/** True when a dragleave left the column itself, false when it only entered a child of it. */
export function leftColumn(event: DragEvent): boolean {
  const list = event.currentTarget as HTMLElement
  return !list.contains(event.relatedTarget as Node | null)
}
