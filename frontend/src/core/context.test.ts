import { describe, expect, it } from 'vitest'
import { slugify } from './context'

describe('slugify', () => {
  it('spells umlauts out and turns everything else into hyphens', () => {
    expect(slugify('Müller & Partner GmbH')).toBe('mueller-partner-gmbh')
    expect(slugify('Bäckerei Größe')).toBe('baeckerei-groesse')
    expect(slugify('  --Café Crème--  ')).toBe('cafe-creme')
    expect(slugify('ÄÖÜ')).toBe('aeoeue')
  })

  it('never ends with a hyphen after cutting to length', () => {
    expect(slugify('abc def', 4)).toBe('abc')
  })
})
