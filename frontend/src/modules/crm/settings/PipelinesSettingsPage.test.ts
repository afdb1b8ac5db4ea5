import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp, nextTick } from 'vue'
import { createMemoryHistory, createRouter } from 'vue-router'
import { useAuthStore } from '@/core/auth/store'
import { i18n } from '@/core/i18n'
import { json, problem, scriptFetch } from '@/test/fetch'
import de from '../locales/de'
import PipelinesSettingsPage from './PipelinesSettingsPage.vue'

i18n.global.mergeLocaleMessage('de', { mod: { crm: de } })

const stage = (id: string, position: number) => ({ id, pipeline_id: 'p1', name: `Phase ${id.toUpperCase()}`, color: '#6366f1', probability: 10 * position, rotting_days: null, position })
const PIPELINE = { id: 'p1', name: 'Neugeschäft', is_default: true, position: 1, version: 1, created_at: '2026-01-01T00:00:00Z', stages: [stage('a', 0), stage('b', 1), stage('c', 2)] }

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 0))
    await nextTick()
  }
}

async function mount(permissions: Record<string, string>) {
  const pinia = createPinia()
  setActivePinia(pinia)
  const auth = useAuthStore()
  auth.me = { kind: 'tenant', id: 'me', email: 'me@x', name: 'Me', role: 'admin', locale: 'de', permissions, tenant: null }
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [{ path: '/crm/settings/pipelines', name: 'crm.settings.pipelines', component: PipelinesSettingsPage }],
  })
  router.push('/crm/settings/pipelines')
  await router.isReady()
  const el = document.createElement('div')
  document.body.append(el)
  createApp(PipelinesSettingsPage).use(pinia).use(router).use(i18n).mount(el)
  await flush()
  return el
}

const names = (el: HTMLElement) => [...el.querySelectorAll('[data-stage-name]')].map((n) => n.textContent?.trim())
const button = (el: HTMLElement, label: string) => el.querySelector<HTMLButtonElement>(`button[aria-label="${label}"]`)!

beforeEach(() => {
  i18n.global.locale.value = 'de'
})
afterEach(() => {
  document.body.innerHTML = ''
  vi.unstubAllGlobals()
})

const EDITOR = { 'crm.pipeline:read': 'all', 'crm.pipeline:update': 'all', 'crm.pipeline:create': 'all', 'crm.pipeline:delete': 'all' }

describe('pipelines settings page', () => {
  it('moves a stage with the keyboard button and saves the whole order', async () => {
    const { calls } = scriptFetch({
      'GET /api/crm/pipelines': json(200, [PIPELINE]),
      'PUT /api/crm/pipelines/p1/stage-order': json(200, [stage('b', 0), stage('a', 1), stage('c', 2)]),
    })
    const el = await mount(EDITOR)
    expect(names(el)).toEqual(['Phase A', 'Phase B', 'Phase C'])
    button(el, '„Phase A“ nach unten').click()
    await flush()
    expect(names(el)).toEqual(['Phase B', 'Phase A', 'Phase C'])
    const put = calls.find((c) => c.method === 'PUT')!
    expect(put.path).toBe('/api/crm/pipelines/p1/stage-order')
    expect(put.body).toEqual({ stage_ids: ['b', 'a', 'c'] })
    expect(el.textContent).toContain('„Phase A“ ist jetzt an Position 2 von 3.')
  })

  it('puts the order back and explains when saving fails', async () => {
    scriptFetch({
      'GET /api/crm/pipelines': json(200, [PIPELINE]),
      'PUT /api/crm/pipelines/p1/stage-order': problem(503, 'server_error'),
    })
    const el = await mount(EDITOR)
    button(el, '„Phase C“ nach oben').click()
    await flush()
    expect(names(el)).toEqual(['Phase A', 'Phase B', 'Phase C'])
    expect(el.querySelector('[data-testid="pipeline-error"]')).not.toBeNull()
  })

  it('explains why a pipeline with deals cannot be deleted', async () => {
    scriptFetch({
      'GET /api/crm/pipelines': json(200, [PIPELINE]),
      'DELETE /api/crm/pipelines/p1': problem(409, 'pipeline_has_deals'),
    })
    const el = await mount(EDITOR)
    el.querySelector<HTMLButtonElement>('[data-testid="pipeline-delete"]')!.click()
    await flush()
    document.querySelector<HTMLButtonElement>('[data-testid="confirm"]')!.click()
    await flush()
    expect(document.body.textContent).toContain('Diese Pipeline enthält noch Deals.')
  })

  it('is read-only without crm.pipeline:update', async () => {
    scriptFetch({ 'GET /api/crm/pipelines': json(200, [PIPELINE]) })
    const el = await mount({ 'crm.pipeline:read': 'all' })
    expect(el.querySelector('[data-testid="read-only"]')).not.toBeNull()
    expect(el.querySelector('[data-move]')).toBeNull()
    expect(el.querySelector('[data-testid="stage-add"]')).toBeNull()
    expect(el.querySelector('[data-testid="pipeline-new"]')).toBeNull()
    expect(el.querySelector('[data-stage-row]')?.getAttribute('draggable')).toBe('false')
    expect(names(el)).toEqual(['Phase A', 'Phase B', 'Phase C'])
  })
})
