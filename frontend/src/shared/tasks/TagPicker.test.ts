import { afterEach, describe, expect, it } from 'vitest'
import { createApp, h, nextTick, ref } from 'vue'
import { i18n } from '@/core/i18n'
import de from './locales/de'
import TagPicker from './TagPicker.vue'

i18n.global.mergeLocaleMessage('de', { mod: { tasks: de } })

afterEach(() => {
  document.body.innerHTML = ''
})

const TAGS = [
  { id: 'k', name: 'Kunde', color: '#22c55e' },
  { id: 'v', name: 'VIP', color: '#eab308' },
]

function mount(initial: string[], tags = TAGS) {
  const value = ref<string[]>(initial)
  const el = document.createElement('div')
  document.body.append(el)
  createApp({
    render: () => h(TagPicker, { modelValue: value.value, tags, 'onUpdate:modelValue': (v: string[]) => (value.value = v) }),
  })
    .use(i18n)
    .mount(el)
  return { el, value }
}

function button(el: HTMLElement, name: string): HTMLButtonElement {
  return [...el.querySelectorAll('button')].find((b) => b.textContent?.trim() === name)!
}

describe('TagPicker', () => {
  it('toggles tags, keeping the order of the tag list', async () => {
    i18n.global.locale.value = 'de'
    const { el, value } = mount(['v'])
    expect(button(el, 'VIP').getAttribute('aria-pressed')).toBe('true')
    expect(button(el, 'Kunde').getAttribute('aria-pressed')).toBe('false')
    button(el, 'Kunde').click()
    await nextTick()
    expect(value.value).toEqual(['k', 'v'])
    expect(button(el, 'Kunde').getAttribute('aria-pressed')).toBe('true')
    button(el, 'VIP').click()
    await nextTick()
    expect(value.value).toEqual(['k'])
  })

  it('says so when the company has no tags', () => {
    i18n.global.locale.value = 'de'
    const { el } = mount([], [])
    expect(el.querySelectorAll('button')).toHaveLength(0)
    expect(el.textContent).toContain('Noch keine Tags')
  })
})
