import { describe, expect, it } from 'vitest'
import { duration, leadName, plain, statusTone } from './format'

describe('sales formatting', () => {
  it('shows decimals without trailing zeros for editing', () => {
    expect(plain('2.0000')).toBe('2')
    expect(plain('1.5000')).toBe('1.5')
    expect(plain('10.00')).toBe('10')
    expect(plain('1200')).toBe('1200')
    expect(plain(3)).toBe('3')
  })
  it('names a lead by person, else company, else e-mail', () => {
    expect(leadName({ first_name: 'Lea', last_name: 'Neumann', company_name: 'X' })).toBe('Lea Neumann')
    expect(leadName({ company_name: 'Café Krüger' })).toBe('Café Krüger')
    expect(leadName({ email: 'a@b.de' })).toBe('a@b.de')
    expect(leadName({})).toBe('—')
  })
  it('says how long a deal stayed', () => {
    const units = { d: 'd', h: 'h', min: 'min' }
    expect(duration(3 * 86400 + 4 * 3600, units)).toBe('3 d 4 h')
    expect(duration(2 * 86400, units)).toBe('2 d')
    expect(duration(5 * 3600 + 10, units)).toBe('5 h')
    expect(duration(20, units)).toBe('1 min')
  })
  it('colours statuses', () => {
    expect(statusTone('won')).toBe('success')
    expect(statusTone('lost')).toBe('danger')
    expect(statusTone('open')).toBe('neutral')
  })
})
