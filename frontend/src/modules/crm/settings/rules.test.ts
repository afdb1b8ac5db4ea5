import { describe, expect, it } from 'vitest'
import { i18n } from '@/core/i18n'
import de from '../locales/settings.de'
import en from '../locales/settings.en'
import type { ScoreRule } from './api'
import { createBody, draftOf, emptyDraft, needsRecreate, operatorsFor, ruleSentence, updateBody, validateRule } from './rules'

i18n.global.mergeLocaleMessage('de', { mod: { crm: { settings: de } } })
i18n.global.mergeLocaleMessage('en', { mod: { crm: { settings: en } } })
const t = i18n.global.t as (key: string, params?: Record<string, unknown>) => string

const rule = (extra: Partial<ScoreRule> = {}): ScoreRule => ({
  id: 'r1',
  name: 'Firmenkunde',
  field: 'company_name',
  operator: 'exists',
  value: '',
  points: 30,
  is_active: true,
  version: 1,
  ...extra,
})

describe('rule sentence', () => {
  it('says in one sentence what each kind of rule does (German)', () => {
    i18n.global.locale.value = 'de'
    expect(ruleSentence(rule(), t)).toBe('Leads, bei denen das Feld „Firma“ ausgefüllt ist, bekommen 30 Punkte.')
    expect(ruleSentence(rule({ field: 'message', operator: 'contains', value: 'Angebot', points: 25 }), t)).toBe(
      'Leads, bei denen das Feld „Nachricht“ „Angebot“ enthält, bekommen 25 Punkte.',
    )
    expect(ruleSentence(rule({ field: 'data.branche', operator: 'equals', value: 'Maschinenbau', points: -5 }), t)).toBe(
      'Leads, bei denen das Formularfeld „branche“ gleich „Maschinenbau“ ist, bekommen 5 Punkte abgezogen.',
    )
    expect(ruleSentence(rule({ field: 'tag', operator: 'has_tag', value: 't1', points: 10 }), t, (id) => (id === 't1' ? 'VIP' : null))).toBe(
      'Leads mit dem Tag „VIP“ bekommen 10 Punkte.',
    )
    expect(ruleSentence(rule({ field: 'source', operator: 'equals', value: 'web_form', points: 5 }), t)).toBe(
      'Leads, bei denen das Feld „Quelle“ gleich „Web-Formular“ ist, bekommen 5 Punkte.',
    )
  })

  it('speaks English too', () => {
    i18n.global.locale.value = 'en'
    expect(ruleSentence(rule({ field: 'region', operator: 'equals', value: 'Nord', points: -20 }), t)).toBe(
      'Leads whose region is “Nord” get minus 20 points.',
    )
    expect(ruleSentence(rule(), t)).toBe('Leads with a company get 30 points.')
    i18n.global.locale.value = 'de'
  })
})

describe('rule drafts', () => {
  it('offers has_tag only for tags and the text comparisons otherwise', () => {
    expect(operatorsFor('tag')).toEqual(['has_tag'])
    expect(operatorsFor('email')).toEqual(['equals', 'contains', 'exists'])
  })

  it('validates like the server, live', () => {
    expect(validateRule({ ...emptyDraft(), name: 'Firma' })).toEqual({})
    expect(validateRule({ ...emptyDraft(), name: '', points: 2000 })).toEqual({ name: 'nameRequired', points: 'points' })
    expect(validateRule({ ...emptyDraft(), name: 'x', operator: 'contains', value: ' ' }).value).toBe('valueRequired')
    expect(validateRule({ ...emptyDraft(), name: 'x', subject: 'tag', operator: 'has_tag', value: '' }).value).toBe('tagRequired')
    expect(validateRule({ ...emptyDraft(), name: 'x', subject: 'tag', operator: 'equals', value: 'a' }).operator).toBe('operator')
    expect(validateRule({ ...emptyDraft(), name: 'x', subject: 'data', dataKey: 'Branche!' }).field).toBe('dataKey')
    expect(validateRule({ ...emptyDraft(), name: 'x', points: '1.5' }).points).toBe('points')
    expect(validateRule({ ...emptyDraft(), name: 'x', points: 0 }).points).toBe('pointsZero')
  })

  it('builds the create body (data fields as data.<key>, no value for "exists")', () => {
    expect(createBody({ ...emptyDraft(), name: ' Branche ', subject: 'data', dataKey: 'branche', operator: 'equals', value: ' IT ', points: '15' })).toEqual({
      name: 'Branche',
      field: 'data.branche',
      operator: 'equals',
      value: 'IT',
      points: 15,
      is_active: true,
    })
    expect(createBody({ ...emptyDraft(), name: 'x', value: 'left over' }).value).toBe('')
  })

  it('round-trips a stored rule and sends only what changed', () => {
    const stored = rule({ field: 'data.branche', operator: 'equals', value: 'IT', points: 10 })
    const draft = draftOf(stored)
    expect(draft.subject).toBe('data')
    expect(draft.dataKey).toBe('branche')
    expect(updateBody(stored, draft)).toEqual({})
    expect(needsRecreate(stored, draft)).toBe(false)
    expect(updateBody(stored, { ...draft, points: 20, is_active: false })).toEqual({ points: 20, is_active: false })
    expect(needsRecreate(stored, { ...draft, operator: 'contains' })).toBe(true)
  })
})
