/** The create / edit form's draft and its translation to the API's bodies (typed lists, custom fields by type). */
import type { Contact, ContactCreate, ContactUpdate, FieldDef } from './api'

type EmailType = 'work' | 'home' | 'other'
type PhoneType = 'work' | 'home' | 'mobile' | 'fax' | 'other'
type AddressType = 'work' | 'home' | 'billing' | 'shipping' | 'other'

export interface ContactDraft {
  type: 'person' | 'organization'
  first_name: string
  last_name: string
  company_name: string
  owner_id: string
  notes: string
  emails: { type: EmailType; value: string }[]
  phones: { type: PhoneType; value: string }[]
  addresses: { type: AddressType; street: string; postal_code: string; city: string; country: string }[]
  /** Form values: text for inputs and selects ('true'/'false' for checkboxes), arrays for multiselects. */
  custom: Record<string, string | string[]>
}

export function emptyDraft(): ContactDraft {
  return {
    type: 'person',
    first_name: '',
    last_name: '',
    company_name: '',
    owner_id: '',
    notes: '',
    emails: [{ type: 'work', value: '' }],
    phones: [{ type: 'work', value: '' }],
    addresses: [],
    custom: {},
  }
}

function str(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback
}

/** A stored custom value as the form shows it. */
export function toFormValue(def: FieldDef, value: unknown): string | string[] {
  if (def.type === 'multiselect') return Array.isArray(value) ? value.map(String) : []
  if (value === undefined || value === null) return ''
  if (def.type === 'checkbox') return value === true ? 'true' : value === false ? 'false' : ''
  return String(value)
}

/** A form value as the API takes it; null means "no value". */
export function fromFormValue(def: FieldDef, value: string | string[] | undefined): unknown {
  if (def.type === 'multiselect') return Array.isArray(value) && value.length ? value : null
  if (value === undefined || value === '' || Array.isArray(value)) return null
  if (def.type === 'number') {
    const number = Number(value)
    return Number.isFinite(number) ? number : value // the server names a non-number at the field
  }
  if (def.type === 'checkbox') return value === 'true'
  return value
}

export function draftFromContact(contact: Contact, defs: readonly FieldDef[]): ContactDraft {
  const custom: Record<string, string | string[]> = {}
  for (const def of defs) custom[def.key] = toFormValue(def, contact.custom_fields?.[def.key])
  return {
    type: contact.type,
    first_name: contact.first_name ?? '',
    last_name: contact.last_name ?? '',
    company_name: contact.company_name ?? '',
    owner_id: contact.owner_id ?? '',
    notes: contact.notes ?? '',
    emails: contact.emails.map((e) => ({ type: str(e.type, 'work') as EmailType, value: str(e.value) })),
    phones: contact.phones.map((p) => ({ type: str(p.type, 'work') as PhoneType, value: str(p.value) })),
    addresses: contact.addresses.map((a) => ({
      type: str(a.type, 'work') as AddressType,
      street: str(a.street),
      postal_code: str(a.postal_code),
      city: str(a.city),
      country: str(a.country, 'DE'),
    })),
    custom,
  }
}

/** Rows the user left empty are dropped (the indexes of field errors then match what was sent). */
function lists(draft: ContactDraft) {
  return {
    emails: draft.emails.filter((e) => e.value.trim()).map((e) => ({ type: e.type, value: e.value.trim() })),
    phones: draft.phones.filter((p) => p.value.trim()).map((p) => ({ type: p.type, value: p.value.trim() })),
    addresses: draft.addresses
      .filter((a) => a.street.trim() || a.city.trim() || a.postal_code.trim())
      .map((a) => ({ ...a, country: (a.country || 'DE').toUpperCase() })),
  }
}

function names(draft: ContactDraft) {
  const person = draft.type === 'person'
  return {
    first_name: person ? draft.first_name.trim() || null : null,
    last_name: person ? draft.last_name.trim() || null : null,
    company_name: draft.company_name.trim() || null,
  }
}

export function draftToCreate(draft: ContactDraft, defs: readonly FieldDef[]): ContactCreate {
  const custom: Record<string, unknown> = {}
  for (const def of defs) {
    const value = fromFormValue(def, draft.custom[def.key])
    if (value !== null) custom[def.key] = value
  }
  const body: ContactCreate = { type: draft.type, source: 'manual', ...names(draft), ...lists(draft), notes: draft.notes, custom_fields: custom }
  if (draft.owner_id) body.owner_id = draft.owner_id
  return body
}

/** The PATCH body: everything the form edits, custom keys emptied as null, and the version for the 409 check. */
export function draftToUpdate(draft: ContactDraft, original: Contact, defs: readonly FieldDef[]): ContactUpdate {
  const custom: Record<string, unknown> = {}
  for (const def of defs) {
    const value = fromFormValue(def, draft.custom[def.key])
    const had = original.custom_fields?.[def.key] !== undefined && original.custom_fields?.[def.key] !== null
    if (value !== null || had) custom[def.key] = value
  }
  const body: ContactUpdate = {
    version: original.version,
    type: draft.type,
    ...names(draft),
    ...lists(draft),
    notes: draft.notes,
    custom_fields: custom,
  }
  if (draft.owner_id) body.owner_id = draft.owner_id
  return body
}

/** Drop the rows left empty from the draft itself, so the server's "emails.1.value" points at the row shown second. */
export function compactDraft(draft: ContactDraft): void {
  draft.emails = draft.emails.filter((e) => e.value.trim())
  draft.phones = draft.phones.filter((p) => p.value.trim())
  draft.addresses = draft.addresses.filter((a) => a.street.trim() || a.city.trim() || a.postal_code.trim())
}
