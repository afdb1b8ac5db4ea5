import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { useAuthStore } from '@/core/auth/store'
import { i18n } from '@/core/i18n'
import { json, problem, scriptFetch } from '@/test/fetch'
import { fakeRealtime } from '@/test/realtime'
import { task } from './test-fixtures'
import { useTasksStore } from './store'

beforeEach(() => {
  setActivePinia(createPinia())
  i18n.global.locale.value = 'de'
  const auth = useAuthStore()
  auth.me = { kind: 'tenant', id: 'me-id', email: 'me@x', name: 'Me', role: 'admin', locale: 'de', permissions: { 'tasks.task:read': 'all' }, tenant: null }
})

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

function page(items: unknown[], next: string | null = null) {
  return json(200, { items, next_cursor: next })
}

describe('tasks store', () => {
  it('loads the list with the filters as query and pages on', async () => {
    const { calls } = scriptFetch({
      'GET /api/tasks': [page([task({ id: 'a' })], 'c1'), page([task({ id: 'b' }), task({ id: 'a' })])],
    })
    const store = useTasksStore()
    store.filters.assignee = 'me'
    store.filters.status = 'open'
    await store.loadList()
    await store.loadList(true)
    expect(store.items.map((t) => t.id)).toEqual(['a', 'b'])
    expect(store.cursor).toBeNull()
    const first = new URL(calls[0].path, 'http://x').searchParams
    expect(first.get('assignee')).toBe('me')
    expect(first.get('status')).toBe('open')
    expect(first.get('sort')).toBe('-created_at')
    expect(new URL(calls[1].path, 'http://x').searchParams.get('cursor')).toBe('c1')
  })

  it('loads every column of the board, page by page, in position order', async () => {
    const { calls } = scriptFetch({
      'GET /api/tasks': (request) => {
        const url = new URL(request.url)
        const status = url.searchParams.get('status')
        if (status === 'open' && !url.searchParams.get('cursor')) return page([task({ id: 'o1', position: 0 })], 'more')
        if (status === 'open') return page([task({ id: 'o2', position: 1 })])
        if (status === 'done') return page([task({ id: 'd1', status: 'done' })])
        return page([])
      },
    })
    const store = useTasksStore()
    await store.loadBoard()
    expect(store.columns.open.map((t) => t.id)).toEqual(['o1', 'o2'])
    expect(store.columns.done.map((t) => t.id)).toEqual(['d1'])
    expect(calls.every((c) => c.path.includes('sort=position'))).toBe(true)
    expect(store.boardTruncated).toBe(false)
  })

  it('moves on the board at once and sends status, position and version', async () => {
    const a = task({ id: 'a', position: 0, version: 3 })
    const b = task({ id: 'b', position: 1 })
    const { calls } = scriptFetch({
      'GET /api/tasks': (request) => (new URL(request.url).searchParams.get('status') === 'open' ? page([a, b]) : page([])),
      'POST /api/tasks/a/move': json(200, { ...a, status: 'in_progress', position: 0, version: 4 }),
    })
    const store = useTasksStore()
    await store.loadBoard()
    const saved = await store.move('a', 'in_progress', 0)
    expect(saved?.version).toBe(4)
    expect(calls.at(-1)).toMatchObject({ method: 'POST', body: { status: 'in_progress', position: 0, version: 3 } })
    expect(store.columns.open.map((t) => [t.id, t.position])).toEqual([['b', 0]])
    expect(store.columns.in_progress.map((t) => [t.id, t.version])).toEqual([['a', 4]])
  })

  it('on 409 puts the board back, reloads it and throws the conflict', async () => {
    const a = task({ id: 'a', position: 0 })
    const fresh = { ...a, status: 'done' as const, version: 2 }
    let loads = 0
    scriptFetch({
      'GET /api/tasks': (request) => {
        const status = new URL(request.url).searchParams.get('status')
        if (status === 'open') loads += 1
        if (loads <= 1) return status === 'open' ? page([a]) : page([])
        return status === 'done' ? page([fresh]) : page([])
      },
      'POST /api/tasks/a/move': problem(409, 'version_conflict'),
    })
    const store = useTasksStore()
    await store.loadBoard()
    await expect(store.move('a', 'in_progress', 0)).rejects.toMatchObject({ status: 409, code: 'version_conflict' })
    await vi.waitFor(() => expect(store.columns.done.map((t) => t.id)).toEqual(['a']))
    expect(store.columns.open).toEqual([])
    expect(store.columns.in_progress).toEqual([])
  })

  it('marks a task done with its version and updates list and board', async () => {
    const a = task({ id: 'a', version: 5 })
    const { calls } = scriptFetch({
      'GET /api/tasks': page([a]),
      'PATCH /api/tasks/a': json(200, { ...a, status: 'done', version: 6 }),
    })
    const store = useTasksStore()
    await store.loadList()
    await store.setDone(a, true)
    expect(calls.at(-1)).toMatchObject({ method: 'PATCH', body: { status: 'done', version: 5 } })
    expect(store.items[0]).toMatchObject({ status: 'done', version: 6 })
  })

  it('follows task.* events from the WebSocket', async () => {
    vi.useFakeTimers()
    const { rt, send } = fakeRealtime()
    send({ type: 'hello' })

    const a = task({ id: 'a' })
    const created = task({ id: 'n', title: 'From a colleague' })
    scriptFetch({
      'GET /api/tasks': page([a]),
      'GET /api/tasks/n': json(200, created),
      'GET /api/tasks/a': json(200, { ...a, title: 'Renamed', version: 2 }),
    })
    const store = useTasksStore()
    const stop = store.listen()
    await store.loadList()
    send({ type: 'event', name: 'task.created', payload: { id: 'n' }, id: 'e1', created_at: '' })
    await vi.waitFor(() => expect(store.items.map((t) => t.id)).toEqual(['n', 'a']))
    send({ type: 'event', name: 'task.updated', payload: { id: 'a', changed: ['title'] }, id: 'e2', created_at: '' })
    await vi.waitFor(() => expect(store.items[1].title).toBe('Renamed'))
    send({ type: 'event', name: 'task.deleted', payload: { id: 'n' }, id: 'e3', created_at: '' })
    expect(store.items.map((t) => t.id)).toEqual(['a'])
    stop()
    send({ type: 'event', name: 'task.deleted', payload: { id: 'a' }, id: 'e4', created_at: '' })
    expect(store.items.map((t) => t.id)).toEqual(['a'])
    rt.stop()
  })

  it('knows the people to assign: the users list when allowed, else only me', async () => {
    const store = useTasksStore()
    await store.loadPeople()
    expect(store.people).toEqual([{ id: 'me-id', name: 'Me' }])
    const auth = useAuthStore()
    auth.me = { ...auth.me!, permissions: { 'users:read': 'all' } }
    scriptFetch({ 'GET /api/users': page([{ id: 'u2', name: 'Anna', is_active: true }, { id: 'u3', name: 'Gone', is_active: false }]) })
    await store.loadPeople()
    expect(store.people.map((p) => p.name)).toEqual(['Me', 'Anna'])
    expect(store.personName('u2')).toBe('Anna')
  })
})
