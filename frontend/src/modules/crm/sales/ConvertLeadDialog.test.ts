import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp, h, nextTick } from 'vue'
import { i18n } from '@/core/i18n'
import { json, scriptFetch } from '@/test/fetch'
import de from '../locales/de'
import type { LeadDetail } from './api'
import ConvertLeadDialog from './ConvertLeadDialog.vue'

i18n.global.mergeLocaleMessage('de', { mod: { crm: de } })

const LEAD = {
  id: 'l1', first_name: 'Jonas', last_name: 'Hartmann', company_name: 'Hartmann Metallbau', email: 'j@h.de', phone: null, region: null,
  message: '', data: {}, source: 'web_form', status: 'new', owner_id: null, form_id: null, score: 50, routed_at: null, converted_at: null,
  converted_contact_id: null, converted_organization_id: null, converted_deal_id: null, tags: [], version: 3, created_at: '', updated_at: '',
  score_history: [],
} as unknown as LeadDetail
const PIPELINES = [
  { id: 'p1', name: 'Neugeschäft', is_default: true, position: 1, version: 1, created_at: '', stages: [{ id: 's1', pipeline_id: 'p1', name: 'Lead', color: '#000000', probability: 10, rotting_days: null, position: 0 }, { id: 's2', pipeline_id: 'p1', name: 'Angebot', color: '#000000', probability: 50, rotting_days: null, position: 1 }] },
]

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 0))
    await nextTick()
  }
}

function mount(onConverted: (r: unknown) => void) {
  // jsdom has no <dialog> methods
  HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) { this.setAttribute('open', '') }
  HTMLDialogElement.prototype.close ??= function (this: HTMLDialogElement) { this.removeAttribute('open') }
  const el = document.createElement('div')
  document.body.append(el)
  createApp({ render: () => h(ConvertLeadDialog, { open: true, lead: LEAD, onConverted }) }).use(i18n).mount(el)
  return el
}

beforeEach(() => {
  i18n.global.locale.value = 'de'
})
afterEach(() => {
  document.body.innerHTML = ''
  vi.unstubAllGlobals()
})

describe('convert lead dialog', () => {
  it('offers the duplicate candidates, uses the picked one and creates the rest after a confirmed choice', async () => {
    const { calls } = scriptFetch({
      'GET /api/crm/leads/l1/duplicates': json(200, [
        { id: 'c1', type: 'person', display_name: 'Jonas Hartmann', score: 0.92, role: 'person' },
        { id: 'o1', type: 'organization', display_name: 'Hartmann Metallbau GmbH', score: 0.8, role: 'organization' },
      ]),
      'GET /api/crm/pipelines': json(200, PIPELINES),
      'POST /api/crm/leads/l1/convert': json(200, { lead: { ...LEAD, status: 'converted' }, contact_id: 'c1', organization_id: 'o9', deal: { id: 'd1' } }),
    })
    const converted = vi.fn()
    const el = mount(converted)
    await flush()
    expect(el.textContent).toContain('„Jonas Hartmann“ verwenden')
    expect(el.textContent).toContain('92 % Übereinstimmung')
    el.querySelector<HTMLInputElement>('input[name="convert-person"][value="c1"]')!.click()
    el.querySelector<HTMLButtonElement>('[data-testid="convert-next"]')!.click()
    await flush()
    const stage = el.querySelector<HTMLSelectElement>('#convert-stage')!
    stage.value = 's2'
    stage.dispatchEvent(new Event('change'))
    const value = el.querySelector<HTMLInputElement>('#convert-value')!
    value.value = '1500,50'
    value.dispatchEvent(new Event('input'))
    el.querySelector<HTMLFormElement>('#convert-deal-form')!.dispatchEvent(new Event('submit', { cancelable: true }))
    await flush()
    const post = calls.find((c) => c.method === 'POST')!
    expect(post.body).toMatchObject({
      version: 3, contact_id: 'c1', organization_id: null, ignore_duplicates: true, create_deal: true,
      pipeline_id: 'p1', stage_id: 's2', deal_title: 'Hartmann Metallbau', value: '1500.50', currency: 'EUR',
    })
    expect(converted).toHaveBeenCalledOnce()
  })
})
