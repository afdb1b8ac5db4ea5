import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { useAuthStore } from '@/core/auth/store'
import { json, problem, scriptFetch } from '@/test/fetch'
import { noteMatches, noteOrder, useNotesStore, type Note } from './store'

function note(over: Partial<Note>): Note {
  return {
    id: 'n',
    content: 'text',
    author_id: 'me',
    linked_contact_id: null,
    linked_entity_type: null,
    linked_entity_id: null,
    is_pinned: false,
    tags: [],
    version: 1,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    ...over,
  }
}

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.unstubAllGlobals())

describe('notes store', () => {
  it('orders pinned first, then newest', () => {
    const list = [
      note({ id: 'old', created_at: '2026-01-01T00:00:00Z' }),
      note({ id: 'pin', is_pinned: true, created_at: '2025-01-01T00:00:00Z' }),
      note({ id: 'new', created_at: '2026-02-01T00:00:00Z' }),
    ].sort(noteOrder)
    expect(list.map((n) => n.id)).toEqual(['pin', 'new', 'old'])
  })

  it('loads with the filters, pins with the version and re-sorts', async () => {
    const a = note({ id: 'a', linked_contact_id: 'c1', created_at: '2026-02-01T00:00:00Z' })
    const b = note({ id: 'b', linked_contact_id: 'c1', created_at: '2026-01-01T00:00:00Z', version: 4 })
    const { calls } = scriptFetch({
      'GET /api/notes': json(200, { items: [a, b], next_cursor: null }),
      'PATCH /api/notes/b': json(200, { ...b, is_pinned: true, version: 5 }),
    })
    const store = useNotesStore()
    store.filters.contactId = 'c1'
    await store.load()
    expect(calls[0].path).toContain('linked_contact_id=c1')
    await store.update(b, { is_pinned: true })
    expect(calls.find((c) => c.method === 'PATCH')!.body).toEqual({ is_pinned: true, version: 4 })
    expect(store.items.map((n) => n.id)).toEqual(['b', 'a'])
  })

  it('a new note that does not match the filter stays out of the list', async () => {
    scriptFetch({ 'POST /api/notes': json(201, note({ id: 'x', is_pinned: false })) })
    const store = useNotesStore()
    store.filters.pinned = true
    await store.create({ content: 'x', is_pinned: false })
    expect(store.items).toEqual([])
  })

  it('passes a 409 on to the screen', async () => {
    scriptFetch({ 'PATCH /api/notes/a': problem(409, 'version_conflict') })
    await expect(useNotesStore().update(note({ id: 'a' }), { content: 'y' })).rejects.toMatchObject({ status: 409 })
  })
})

describe('contact names', () => {
  it('looks up each linked contact once', async () => {
    const { calls } = scriptFetch({
      'GET /api/notes': json(200, { items: [note({ id: 'a', linked_contact_id: 'c1' }), note({ id: 'b', linked_contact_id: 'c1' })], next_cursor: null }),
      'GET /api/contacts/c1': json(200, { id: 'c1', display_name: 'Anna Muster' }),
    })
    const store = useNotesStore()
    await store.load()
    await vi.waitFor(() => expect(store.contactNames.c1).toBe('Anna Muster'))
    expect(calls.filter((c) => c.path === '/api/contacts/c1')).toHaveLength(1)
  })
})

describe('tags', () => {
  const vip = { id: 't-vip', name: 'VIP', color: '#eab308' }

  it('filters the list by tag and keeps a saved note only while it still carries the tag', async () => {
    const a = note({ id: 'a', tags: [vip] })
    const { calls } = scriptFetch({
      'GET /api/notes': json(200, { items: [a], next_cursor: null }),
      'PATCH /api/notes/a': json(200, { ...a, tags: [], version: 1 }),
    })
    const store = useNotesStore()
    store.filters.tag = 't-vip'
    await store.load()
    expect(calls[0].path).toContain('tag=t-vip')
    expect(store.items.map((n) => n.id)).toEqual(['a'])
    await store.update(a, { tag_ids: [] })
    expect(calls.find((c) => c.method === 'PATCH')!.body).toEqual({ tag_ids: [], version: 1 })
    expect(store.items).toEqual([])
  })

  it('sends no tag filter when none is chosen', async () => {
    const { calls } = scriptFetch({ 'GET /api/notes': json(200, { items: [], next_cursor: null }) })
    await useNotesStore().load()
    expect(calls[0].path).not.toContain('tag=')
  })

  it('matches notes against pin, contact and tag filters together', () => {
    const tagged = note({ id: 'x', tags: [vip], linked_contact_id: 'c1' })
    expect(noteMatches(tagged, { pinned: false, contactId: '', tag: 't-vip' })).toBe(true)
    expect(noteMatches(tagged, { pinned: false, contactId: 'c1', tag: 't-vip' })).toBe(true)
    expect(noteMatches(tagged, { pinned: false, contactId: 'c2', tag: 't-vip' })).toBe(false)
    expect(noteMatches(tagged, { pinned: false, contactId: '', tag: 'other' })).toBe(false)
    expect(noteMatches(tagged, { pinned: true, contactId: '', tag: '' })).toBe(false)
  })

  it("loads the company's tags only with the permission to read them", async () => {
    const { calls } = scriptFetch({ 'GET /api/tags': json(200, [{ ...vip, usage: { note: 1 } }]) })
    const auth = useAuthStore()
    auth.me = { kind: 'tenant', id: 'me', email: 'me@x', name: 'Me', role: 'staff', locale: 'de', permissions: {}, tenant: null }
    const store = useNotesStore()
    await store.loadTags()
    expect(store.tags).toEqual([])
    expect(calls).toHaveLength(0)
    auth.me = { ...auth.me, permissions: { 'tags.tag:read': 'all' } }
    await store.loadTags()
    expect(store.tags).toEqual([vip])
  })
})
