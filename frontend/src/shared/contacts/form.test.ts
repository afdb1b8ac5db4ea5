import { describe, expect, it } from 'vitest'
import type { Contact, FieldDef } from './api'
import { compactDraft, draftFromContact, draftToCreate, draftToUpdate, emptyDraft } from './form'
import { allColumns, chosenColumns, customValue, DEFAULT_COLUMNS } from './columns'

const FIELDS: FieldDef[] = [
  { id: '1', entity: 'contact', key: 'umsatz', label: 'Umsatz', type: 'number', options: [], required: false, position: 0, created_at: '' },
  { id: '2', entity: 'contact', key: 'vip', label: 'VIP', type: 'checkbox', options: [], required: false, position: 1, created_at: '' },
  { id: '3', entity: 'contact', key: 'themen', label: 'Themen', type: 'multiselect', options: ['a', 'b'], required: false, position: 2, created_at: '' },
  { id: '4', entity: 'contact', key: 'branche', label: 'Branche', type: 'select', options: ['IT'], required: false, position: 3, created_at: '' },
]

const CONTACT: Contact = {
  id: 'c1',
  type: 'person',
  display_name: 'Anna Richter',
  first_name: 'Anna',
  last_name: 'Richter',
  company_name: null,
  emails: [{ type: 'home', value: 'anna@example.com' }],
  phones: [],
  addresses: [{ type: 'home', street: 'Weg 1', postal_code: '10435', city: 'Berlin', country: 'DE' }],
  custom_fields: { umsatz: 1200, vip: true, themen: ['a'], branche: 'IT' },
  avatar_url: null,
  notes: '',
  source: 'manual',
  owner_id: null,
  version: 7,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  tags: [],
}

describe('contact form', () => {
  it('creates with typed lists and custom values converted by field type', () => {
    const draft = emptyDraft()
    draft.first_name = ' Lukas '
    draft.last_name = 'Koch'
    draft.emails = [{ type: 'work', value: 'l.koch@example.com' }, { type: 'home', value: '  ' }]
    draft.custom = { umsatz: '42.5', vip: 'false', themen: ['b'], branche: '' }
    const body = draftToCreate(draft, FIELDS)
    expect(body).toMatchObject({ type: 'person', first_name: 'Lukas', last_name: 'Koch', company_name: null })
    expect(body.emails).toEqual([{ type: 'work', value: 'l.koch@example.com' }])
    expect(body.phones).toEqual([])
    expect(body.custom_fields).toEqual({ umsatz: 42.5, vip: false, themen: ['b'] })
    expect(body.owner_id).toBeUndefined()
  })

  it('edits with the version it loaded and clears emptied custom fields with null', () => {
    const draft = draftFromContact(CONTACT, FIELDS)
    expect(draft.custom).toEqual({ umsatz: '1200', vip: 'true', themen: ['a'], branche: 'IT' })
    draft.custom.branche = ''
    draft.custom.themen = []
    const body = draftToUpdate(draft, CONTACT, FIELDS)
    expect(body.version).toBe(7)
    expect(body.custom_fields).toEqual({ umsatz: 1200, vip: true, themen: null, branche: null })
    expect(body.addresses).toEqual([{ type: 'home', street: 'Weg 1', postal_code: '10435', city: 'Berlin', country: 'DE' }])
  })

  it('drops empty rows so server error indexes match the rows shown', () => {
    const draft = emptyDraft()
    draft.emails = [{ type: 'work', value: '' }, { type: 'work', value: 'kaputt' }]
    compactDraft(draft)
    expect(draft.emails).toEqual([{ type: 'work', value: 'kaputt' }])
    expect(draft.phones).toEqual([])
  })
})

describe('columns', () => {
  it('keeps the name column first and drops unknown saved ids', () => {
    const available = allColumns(FIELDS)
    expect(chosenColumns(undefined, available).map((c) => c.id)).toEqual(DEFAULT_COLUMNS)
    expect(chosenColumns(['cf.vip', 'gone', 'email'], available).map((c) => c.id)).toEqual(['name', 'cf.vip', 'email'])
    expect(available.find((c) => c.id === 'cf.umsatz')).toMatchObject({ custom: true, sort: 'cf.umsatz', label: 'Umsatz' })
  })

  it('shows custom values as text', () => {
    expect(customValue(CONTACT, 'themen')).toBe('a')
    expect(customValue(CONTACT, 'vip', 'Ja', 'Nein')).toBe('Ja')
    expect(customValue(CONTACT, 'missing')).toBe('')
  })
})
