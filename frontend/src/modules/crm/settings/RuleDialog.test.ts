import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp, h, nextTick, ref } from 'vue'
import { i18n } from '@/core/i18n'
import { json, problem, scriptFetch } from '@/test/fetch'
import de from '../locales/de'
import type { ScoreRule } from './api'
import RuleDialog from './RuleDialog.vue'

i18n.global.mergeLocaleMessage('de', { mod: { crm: de } })

async function flush(): Promise<void> {
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 0))
    await nextTick()
  }
}

function mount(rule: ScoreRule | null = null) {
  const saved = ref<ScoreRule[]>([])
  const el = document.createElement('div')
  document.body.append(el)
  createApp({
    render: () =>
      h(RuleDialog, {
        open: true,
        rule,
        tags: [{ id: 't1', name: 'VIP', color: '#eab308', created_at: '2026-01-01T00:00:00Z' }],
        formKeys: ['branche'],
        onSaved: (r: ScoreRule) => saved.value.push(r),
      }),
  })
    .use(i18n)
    .mount(el)
  return { saved }
}

function input(id: string, value: string): void {
  const el = document.getElementById(id) as HTMLInputElement | HTMLSelectElement
  el.value = value
  el.dispatchEvent(new Event(el instanceof HTMLSelectElement ? 'change' : 'input'))
}

const sentence = () => document.querySelector('[data-testid="rule-sentence"]')?.textContent ?? ''

beforeEach(() => {
  i18n.global.locale.value = 'de'
  // happy-dom's <dialog> has no showModal in every version
  HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
    this.setAttribute('open', '')
  }
})
afterEach(() => {
  document.body.innerHTML = ''
  vi.unstubAllGlobals()
})

describe('RuleDialog', () => {
  it('explains the rule as it is typed and sends it', async () => {
    const { calls } = scriptFetch({
      'POST /api/crm/score-rules': json(201, { id: 'r', name: 'VIP', field: 'tag', operator: 'has_tag', value: 't1', points: 40, is_active: true, version: 1 }),
    })
    const { saved } = mount()
    await flush()
    expect(sentence()).toContain('Leads, bei denen das Feld „Firma“ ausgefüllt ist, bekommen 10 Punkte.')
    input('rule-subject', 'tag')
    await flush()
    expect(sentence()).toContain('Vervollständigen Sie die Bedingung.')
    input('rule-value', 't1')
    input('rule-points', '40')
    input('rule-name', 'VIP-Kunden')
    await flush()
    expect(sentence()).toContain('Leads mit dem Tag „VIP“ bekommen 40 Punkte.')
    document.querySelector<HTMLFormElement>('#rule-form')!.dispatchEvent(new Event('submit', { cancelable: true }))
    await flush()
    expect(calls.at(-1)?.body).toEqual({ name: 'VIP-Kunden', field: 'tag', operator: 'has_tag', value: 't1', points: 40, is_active: true })
    expect(saved.value).toHaveLength(1)
  })

  it('shows its own and the server complaints at the fields', async () => {
    scriptFetch({
      'POST /api/crm/score-rules': problem(422, 'validation_error', { errors: [{ field: 'value', message: 'a tag id', in: 'body' }] }),
    })
    mount()
    await flush()
    document.querySelector<HTMLFormElement>('#rule-form')!.dispatchEvent(new Event('submit', { cancelable: true }))
    await flush()
    expect(document.getElementById('rule-name-error')?.textContent).toContain('Bitte einen Namen eingeben.')
    input('rule-name', 'Firma')
    input('rule-operator', 'contains')
    await flush()
    input('rule-value', 'GmbH')
    await flush()
    expect(document.getElementById('rule-name-error')).toBeNull()
    document.querySelector<HTMLFormElement>('#rule-form')!.dispatchEvent(new Event('submit', { cancelable: true }))
    await flush()
    expect(document.getElementById('rule-value-error')).not.toBeNull()
  })
})
