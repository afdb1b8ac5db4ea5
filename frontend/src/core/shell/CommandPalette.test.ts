import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp, nextTick } from 'vue'
import { createMemoryHistory, createRouter } from 'vue-router'
import { useAuthStore, type Me } from '@/core/auth/store'
import { i18n } from '@/core/i18n'
import { json, scriptFetch } from '@/test/fetch'
import CommandPalette from './CommandPalette.vue'
import { SEARCH_DEBOUNCE_MS } from './search'
import { paletteOpen } from './ui'

const Blank = { template: '<div />' }

function searchAnswer() {
  const hit = (type: string, id: string, title: string, subtitle = '', snippet = '') => ({
    type, id, title, subtitle, snippet, url: `/${type}s/${id}`, owner_id: null,
    updated_at: '2026-11-22T00:00:00Z', score: 1,
  })
  return json(200, {
    query: 'brenn',
    items: [
      hit('contact', 'c1', 'Brenner Maschinenbau GmbH', 'info@brenner.de · Stuttgart'),
      hit('contact', 'c2', 'Andreas Becker', 'a.becker@brenner.de'),
      hit('task', 't1', 'Angebot für Brenner nachfassen', '', 'Preisliste schicken'),
    ],
    total: 3,
    total_exact: true,
    limit: 50,
    offset: 0,
    facets: { type: [], owner: [], updated: [] },
    types: [
      { type: 'contact', label: { de: 'Kontakte', en: 'Contacts' }, icon: 'users' },
      { type: 'task', label: { de: 'Aufgaben', en: 'Tasks' }, icon: 'check-square' },
    ],
  })
}

async function mountPalette() {
  const pinia = createPinia()
  setActivePinia(pinia)
  const auth = useAuthStore()
  auth.me = { kind: 'tenant', permissions: {}, tenant: { modules: { crm: 'write' } } } as unknown as Me
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [{ path: '/', component: Blank }, { path: '/:rest(.*)*', component: Blank }],
  })
  await router.push('/')
  const host = document.createElement('div')
  document.body.appendChild(host)
  const app = createApp(CommandPalette)
  app.use(pinia).use(router).use(i18n)
  app.mount(host)
  return { app, host, router }
}

beforeEach(() => {
  i18n.global.locale.value = 'de'
  HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
    this.open = true
  }
  HTMLDialogElement.prototype.close ??= function (this: HTMLDialogElement) {
    this.open = false
  }
})

afterEach(() => {
  paletteOpen.value = false
  vi.useRealTimers()
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

describe('CommandPalette search', () => {
  it('shows hits grouped by type and opens the chosen one with the keyboard', async () => {
    const { calls } = scriptFetch({ 'GET /api/search': searchAnswer(), 'GET /api/modules': json(200, []) })
    const { app, host, router } = await mountPalette()
    paletteOpen.value = true
    await nextTick()
    await nextTick()
    const input = host.ownerDocument.querySelector<HTMLInputElement>('[data-testid="palette"] input')!
    expect(input.placeholder).toContain('Kontakte')
    vi.useFakeTimers()
    input.value = 'brenn'
    input.dispatchEvent(new Event('input'))
    await nextTick()
    expect(host.ownerDocument.querySelector('[data-testid="palette-searching"]')).not.toBeNull()
    await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS + 1)
    await vi.runAllTimersAsync()
    vi.useRealTimers()
    await new Promise((resolve) => setTimeout(resolve, 0))
    await nextTick()

    expect(calls.filter((c) => c.path.startsWith('/api/search'))).toHaveLength(1)
    const text = host.ownerDocument.body.textContent ?? ''
    expect(text).toContain('Kontakte')
    expect(text).toContain('Aufgaben')
    expect(text).toContain('Preisliste schicken')
    const options = [...host.ownerDocument.querySelectorAll('[role="option"]')].map((o) => o.getAttribute('data-command'))
    expect(options.slice(0, 3)).toEqual(['hit:contact:c1', 'hit:contact:c2', 'hit:task:t1'])

    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown' }))
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown' }))
    await nextTick()
    expect(host.ownerDocument.querySelector('[aria-selected="true"]')?.getAttribute('data-command')).toBe('hit:task:t1')
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }))
    await new Promise((resolve) => setTimeout(resolve, 0))
    await router.isReady()
    await nextTick()
    expect(router.currentRoute.value.fullPath).toBe('/tasks/t1')
    expect(paletteOpen.value).toBe(false)
    app.unmount()
  })
})
