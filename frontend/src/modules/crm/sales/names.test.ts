import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'

const get = vi.fn()
vi.mock('@/core/api/client', () => ({
  api: { GET: (...args: unknown[]) => get(...args) },
  unwrap: (p: Promise<unknown>) => p,
  setSessionHooks: vi.fn(),
}))

import { contactName, rememberDeals, userName } from './names'

describe('names sent with deals', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    get.mockReset()
    get.mockResolvedValue({ display_name: 'Looked up' })
  })

  it('answers from the names the server sent, without a lookup per card', () => {
    rememberDeals([
      { contact_id: 'c1', contact_name: 'Rita Berg', organization_id: 'o1', organization_name: 'Berg Bau GmbH', owner_id: 'u1', owner_name: 'Katrin Müller' },
    ])
    expect(contactName('c1')).toBe('Rita Berg')
    expect(contactName('o1')).toBe('Berg Bau GmbH')
    expect(userName('u1')).toBe('Katrin Müller')
    expect(get).not.toHaveBeenCalledWith('/api/contacts/{contact_id}', expect.anything())
  })

  it('does not fetch a contact the server left nameless (outside the viewer scope)', () => {
    rememberDeals([{ contact_id: 'hidden', contact_name: null }])
    expect(contactName('hidden')).toBe('')
    expect(get).not.toHaveBeenCalledWith('/api/contacts/{contact_id}', expect.anything())
  })

  it('still looks up an id no deal named (e.g. one that came by a live event)', () => {
    expect(contactName('fresh')).toBe('')
    expect(get).toHaveBeenCalledWith('/api/contacts/{contact_id}', { params: { path: { contact_id: 'fresh' } } })
  })
})
