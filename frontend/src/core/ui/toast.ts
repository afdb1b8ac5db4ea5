/** Short confirmations ("Module booked") shown bottom-right and announced to screen readers. */
import { reactive } from 'vue'

export interface Toast {
  id: number
  message: string
  tone: 'success' | 'danger' | 'info'
}

export const toasts = reactive<Toast[]>([])
let counter = 0

export function toast(message: string, tone: Toast['tone'] = 'success', ms = 4500): void {
  const id = ++counter
  toasts.push({ id, message, tone })
  setTimeout(() => dismiss(id), ms)
}

export function dismiss(id: number): void {
  const index = toasts.findIndex((t) => t.id === id)
  if (index >= 0) toasts.splice(index, 1)
}
