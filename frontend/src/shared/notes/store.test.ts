import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { useAuthStore } from '@/core/auth/store'
import { type RealtimeEvent } from '@/core/realtime'
import { json, problem, scriptFetch } from '@/test/fetch'
import { fakeRealtime } from '@/test/realtime'
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

describe('live updates', () => {
  const event = (name: string, payload: Record<string, unknown>): RealtimeEvent => ({ name, payload, id: `e-${name}`, created_at: '' })

  it('adds a colleague’s new note, updates an edited one and drops a deleted one', async () => {
    const a = note({ id: 'a', content: 'old', created_at: '2026-01-01T00:00:00Z' })
    const fresh = note({ id: 'n', content: 'from a colleague', author_id: 'u2', created_at: '2026-03-01T00:00:00Z' })
    scriptFetch({
      'GET /api/notes': json(200, { items: [a], next_cursor: null }),
      'GET /api/notes/n': json(200, fresh),
      'GET /api/notes/a': json(200, { ...a, content: 'edited elsewhere', version: 2 }),
    })
    const store = useNotesStore()
    await store.load()
    expect(await store.applyEvent(event('note.created', { id: 'n', version: 1 }))).toBe('changed')
    expect(store.items.map((n) => n.id)).toEqual(['n', 'a'])
    expect(await store.applyEvent(event('note.updated', { id: 'a', version: 2, changed: ['content'] }))).toBe('changed')
    expect(store.items.find((n) => n.id === 'a')).toMatchObject({ content: 'edited elsewhere', version: 2 })
    expect(await store.applyEvent(event('note.deleted', { id: 'n' }))).toBe('removed')
    expect(store.items.map((n) => n.id)).toEqual(['a'])
  })

  it('does not fetch again what it already has (its own save) unless tags changed', async () => {
    const a = note({ id: 'a', version: 3 })
    const { calls } = scriptFetch({
      'GET /api/notes': json(200, { items: [a], next_cursor: null }),
      'GET /api/notes/a': json(200, { ...a, tags: [{ id: 't', name: 'VIP', color: '#000' }] }),
    })
    const store = useNotesStore()
    await store.load()
    expect(await store.applyEvent(event('note.updated', { id: 'a', version: 3, changed: ['content'] }))).toBeNull()
    expect(await store.applyEvent(event('note.updated', { id: 'a', version: 2 }))).toBeNull()
    expect(calls.filter((c) => c.path === '/api/notes/a')).toHaveLength(0)
    // PUT …/tags keeps the version: the new tags still arrive
    expect(await store.applyEvent(event('note.updated', { id: 'a', version: 3, changed: ['tag_ids'] }))).toBe('changed')
    expect(store.items[0].tags).toEqual([{ id: 't', name: 'VIP', color: '#000' }])
  })

  it('keeps out notes that do not match the filters or sort past the loaded page', async () => {
    const newest = note({ id: 'a', created_at: '2026-05-01T00:00:00Z' })
    scriptFetch({
      'GET /api/notes': json(200, { items: [newest], next_cursor: 'more' }),
      'GET /api/notes/old': json(200, note({ id: 'old', created_at: '2020-01-01T00:00:00Z' })),
      'GET /api/notes/other': json(200, note({ id: 'other', linked_contact_id: 'c2', created_at: '2026-06-01T00:00:00Z' })),
    })
    const store = useNotesStore()
    await store.load()
    expect(await store.applyEvent(event('note.updated', { id: 'old', version: 2 }))).toBeNull()
    store.filters.contactId = 'c1'
    expect(await store.applyEvent(event('note.created', { id: 'other', version: 1 }))).toBeNull()
    expect(store.items.map((n) => n.id)).toEqual(['a'])
  })

  it('drops a known note that can no longer be read, and ignores unknown deletions', async () => {
    scriptFetch({ 'GET /api/notes': json(200, { items: [note({ id: 'a' })], next_cursor: null }) }) // GET /api/notes/a: 404
    const store = useNotesStore()
    await store.load()
    expect(await store.applyEvent(event('note.deleted', { id: 'zzz' }))).toBeNull()
    expect(await store.applyEvent(event('note.updated', { id: 'a', version: 9 }))).toBe('removed')
    expect(store.items).toEqual([])
  })

  it('follows note.* events from the WebSocket while listening and tells the page', async () => {
    const { rt, send } = fakeRealtime()
    send({ type: 'hello' })
    const a = note({ id: 'a' })
    scriptFetch({
      'GET /api/notes': json(200, { items: [a], next_cursor: null }),
      'GET /api/notes/n': json(200, note({ id: 'n', created_at: '2026-04-01T00:00:00Z' })),
    })
    const store = useNotesStore()
    const heard: string[] = []
    const stop = store.listen((e) => heard.push(`${e.name} ${String(e.payload.id)}`))
    await store.load()
    send({ type: 'event', name: 'note.created', payload: { id: 'n', version: 1 }, id: 'e1', created_at: '' })
    await vi.waitFor(() => expect(store.items.map((n) => n.id)).toEqual(['n', 'a']))
    send({ type: 'event', name: 'note.deleted', payload: { id: 'a' }, id: 'e2', created_at: '' })
    await vi.waitFor(() => expect(store.items.map((n) => n.id)).toEqual(['n']))
    await vi.waitFor(() => expect(heard).toEqual(['note.created n', 'note.deleted a']))
    stop()
    send({ type: 'event', name: 'note.deleted', payload: { id: 'n' }, id: 'e3', created_at: '' })
    await Promise.resolve()
    expect(store.items.map((n) => n.id)).toEqual(['n'])
    rt.stop()
  })
})
