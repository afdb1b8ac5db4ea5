import { describe, expect, it } from 'vitest'
import type { Contact, MergePreview } from './api'
import { defaultChoices, mergeRequest, mergeRows, resultText } from './merge'

function contact(id: string, patch: Partial<Contact>): Contact {
  return {
    id,
    type: 'person',
    display_name: '',
    first_name: null,
    last_name: null,
    company_name: null,
    emails: [],
    phones: [],
    addresses: [],
    custom_fields: {},
    avatar_url: null,
    notes: '',
    source: 'manual',
    owner_id: null,
    version: 1,
    created_at: '',
    updated_at: '',
    tags: [],
    ...patch,
  }
}

const PREVIEW: MergePreview = {
  this: contact('a', { display_name: 'Peter Wolf', first_name: 'Peter', last_name: 'Wolf', emails: [{ type: 'work', value: 'p@wolf.de' }], version: 3, custom_fields: { branche: 'IT' } }),
  other: contact('b', { display_name: 'P. Wolf', first_name: 'P.', last_name: 'Wolf', emails: [{ type: 'home', value: 'peter@gmx.de' }], version: 5, custom_fields: { branche: 'Handel' } }),
  conflicts: ['first_name', 'emails'],
  custom_field_conflicts: ['branche'],
  defaults: { first_name: 'this', emails: 'both' },
  custom_field_defaults: { branche: 'this' },
  score: 0.9,
  reasons: [{ code: 'similar_name', value: 'P. Wolf', score: 0.9 }],
}

const FMT = { type: (v: string) => v, owner: (id: string | null) => id ?? '' }
const FIELDS = [{ id: 'f', entity: 'contact' as const, key: 'branche', label: 'Branche', type: 'select' as const, options: [], required: false, position: 0, created_at: '' }]

describe('merge wizard', () => {
  it('asks only where the two differ', () => {
    const rows = mergeRows(PREVIEW, FIELDS, FMT)
    const differing = rows.filter((r) => !r.same).map((r) => r.id)
    expect(differing).toEqual(['first_name', 'emails', 'cf.branche'])
    expect(rows.find((r) => r.id === 'last_name')?.same).toBe(true)
  })

  it('starts from the server defaults and sends both versions with the choices', () => {
    const rows = mergeRows(PREVIEW, FIELDS, FMT)
    const choices = defaultChoices(PREVIEW, rows)
    expect(choices.first_name).toBe('this')
    expect(choices.emails).toBe('both')
    expect(choices['cf.branche']).toBe('this')
    choices.first_name = 'other'
    choices['cf.branche'] = 'other'
    const body = mergeRequest(PREVIEW, choices)
    expect(body).toMatchObject({ other_id: 'b', version: 3, other_version: 5, custom_fields: { branche: 'other' } })
    expect(body.fields).toMatchObject({ first_name: 'other', emails: 'both' })
    expect(body.fields).not.toHaveProperty('cf.branche')
    const emails = rows.find((r) => r.id === 'emails')!
    expect(resultText(emails, 'both')).toBe('p@wolf.de, peter@gmx.de')
    expect(resultText(emails, 'other')).toBe('peter@gmx.de')
  })
})
