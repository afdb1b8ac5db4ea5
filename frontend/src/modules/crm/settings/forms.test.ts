import { describe, expect, it } from 'vitest'
import type { LeadForm } from './api'
import {
  createBody,
  draftOf,
  extraKeyProblem,
  extraLabel,
  fallbackEmbed,
  formFields,
  keyFromLabel,
  STANDARD_FIELDS,
  updateBody,
  validateForm,
} from './forms'

const form = (extra: Partial<LeadForm> = {}): LeadForm => ({
  id: 'f1',
  name: 'Kontakt',
  form_key: 'k3y',
  is_active: true,
  extra_fields: ['branche'],
  tag_ids: ['t1'],
  redirect_url: null,
  success_message: 'Danke',
  version: 1,
  created_at: '2026-01-01T00:00:00Z',
  submit_url: '/api/crm/public/forms/k3y',
  embed_url: '/api/crm/public/forms/k3y/embed',
  submission_count: 0,
  ...extra,
})

describe('form field list', () => {
  it('lists the standard fields first (e-mail required), then the extra ones', () => {
    const fields = formFields(['branche', 'mitarbeiter'])
    expect(fields.map((f) => f.key)).toEqual([...STANDARD_FIELDS, 'branche', 'mitarbeiter'])
    expect(fields.filter((f) => f.required).map((f) => f.key)).toEqual(['email'])
    expect(fields.find((f) => f.key === 'message')?.input).toBe('textarea')
    expect(fields.find((f) => f.key === 'phone')?.input).toBe('tel')
    expect(fields.filter((f) => !f.standard).every((f) => f.input === 'text')).toBe(true)
  })

  it('turns a typed label into a key the server accepts, and back into its label', () => {
    expect(keyFromLabel('Anzahl Mitarbeiter')).toBe('anzahl_mitarbeiter')
    expect(keyFromLabel('  Größe (m²) ')).toBe('groesse_m2')
    expect(keyFromLabel('Café')).toBe('cafe')
    expect(keyFromLabel('2. Wahl')).toBe('f_2_wahl')
    expect(extraLabel('anzahl_mitarbeiter')).toBe('Anzahl mitarbeiter')
  })

  it('refuses keys the server refuses', () => {
    expect(extraKeyProblem('branche', [])).toBeNull()
    expect(extraKeyProblem('', [])).toBe('keyEmpty')
    expect(extraKeyProblem('email', [])).toBe('keyReserved')
    expect(extraKeyProblem('website', [])).toBe('keyReserved')
    expect(extraKeyProblem('branche', ['branche'])).toBe('keyDuplicate')
    expect(extraKeyProblem('_1', [])).toBe('keyInvalid')
    expect(extraKeyProblem('neu', Array.from({ length: 20 }, (_, i) => `f${i}`))).toBe('tooMany')
  })
})

describe('form drafts', () => {
  it('validates name, redirect URL and thank-you text', () => {
    const draft = draftOf(form())
    expect(validateForm(draft)).toEqual({})
    expect(validateForm({ ...draft, name: ' ', redirect_url: 'ftp://x', success_message: 'x'.repeat(501) })).toEqual({
      name: 'nameRequired',
      redirect_url: 'url',
      success_message: 'tooLong',
    })
  })

  it('sends null for an empty redirect and only the changes on update', () => {
    expect(createBody({ ...draftOf(form()), redirect_url: '  ' }).redirect_url).toBeNull()
    const stored = form()
    expect(updateBody(stored, draftOf(stored))).toEqual({})
    expect(updateBody(stored, { ...draftOf(stored), extra_fields: ['branche', 'groesse'], redirect_url: 'https://x.de/danke' })).toEqual({
      extra_fields: ['branche', 'groesse'],
      redirect_url: 'https://x.de/danke',
    })
    expect(updateBody(form({ tag_ids: ['a', 'b'] }), { ...draftOf(form({ tag_ids: ['a', 'b'] })), tag_ids: ['b', 'a'] })).toEqual({})
  })

  it('builds an embed snippet like the server: escaped, with the honeypot', () => {
    const code = fallbackEmbed('https://demo.example/api/crm/public/forms/k"y', formFields(['branche']), (f) => (f.key === 'branche' ? 'Branche <B>' : f.key), 'Senden')
    expect(code).toContain('action="https://demo.example/api/crm/public/forms/k&quot;y"')
    expect(code).toContain('<input type="email" name="email" required>')
    expect(code).toContain('<textarea name="message" rows="4"></textarea>')
    expect(code).toContain('Branche &lt;B&gt;<br><input type="text" name="branche">')
    expect(code).toContain('name="website" tabindex="-1"')
    expect(code).toContain('<button type="submit">Senden</button>')
  })
})
