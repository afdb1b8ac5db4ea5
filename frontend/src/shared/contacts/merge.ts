/** The merge wizard's logic: which fields to ask about, the default choices and what the survivor will hold. */
import type { Contact, FieldDef, ListMergeChoice, MergeChoice, MergePreview, MergeRequest } from './api'

export interface MergeRow {
  /** Field name in MergeFieldChoices, or `cf.<key>` for a custom field. */
  id: string
  /** i18n key (built-in) or the custom field's label. */
  label: string
  custom: boolean
  list: boolean
  left: string
  right: string
  /** Both sides hold the same value (or one is empty): nothing to choose. */
  same: boolean
}

export const SCALAR_FIELDS: { id: string; label: string }[] = [
  { id: 'type', label: 'mod.contacts.col.type' },
  { id: 'first_name', label: 'mod.contacts.form.firstName' },
  { id: 'last_name', label: 'mod.contacts.form.lastName' },
  { id: 'company_name', label: 'mod.contacts.form.companyName' },
  { id: 'owner_id', label: 'mod.contacts.col.owner' },
]

export const LIST_FIELDS: { id: 'emails' | 'phones' | 'addresses' | 'notes'; label: string }[] = [
  { id: 'emails', label: 'mod.contacts.detail.emails' },
  { id: 'phones', label: 'mod.contacts.detail.phones' },
  { id: 'addresses', label: 'mod.contacts.detail.addresses' },
  { id: 'notes', label: 'mod.contacts.form.notes' },
]

export interface Formatters {
  type: (value: string) => string
  owner: (id: string | null) => string
}

function listText(contact: Contact, id: 'emails' | 'phones' | 'addresses' | 'notes'): string {
  if (id === 'notes') return contact.notes ?? ''
  const items = contact[id] as Record<string, unknown>[]
  if (id === 'addresses') return items.map((a) => [a.street, [a.postal_code, a.city].filter(Boolean).join(' ')].filter(Boolean).join(', ')).join(' | ')
  return items.map((e) => String(e.value ?? '')).join(', ')
}

function customText(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (Array.isArray(value)) return value.join(', ')
  return String(value)
}

export function mergeRows(preview: MergePreview, fields: readonly FieldDef[], fmt: Formatters): MergeRow[] {
  const a = preview.this
  const b = preview.other
  const rows: MergeRow[] = []
  for (const field of SCALAR_FIELDS) {
    const raw = (c: Contact) => (c as unknown as Record<string, unknown>)[field.id]
    const text = (c: Contact) => {
      const value = raw(c)
      if (field.id === 'type') return fmt.type(String(value))
      if (field.id === 'owner_id') return value ? fmt.owner(String(value)) : ''
      return value === null || value === undefined ? '' : String(value)
    }
    const left = text(a)
    const right = text(b)
    rows.push({ id: field.id, label: field.label, custom: false, list: false, left, right, same: left === right || !right || !left })
  }
  for (const field of LIST_FIELDS) {
    const left = listText(a, field.id)
    const right = listText(b, field.id)
    rows.push({ id: field.id, label: field.label, custom: false, list: true, left, right, same: left === right || !right || !left })
  }
  const keys = new Set([...Object.keys(a.custom_fields ?? {}), ...Object.keys(b.custom_fields ?? {})])
  for (const def of [...fields].sort((x, y) => x.position - y.position)) {
    if (!keys.has(def.key)) continue
    const left = customText(a.custom_fields?.[def.key])
    const right = customText(b.custom_fields?.[def.key])
    rows.push({ id: `cf.${def.key}`, label: def.label, custom: true, list: false, left, right, same: left === right || !right || !left })
  }
  return rows
}

/** The server's defaults, filled up: lists default to "both", scalars to the side that has a value. */
export function defaultChoices(preview: MergePreview, rows: readonly MergeRow[]): Record<string, MergeChoice | ListMergeChoice> {
  const out: Record<string, MergeChoice | ListMergeChoice> = {}
  for (const row of rows) {
    const server = row.custom ? preview.custom_field_defaults[row.id.slice(3)] : preview.defaults[row.id]
    if (server === 'this' || server === 'other' || (server === 'both' && row.list)) out[row.id] = server
    else if (row.list) out[row.id] = 'both'
    else out[row.id] = row.left || !row.right ? 'this' : 'other'
  }
  return out
}

/** The value the survivor will have for a row under a choice. */
export function resultText(row: MergeRow, choice: MergeChoice | ListMergeChoice | undefined): string {
  if (choice === 'both') return [row.left, row.right].filter(Boolean).join(row.id === 'notes' ? '\n\n' : ', ')
  if (choice === 'other') return row.right
  return row.left
}

export function mergeRequest(preview: MergePreview, choices: Record<string, MergeChoice | ListMergeChoice>): MergeRequest {
  const fields: MergeRequest['fields'] = {}
  const custom: MergeRequest['custom_fields'] = {}
  for (const [id, choice] of Object.entries(choices)) {
    if (id.startsWith('cf.')) {
      if (choice === 'this' || choice === 'other') custom[id.slice(3)] = choice
    } else fields[id] = choice
  }
  return { other_id: preview.other.id, version: preview.this.version, other_version: preview.other.version, fields, custom_fields: custom }
}
