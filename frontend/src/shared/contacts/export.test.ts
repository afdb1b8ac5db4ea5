import { describe, expect, it } from 'vitest'
import { exportUrl, type ExportFormat } from '@/shared/contacts-import/wizard'
import { exportFiltersOf } from './export'
import { contactQuery, emptyFilters, nextSort, type ContactFilters } from './list'

function filters(over: Partial<ContactFilters>): ContactFilters {
  return { ...emptyFilters(), ...over }
}

/** The query of an address as a sorted list of [key, value] pairs. */
function params(url: string): [string, string][] {
  return [...new URL(url, 'http://x').searchParams.entries()].sort()
}

/** What the list asks GET /api/contacts for, without paging. */
function listParams(f: ContactFilters, sort: string): [string, string][] {
  return Object.entries(contactQuery(f, sort))
    .filter(([key]) => key !== 'limit')
    .map(([key, value]): [string, string] => [key, String(value)])
    .sort()
}

describe('contact export address', () => {
  const cases: ContactFilters[] = [
    emptyFilters(),
    filters({ segment: 'seg-1' }),
    filters({ q: '  Müller & Söhne  ', type: 'organization', tag: 't1', owner_id: 'u1', segment: 'seg-1', cf: { branche: 'IT', leer: '', 'größe': '10 000' } }),
    filters({ q: 'x'.repeat(150), type: 'person' }),
  ]

  it('carries exactly the filters and the sort of the list, the saved segment included', () => {
    for (const f of cases) {
      for (const sort of ['name', '-name', '-created_at', 'cf.branche', '-cf.größe']) {
        expect(params(exportUrl('csv', exportFiltersOf(f, sort)))).toEqual(listParams(f, sort))
        expect(params(exportUrl('xlsx', exportFiltersOf(f, sort)))).toEqual(listParams(f, sort))
        for (const format of ['vcf3', 'vcf4'] as ExportFormat[]) {
          const sent = params(exportUrl(format, exportFiltersOf(f, sort))).filter(([key]) => key !== 'version')
          expect(sent).toEqual(listParams(f, sort))
        }
      }
    }
  })

  it('follows a click on a column header', () => {
    const f = filters({ tag: 't1' })
    const sort = nextSort('name', 'name')
    expect(sort).toBe('-name')
    expect(exportUrl('csv', exportFiltersOf(f, sort))).toBe('/api/contacts/export.csv?tag=t1&sort=-name')
  })

  it('keeps the segment and the sort for every format and adds only the vCard version', () => {
    const f = filters({ segment: 'seg-1', tag: 't1' })
    const urls = (['csv', 'xlsx', 'vcf3', 'vcf4'] as ExportFormat[]).map((format) => exportUrl(format, exportFiltersOf(f, 'cf.branche')))
    expect(urls).toEqual([
      '/api/contacts/export.csv?tag=t1&segment=seg-1&sort=cf.branche',
      '/api/contacts/export.xlsx?tag=t1&segment=seg-1&sort=cf.branche',
      '/api/contacts/export.vcf?tag=t1&segment=seg-1&sort=cf.branche&version=3.0',
      '/api/contacts/export.vcf?tag=t1&segment=seg-1&sort=cf.branche&version=4.0',
    ])
  })

  it('sends free text and custom fields as the list does (trimmed, cut to 100, empty ones left out)', () => {
    const out = exportFiltersOf(filters({ q: `  ${'a'.repeat(120)} `, cf: { branche: 'IT', leer: '' } }))
    expect(out).toEqual({ q: 'a'.repeat(100), cf: { branche: 'IT' }, sort: 'name' })
    expect(exportUrl('csv', exportFiltersOf(filters({ cf: { branche: 'IT & Co' } })))).toBe('/api/contacts/export.csv?sort=name&cf.branche=IT+%26+Co')
    expect(exportFiltersOf(emptyFilters())).toEqual({ sort: 'name' })
  })
})
