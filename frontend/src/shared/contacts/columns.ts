/** The list's columns: built-in ones and one per custom field; the user's choice is a preference. */
import type { Contact, FieldDef } from './api'

export interface Column {
  id: string
  /** i18n key (built-in) or the custom field's label. */
  label: string
  custom: boolean
  /** Sort key for GET /api/contacts?sort= (custom fields: cf.<key>). */
  sort?: string
  /** Tailwind width class of the table cell. */
  width: string
  fieldType?: FieldDef['type']
}

export const PREF_KEY = 'contacts.columns'

export const BUILTIN_COLUMNS: Column[] = [
  { id: 'name', label: 'mod.contacts.col.name', custom: false, sort: 'name', width: 'w-64' },
  { id: 'type', label: 'mod.contacts.col.type', custom: false, width: 'w-32' },
  { id: 'email', label: 'mod.contacts.col.email', custom: false, width: 'w-64' },
  { id: 'phone', label: 'mod.contacts.col.phone', custom: false, width: 'w-44' },
  { id: 'city', label: 'mod.contacts.col.city', custom: false, width: 'w-36' },
  { id: 'tags', label: 'mod.contacts.col.tags', custom: false, width: 'w-56' },
  { id: 'owner', label: 'mod.contacts.col.owner', custom: false, width: 'w-40' },
  { id: 'created_at', label: 'mod.contacts.col.created', custom: false, sort: 'created_at', width: 'w-36' },
]

export const DEFAULT_COLUMNS = ['name', 'type', 'email', 'phone', 'tags', 'created_at']

export function customColumns(defs: readonly FieldDef[]): Column[] {
  return [...defs]
    .sort((a, b) => a.position - b.position)
    .map((def) => ({ id: `cf.${def.key}`, label: def.label, custom: true, sort: `cf.${def.key}`, width: 'w-40', fieldType: def.type }))
}

export function allColumns(defs: readonly FieldDef[]): Column[] {
  return [...BUILTIN_COLUMNS, ...customColumns(defs)]
}

/** The saved choice, cleaned: unknown ids dropped, the name column always first. */
export function chosenColumns(saved: unknown, available: readonly Column[]): Column[] {
  const ids = Array.isArray(saved) && saved.every((x) => typeof x === 'string') && saved.length ? (saved as string[]) : DEFAULT_COLUMNS
  const byId = new Map(available.map((c) => [c.id, c]))
  const out: Column[] = [byId.get('name')!]
  for (const id of ids) {
    const column = byId.get(id)
    if (column && id !== 'name') out.push(column)
  }
  return out
}

export function primaryEmail(contact: Contact): string {
  const value = contact.emails[0]?.value
  return typeof value === 'string' ? value : ''
}

export function primaryPhone(contact: Contact): string {
  const value = contact.phones[0]?.value
  return typeof value === 'string' ? value : ''
}

export function primaryCity(contact: Contact): string {
  const value = contact.addresses[0]?.city
  return typeof value === 'string' ? value : ''
}

/** A custom field's value as text (lists joined, booleans as ✓ / –). */
export function customValue(contact: Contact, key: string, yes = '✓', no = '–'): string {
  const value = contact.custom_fields?.[key]
  if (value === undefined || value === null || value === '') return ''
  if (Array.isArray(value)) return value.join(', ')
  if (typeof value === 'boolean') return value ? yes : no
  return String(value)
}
