/**
 * What the contact list's export menu downloads: exactly the list's query (free text, type, tag, owner,
 * saved segment, custom-field filters — trimmed and cut as the list sends them — and the current sort),
 * without paging. Derived from `contactQuery`, so a filter the list learns reaches the export too (the test
 * compares both). The export writes its rows in the list's order, so the file reads like the screen.
 */
import type { ExportFilters } from '@/shared/contacts-import/wizard'
import { contactQuery, type ContactFilters } from './list'

const PLAIN = ['q', 'type', 'tag', 'owner_id', 'segment', 'sort'] as const
type PlainKey = (typeof PLAIN)[number]

export function exportFiltersOf(filters: ContactFilters, sort = 'name'): ExportFilters {
  const out: ExportFilters = {}
  const cf: Record<string, string> = {}
  for (const [key, value] of Object.entries(contactQuery(filters, sort))) {
    if (key.startsWith('cf.')) cf[key.slice(3)] = String(value)
    else if ((PLAIN as readonly string[]).includes(key)) out[key as PlainKey] = String(value)
  }
  if (Object.keys(cf).length) out.cf = cf
  return out
}
