import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp, nextTick } from 'vue'
import { createMemoryHistory, createRouter } from 'vue-router'
import { useAuthStore } from '@/core/auth/store'
import { i18n } from '@/core/i18n'
import type { RealtimeEvent } from '@/core/realtime'
import { toasts } from '@/core/ui/toast'
import { json, problem, scriptFetch } from '@/test/fetch'
import de from '../locales/de'
import BoardPage from './BoardPage.vue'

// Live events: the test plays the server's part.
const listeners: { pattern: string; handler: (e: RealtimeEvent) => void }[] = []
vi.mock('@/core/realtime', () => ({
  RESYNC_EVENT: 'realtime.resync',
  onEvent: (pattern: string, handler: (e: RealtimeEvent) => void) => {
    const entry = { pattern, handler }
    listeners.push(entry)
    return () => listeners.splice(listeners.indexOf(entry), 1)
  },
}))
function emit(name: string, payload: Record<string, unknown>): void {
  for (const l of [...listeners]) if (l.pattern === name || (l.pattern.endsWith('.*') && name.startsWith(l.pattern.slice(0, -1)))) l.handler({ name, payload, id: 'e', created_at: '2026-03-01T00:00:00Z' })
}

i18n.global.mergeLocaleMessage('de', { mod: { crm: de } })

const stage = (id: string, position: number, probability: number) => ({ id, pipeline_id: 'p1', name: `Phase ${id.toUpperCase()}`, color: '#6366f1', probability, rotting_days: null, position })
const STAGES = [stage('a', 0, 10), stage('b', 1, 50)]
const PIPELINE = { id: 'p1', name: 'Neugeschäft', is_default: true, position: 1, version: 1, created_at: '2026-01-01T00:00:00Z', stages: STAGES }
function deal(id: string, stageId: string, position: number, value: string, currency = 'EUR', version = 1) {
  return {
    id, title: `Deal ${id}`, pipeline_id: 'p1', stage_id: stageId, contact_id: null, organization_id: null, owner_id: null, value, currency,
    expected_close_date: null, probability: stageId === 'a' ? 10 : 50, probability_override: null, status: 'open', lost_reason: null, won_at: null,
    lost_at: null, source: null, custom_fields: {}, position, stage_entered_at: '2026-01-01T00:00:00Z', rotting: id === 'd2', tags: [], version,
    created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z',
  }
}
const BOARD = {
  pipeline: PIPELINE,
  columns: [
    { stage: STAGES[0], count: 2, sums: [{ currency: 'EUR', value: '300.00' }], weighted: [{ currency: 'EUR', value: '30.00' }], deals: [deal('d1', 'a', 1024, '100.00'), deal('d2', 'a', 2048, '200.00')], next_cursor: null },
    { stage: STAGES[1], count: 1, sums: [{ currency: 'CHF', value: '50.00' }], weighted: [{ currency: 'CHF', value: '25.00' }], deals: [deal('d3', 'b', 1024, '50.00', 'CHF')], next_cursor: null },
  ],
}

async function flush(): Promise<void> {
  for (let i = 0; i < 12; i++) {
    await new Promise((r) => setTimeout(r, 0))
    await nextTick()
  }
}

async function mount() {
  const pinia = createPinia()
  setActivePinia(pinia)
  const auth = useAuthStore()
  auth.me = { kind: 'tenant', id: 'me', email: 'me@x', name: 'Me', role: 'admin', locale: 'de', permissions: { 'crm.deal:read': 'all', 'crm.deal:update': 'all', 'crm.deal:create': 'all', 'crm.pipeline:read': 'all' }, tenant: null } as never
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/crm/board/:pipelineId?', name: 'crm.board', component: BoardPage },
      { path: '/crm/deals/:dealId', name: 'crm.deal', component: { render: () => null } },
      // the tab row links to every CRM page
      ...['crm.deals', 'crm.leads', 'crm.dashboard', 'crm.settings.pipelines', 'crm.settings.scoring', 'crm.settings.routing', 'crm.settings.forms'].map((name) => ({
        path: `/${name}`,
        name,
        component: { render: () => null },
      })),
    ],
  })
  router.push('/crm/board/p1')
  await router.isReady()
  const el = document.createElement('div')
  document.body.append(el)
  createApp(BoardPage).use(pinia).use(router).use(i18n).mount(el)
  await flush()
  return el
}

const titles = (el: HTMLElement, stageId: string) => [...el.querySelectorAll(`[data-stage="${stageId}"] [data-deal-card]`)].map((n) => n.getAttribute('data-title'))
const text = (el: HTMLElement, stageId: string, testid: string) => el.querySelector(`[data-stage="${stageId}"] [data-testid="${testid}"]`)?.textContent?.trim()
function key(el: HTMLElement, id: string, k: string): void {
  el.querySelector<HTMLElement>(`[data-deal-card="${id}"]`)!.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }))
}

function drag(el: HTMLElement, id: string, type: 'dragstart'): void {
  el.querySelector<HTMLElement>(`[data-deal-card="${id}"]`)!.dispatchEvent(new Event(type, { bubbles: true, cancelable: true }))
}
function zone(outcome: 'won' | 'lost', type: 'dragover' | 'drop'): void {
  document.querySelector<HTMLElement>(`[data-testid="board-drop-${outcome}"]`)!.dispatchEvent(new Event(type, { bubbles: true, cancelable: true }))
}

beforeEach(() => {
  i18n.global.locale.value = 'de'
  listeners.length = 0
  toasts.splice(0)
})
afterEach(() => {
  document.body.innerHTML = ''
  vi.unstubAllGlobals()
})

describe('board page', () => {
  it('shows counts and sums per currency, moves a card by keyboard and sends its neighbour and version', async () => {
    const { calls } = scriptFetch({
      'GET /api/crm/pipelines': json(200, [PIPELINE]),
      'GET /api/crm/pipelines/p1/board': json(200, BOARD),
      'POST /api/crm/deals/d1/move': json(200, { ...deal('d1', 'b', 512, '100.00'), version: 2 }),
    })
    const el = await mount()
    expect(titles(el, 'a')).toEqual(['Deal d1', 'Deal d2'])
    expect(text(el, 'b', 'stage-sums')).toContain('CHF')
    expect(el.querySelector('[data-deal-card="d2"] [data-testid="deal-rotting"]')).not.toBeNull()

    key(el, 'd1', ' ')
    key(el, 'd1', 'ArrowRight')
    await flush()
    expect(titles(el, 'b')).toEqual(['Deal d1', 'Deal d3']) // the preview
    key(el, 'd1', ' ')
    await flush()
    const move = calls.find((c) => c.method === 'POST')!
    expect(move.body).toEqual({ stage_id: 'b', version: 1, before_id: 'd3' })
    expect(titles(el, 'a')).toEqual(['Deal d2'])
    expect(titles(el, 'b')).toEqual(['Deal d1', 'Deal d3'])
    expect(text(el, 'a', 'stage-count')).toBe('1')
    expect(text(el, 'b', 'stage-count')).toBe('2')
    // EUR and CHF stay apart
    expect(text(el, 'b', 'stage-sums')).toMatch(/50,00\sCHF.*100,00\s€/)
  })

  it('puts the board back from the server and says why when someone else moved the deal (409)', async () => {
    const { calls } = scriptFetch({
      'GET /api/crm/pipelines': json(200, [PIPELINE]),
      'GET /api/crm/pipelines/p1/board': json(200, BOARD),
      'POST /api/crm/deals/d2/move': problem(409, 'version_conflict'),
    })
    const el = await mount()
    key(el, 'd2', ' ')
    key(el, 'd2', 'ArrowUp')
    key(el, 'd2', 'Enter')
    await flush()
    expect(calls.filter((c) => c.path === '/api/crm/pipelines/p1/board')).toHaveLength(2)
    expect(titles(el, 'a')).toEqual(['Deal d1', 'Deal d2'])
    expect(toasts.map((t) => t.message)).toContain('Jemand anderes hat diesen Deal gerade geändert. Das Board wurde neu geladen.')
  })

  it('follows live events: another session\'s move, a new deal, a won deal', async () => {
    scriptFetch({
      'GET /api/crm/pipelines': json(200, [PIPELINE]),
      'GET /api/crm/pipelines/p1/board': json(200, BOARD),
      'GET /api/crm/deals/d9': json(200, { ...deal('d9', 'a', 4096, '5.00', 'GBP'), items: [], stage_history: [] }),
    })
    const el = await mount()
    emit('deal.stage_changed', { id: 'd2', pipeline_id: 'p1', stage_id: 'b', position: 4096, version: 2 })
    await flush()
    expect(titles(el, 'b')).toEqual(['Deal d3', 'Deal d2'])
    emit('deal.created', { id: 'd9', pipeline_id: 'p1', version: 1 })
    await flush()
    expect(titles(el, 'a')).toEqual(['Deal d1', 'Deal d9'])
    expect(text(el, 'a', 'stage-sums')).toContain('£')
    emit('deal.won', { id: 'd1', pipeline_id: 'p1', version: 2 })
    await flush()
    expect(titles(el, 'a')).toEqual(['Deal d9'])
    expect(text(el, 'a', 'stage-count')).toBe('1')
  })

  it('shows the won / lost bar only while a card is dragged; a drop on "Won" sends the version and takes the card off', async () => {
    const { calls } = scriptFetch({
      'GET /api/crm/pipelines': json(200, [PIPELINE]),
      'GET /api/crm/pipelines/p1/board': json(200, BOARD),
      'POST /api/crm/deals/d1/won': json(200, { ...deal('d1', 'a', 1024, '100.00'), status: 'won', version: 2 }),
    })
    const el = await mount()
    expect(document.querySelector('[data-testid="board-outcome-bar"]')).toBeNull()
    drag(el, 'd1', 'dragstart')
    await flush()
    const bar = document.querySelector('[data-testid="board-outcome-bar"]')!
    expect(bar.textContent).toContain('Gewonnen')
    expect(bar.textContent).toContain('Verloren')
    zone('won', 'dragover')
    await flush()
    expect(document.querySelector('[data-testid="board-drop-won"]')!.getAttribute('data-active')).toBe('true')
    zone('won', 'drop')
    await flush()
    expect(calls.filter((c) => c.method === 'POST')).toEqual([expect.objectContaining({ path: '/api/crm/deals/d1/won', body: { version: 1 } })])
    expect(titles(el, 'a')).toEqual(['Deal d2'])
    expect(text(el, 'a', 'stage-count')).toBe('1')
    expect(text(el, 'a', 'stage-sums')).toMatch(/200,00/)
    expect(document.querySelector('[data-testid="board-outcome-bar"]')).toBeNull()
    expect(toasts.map((t) => t.message)).toContain('„Deal d1“ als gewonnen markiert.')
    // the server's deal.won echo changes nothing (no reload, no double count)
    emit('deal.won', { id: 'd1', pipeline_id: 'p1', status: 'won', version: 2 })
    await flush()
    expect(text(el, 'a', 'stage-count')).toBe('1')
    expect(calls.filter((c) => c.path === '/api/crm/pipelines/p1/board')).toHaveLength(1)
  })

  it('a drop on "Lost" asks for the reason, shows the server\'s field error, then sends reason and version', async () => {
    let attempt = 0
    const { calls } = scriptFetch({
      'GET /api/crm/pipelines': json(200, [PIPELINE]),
      'GET /api/crm/pipelines/p1/board': json(200, BOARD),
      'POST /api/crm/deals/d3/lost': () =>
        attempt++ === 0
          ? problem(422, 'validation_failed', { errors: [{ field: 'reason', code: 'required', message: 'required' }] })
          : json(200, { ...deal('d3', 'b', 1024, '50.00', 'CHF'), status: 'lost', lost_reason: 'Zu teuer', version: 2 }),
    })
    const el = await mount()
    drag(el, 'd3', 'dragstart')
    await flush()
    zone('lost', 'dragover')
    zone('lost', 'drop')
    await flush()
    const dialog = document.querySelector<HTMLFormElement>('[data-testid="lost-dialog"]')!
    expect(dialog).not.toBeNull()
    expect(titles(el, 'b')).toEqual(['Deal d3']) // still on the board until the server agrees
    dialog.requestSubmit()
    await flush()
    expect(document.querySelector('#crm-lost-reason')!.getAttribute('aria-invalid')).toBe('true')
    const reason = document.querySelector<HTMLTextAreaElement>('#crm-lost-reason')!
    reason.value = 'Zu teuer'
    reason.dispatchEvent(new Event('input'))
    dialog.requestSubmit()
    await flush()
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.body)).toEqual([{ version: 1, reason: '' }, { version: 1, reason: 'Zu teuer' }])
    expect(titles(el, 'b')).toEqual([])
    expect(text(el, 'b', 'stage-count')).toBe('0')
    expect(document.querySelector('[data-testid="lost-dialog"]')).toBeNull()
    expect(toasts.map((t) => t.message)).toContain('„Deal d3“ als verloren markiert.')
  })

  it('a won drop refused with 409 says why and reloads the board', async () => {
    const { calls } = scriptFetch({
      'GET /api/crm/pipelines': json(200, [PIPELINE]),
      'GET /api/crm/pipelines/p1/board': json(200, BOARD),
      'POST /api/crm/deals/d2/won': problem(409, 'version_conflict'),
    })
    const el = await mount()
    drag(el, 'd2', 'dragstart')
    await flush()
    zone('won', 'dragover')
    zone('won', 'drop')
    await flush()
    expect(calls.filter((c) => c.path === '/api/crm/pipelines/p1/board')).toHaveLength(2)
    expect(titles(el, 'a')).toEqual(['Deal d1', 'Deal d2'])
    expect(toasts.map((t) => t.message)).toContain('Jemand anderes hat diesen Deal gerade geändert. Das Board wurde neu geladen.')
  })

  it('the keyboard reaches "Won" below the last place; the move dialog offers "Lost"', async () => {
    const { calls } = scriptFetch({
      'GET /api/crm/pipelines': json(200, [PIPELINE]),
      'GET /api/crm/pipelines/p1/board': json(200, BOARD),
      'POST /api/crm/deals/d3/won': json(200, { ...deal('d3', 'b', 1024, '50.00', 'CHF'), status: 'won', version: 2 }),
    })
    const el = await mount()
    key(el, 'd3', ' ')
    await flush()
    expect(document.querySelector('[data-testid="board-outcome-bar"]')).not.toBeNull()
    key(el, 'd3', 'ArrowDown')
    await flush()
    expect(document.querySelector('[data-testid="board-drop-won"]')!.getAttribute('data-active')).toBe('true')
    expect(el.querySelector('[data-testid="board-live"]')!.textContent).toContain('„Gewonnen“')
    key(el, 'd3', ' ')
    await flush()
    expect(calls.filter((c) => c.method === 'POST')).toEqual([expect.objectContaining({ path: '/api/crm/deals/d3/won', body: { version: 1 } })])
    expect(titles(el, 'b')).toEqual([])

    // the move dialog: "Lost" opens the reason dialog instead of moving
    el.querySelector<HTMLElement>('li[data-deal-item="d1"] [data-testid="deal-move"]')!.click()
    await flush()
    const lost = document.querySelector<HTMLInputElement>('[data-testid="move-lost"] input')!
    lost.checked = true
    lost.dispatchEvent(new Event('change'))
    await flush()
    expect(document.querySelector('[data-testid="deal-move-submit"]')!.textContent).toContain('Als verloren markieren')
    document.querySelector<HTMLFormElement>('#crm-move-deal')!.requestSubmit()
    await flush()
    expect(document.querySelector('[data-testid="lost-dialog"]')).not.toBeNull()
    expect(calls.filter((c) => c.path.includes('/move'))).toHaveLength(0)
  })
})
