import { afterEach, describe, expect, it, vi } from 'vitest'
import { createApp, h, nextTick, shallowRef } from 'vue'
import { toApiError } from '@/core/api/errors'
import { i18n } from '@/core/i18n'
import de from '../locales/de'
import type { DealDetail, DealItemIn } from './api'
import LineItemsEditor from './LineItemsEditor.vue'

i18n.global.mergeLocaleMessage('de', { mod: { crm: de } })

const DEAL = {
  id: 'd1', title: 'Deal', value: '100.00', currency: 'EUR', version: 4, tags: [], stage_history: [],
  items: [{ id: 'i1', position: 0, product_name: 'Pumpe', description: '', quantity: '2.0000', unit_price: '50.00', discount_percent: '0.00', total: '100.00' }],
} as unknown as DealDetail

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 0))
    await nextTick()
  }
}

function input(el: HTMLElement, row: number, item: string): HTMLInputElement {
  return el.querySelectorAll('[data-testid="item-row"]')[row].querySelector<HTMLInputElement>(`[data-item="${item}"]`)!
}
function type(target: HTMLInputElement, value: string): void {
  target.value = value
  target.dispatchEvent(new Event('input'))
}

afterEach(() => {
  document.body.innerHTML = ''
})

describe('line items editor', () => {
  it('sends every row, shows the server\'s complaint at its cell and the server\'s totals after saving', async () => {
    i18n.global.locale.value = 'de'
    const deal = shallowRef<DealDetail>(DEAL)
    const save = vi.fn(async (items: DealItemIn[]) => {
      if (Number(items[1].quantity) <= 0) {
        throw toApiError(422, { code: 'validation_error', errors: [{ field: 'items.1.quantity', message: 'must be > 0', type: 'greater_than' }] })
      }
      deal.value = {
        ...DEAL, version: 5, value: '190.00',
        items: [DEAL.items[0], { id: 'i2', position: 1, product_name: 'Filter', description: '', quantity: '3.0000', unit_price: '30.00', discount_percent: '0.00', total: '90.00' }],
      } as DealDetail
    })
    const el = document.createElement('div')
    document.body.append(el)
    createApp({ render: () => h(LineItemsEditor, { deal: deal.value, editable: true, save }) }).use(i18n).mount(el)
    await flush()
    expect(input(el, 0, 'quantity').value).toBe('2')

    el.querySelector<HTMLButtonElement>('[data-testid="item-add"]')!.click()
    await flush()
    type(input(el, 1, 'product'), 'Filter')
    type(input(el, 1, 'quantity'), '-3')
    type(input(el, 1, 'price'), '30')
    await flush()
    expect(el.querySelectorAll('[data-testid="item-total"]')[1].textContent).toContain('nach dem Speichern')
    el.querySelector<HTMLButtonElement>('[data-testid="items-save"]')!.click()
    await flush()
    expect(save.mock.calls[0][0][1]).toEqual({ product_name: 'Filter', description: '', quantity: '-3', unit_price: '30', discount_percent: '0' })
    expect(input(el, 1, 'quantity').getAttribute('aria-invalid')).toBe('true')
    expect(input(el, 0, 'quantity').getAttribute('aria-invalid')).toBeNull()

    type(input(el, 1, 'quantity'), '3')
    el.querySelector<HTMLButtonElement>('[data-testid="items-save"]')!.click()
    await flush()
    expect(save).toHaveBeenCalledTimes(2)
    expect(el.querySelectorAll('[data-testid="item-total"]')[1].textContent).toContain('90,00')
    expect(el.querySelector('[data-testid="items-sum"]')!.textContent).toContain('190,00')
  })
})
