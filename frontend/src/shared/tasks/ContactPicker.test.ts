import { afterEach, describe, expect, it, vi } from 'vitest'
import { createApp, h, nextTick, ref } from 'vue'
import { i18n } from '@/core/i18n'
import { json, scriptFetch } from '@/test/fetch'
import ContactPicker from './ContactPicker.vue'

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

function mount(initial: string | null) {
  const value = ref<string | null>(initial)
  const el = document.createElement('div')
  document.body.append(el)
  const app = createApp({
    render: () => h(ContactPicker, { id: 'cp', modelValue: value.value, 'onUpdate:modelValue': (v: string | null) => (value.value = v) }),
  })
  app.use(i18n).mount(el)
  return { el, value, app }
}

describe('ContactPicker', () => {
  it('searches contacts and picks one with the keyboard', async () => {
    i18n.global.locale.value = 'de'
    const { calls } = scriptFetch({
      'GET /api/contacts': json(200, { items: [{ id: 'c1', display_name: 'Anna Muster' }, { id: 'c2', display_name: 'Anton Beispiel' }], next_cursor: null }),
    })
    const { el, value } = mount(null)
    const input = el.querySelector('input')!
    expect(input.placeholder).toBe('Kontakt suchen')
    vi.useFakeTimers()
    input.value = 'An'
    input.dispatchEvent(new Event('input'))
    await vi.advanceTimersByTimeAsync(250)
    vi.useRealTimers()
    await vi.waitFor(() => expect(el.querySelectorAll('[role="option"]')).toHaveLength(2))
    expect(calls[0].path).toBe('/api/contacts?q=An&limit=8')
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown' }))
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }))
    await nextTick()
    expect(value.value).toBe('c2')
    await vi.waitFor(() => expect(el.querySelector('[data-testid="contact-picked"]')?.textContent).toBe('Anton Beispiel'))
  })

  it('shows the name of a linked contact and clears it', async () => {
    i18n.global.locale.value = 'en'
    scriptFetch({ 'GET /api/contacts/c9': json(200, { id: 'c9', display_name: 'Muster GmbH' }) })
    const { el, value } = mount('c9')
    await vi.waitFor(() => expect(el.querySelector('[data-testid="contact-picked"]')?.textContent).toBe('Muster GmbH'))
    const clear = el.querySelector<HTMLButtonElement>('button[aria-label="Remove contact"]')!
    clear.click()
    await nextTick()
    expect(value.value).toBeNull()
  })
})
