import { afterEach, describe, expect, it, vi } from 'vitest'
import { checkFile, duplicateTargets, exportUrl, fileNameOf, formatSeconds, initialMapping, mapsAName, RateMeter } from './wizard'

afterEach(() => vi.unstubAllGlobals())

describe('import wizard helpers', () => {
  it('accepts CSV and vCard files by extension, and refuses empty or too large ones', () => {
    expect(checkFile({ name: 'kunden.CSV', size: 10 })).toEqual({ format: 'csv' })
    expect(checkFile({ name: 'export.txt', size: 10 })).toEqual({ format: 'csv' })
    expect(checkFile({ name: 'adressbuch.vcf', size: 10 })).toEqual({ format: 'vcard' })
    expect(checkFile({ name: 'liste.xlsx', size: 10 })).toEqual({ problem: 'type' })
    expect(checkFile({ name: 'noext', size: 10 })).toEqual({ problem: 'type' })
    expect(checkFile({ name: 'a.csv', size: 0 })).toEqual({ problem: 'empty' })
    expect(checkFile({ name: 'a.csv', size: 11 }, 10)).toEqual({ problem: 'size' })
  })

  it('starts from the suggested mapping with every column listed', () => {
    expect(initialMapping({ header: ['Vorname', 'Egal'], suggested_mapping: { Vorname: 'first_name' } })).toEqual({ Vorname: 'first_name', Egal: null })
  })

  it('finds targets taken twice and mappings that name nobody', () => {
    expect(duplicateTargets({ a: 'email.work', b: 'email.work', c: 'first_name', d: null, e: null })).toEqual(['email.work'])
    expect(mapsAName({ a: 'phone.work', b: null })).toBe(false)
    expect(mapsAName({ a: 'phone.work', b: 'company_name' })).toBe(true)
  })

  it('measures rows per second over a window and estimates the time left', () => {
    const meter = new RateMeter(5000)
    expect(meter.rate()).toBeNull()
    meter.add(0, 0)
    meter.add(1000, 100)
    meter.add(2000, 200)
    expect(meter.rate()).toBe(100)
    expect(meter.remaining(1000)).toBe(8)
    meter.add(10_000, 400) // older samples fall out of the window
    expect(meter.rate()).toBe(25)
    meter.add(11_000, 5) // a new phase starts over
    expect(meter.rate()).toBeNull()
  })

  it('formats the time left', () => {
    expect(formatSeconds(0.2)).toBe('1 s')
    expect(formatSeconds(59)).toBe('59 s')
    expect(formatSeconds(65)).toBe('1:05 min')
    expect(formatSeconds(3725)).toBe('1:02 h')
  })

  it('builds export addresses with the list filters', () => {
    expect(exportUrl('csv')).toBe('/api/contacts/export.csv')
    expect(exportUrl('xlsx', { q: 'Mü', type: 'person', tag: null, cf: { branche: 'IT' } })).toBe('/api/contacts/export.xlsx?q=M%C3%BC&type=person&cf.branche=IT')
    expect(exportUrl('vcf3', { owner_id: 'u1' })).toBe('/api/contacts/export.vcf?owner_id=u1&version=3.0')
    expect(exportUrl('vcf4')).toBe('/api/contacts/export.vcf?version=4.0')
    expect(exportUrl('csv', { segment: 's1' })).toBe('/api/contacts/export.csv?segment=s1')
  })

  it('reads the file name the server proposes', () => {
    const response = new Response('', { headers: { 'content-disposition': 'attachment; filename="kontakte-20261122.csv"' } })
    expect(fileNameOf(response, 'x.csv')).toBe('kontakte-20261122.csv')
    expect(fileNameOf(new Response(''), 'x.csv')).toBe('x.csv')
  })
})
