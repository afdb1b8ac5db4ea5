import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { api, unwrap } from '@/core/api/client'
import { json, problem, scriptFetch } from '@/test/fetch'
import { readSession, rememberedCompany } from './session'
import { useAuthStore } from './store'

const ME = {
  kind: 'tenant',
  id: '7d0e5a8e-0000-4000-8000-000000000001',
  email: 'admin@demo.example.com',
  name: 'Katrin Müller',
  role: 'admin',
  permissions: { 'users:read': 'all', 'users:update': 'all', 'example.item:update': 'own' },
  tenant: { id: 't1', slug: 'demo', name: 'Müller & Partner GmbH', status: 'active', modules: { example: 'write' } },
}

function tokens(n: number) {
  return { access_token: `access-${n}`, refresh_token: `refresh-${n}-xxxxxxxx`, token_type: 'bearer', expires_in: 900 }
}

/** /api/me answers 401 token_expired to an old access token and the user to the current one. */
function meFor(current: () => string) {
  return (request: Request) =>
    request.headers.get('authorization') === `Bearer ${current()}` ? json(200, ME) : problem(401, 'token_expired')
}

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
})

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('auth store', () => {
  it('logs in: stores the tokens, loads /api/me and remembers the company', async () => {
    const { calls } = scriptFetch({
      'POST /api/login': json(200, tokens(1)),
      'GET /api/me': meFor(() => 'access-1'),
    })
    const auth = useAuthStore()
    const me = await auth.login('admin@demo.example.com', 'demo-password-2026')

    expect(me.name).toBe('Katrin Müller')
    expect(auth.isAuthenticated).toBe(true)
    expect(auth.bookedModules).toEqual({ example: 'write' })
    expect(readSession()?.refresh).toBe('refresh-1-xxxxxxxx')
    expect(rememberedCompany()).toBe('Müller & Partner GmbH')
    // the login itself carries no token; /api/me carries the new one
    expect(calls[0]).toMatchObject({ method: 'POST', path: '/api/login', authorization: null })
    expect(calls[0].body).toEqual({ email: 'admin@demo.example.com', password: 'demo-password-2026' })
    expect(calls[1]).toMatchObject({ path: '/api/me', authorization: 'Bearer access-1' })
  })

  it('checks permissions with their scope', async () => {
    scriptFetch({ 'POST /api/login': json(200, tokens(1)), 'GET /api/me': meFor(() => 'access-1') })
    const auth = useAuthStore()
    await auth.login('a@b.de', 'pw')
    expect(auth.can('users:read')).toBe(true)
    expect(auth.can('users:create')).toBe(false)
    expect(auth.can('example.item:update')).toBe(true)
    expect(auth.can('example.item:update', 'all')).toBe(false)
    expect(auth.canAny(['users:create', 'users:update'])).toBe(true)
    expect(auth.canAny([])).toBe(true)
  })

  it('does not keep a half login when /api/me fails', async () => {
    scriptFetch({ 'POST /api/login': json(200, tokens(1)), 'GET /api/me': problem(403, 'tenant_suspended') })
    const auth = useAuthStore()
    await expect(auth.login('a@b.de', 'pw')).rejects.toMatchObject({ code: 'tenant_suspended' })
    expect(auth.isAuthenticated).toBe(false)
    expect(readSession()).toBeNull()
  })

  it('refreshes silently once on token_expired and repeats the request', async () => {
    let current = 'access-1'
    const { calls } = scriptFetch({
      'POST /api/login': json(200, tokens(1)),
      'GET /api/me': meFor(() => current),
      'POST /api/refresh': () => {
        current = 'access-2'
        return json(200, tokens(2))
      },
    })
    const auth = useAuthStore()
    await auth.login('a@b.de', 'pw')
    current = 'access-0' // the server no longer accepts access-1 (it expired)

    // two requests hit the expired token at the same time: one refresh serves both
    const expired = vi.fn()
    auth.onExpired(expired)
    const [a, b] = await Promise.all([unwrap(api.GET('/api/me')), unwrap(api.GET('/api/me'))])

    expect(a.name).toBe('Katrin Müller')
    expect(b.name).toBe('Katrin Müller')
    const refreshes = calls.filter((c) => c.path === '/api/refresh')
    expect(refreshes).toHaveLength(1)
    expect(refreshes[0].body).toEqual({ refresh_token: 'refresh-1-xxxxxxxx' })
    expect(refreshes[0].authorization).toBeNull()
    expect(calls.filter((c) => c.path === '/api/me').at(-1)?.authorization).toBe('Bearer access-2')
    expect(auth.session?.access).toBe('access-2')
    expect(readSession()?.refresh).toBe('refresh-2-xxxxxxxx')
    expect(auth.isAuthenticated).toBe(true)
    expect(expired).not.toHaveBeenCalled()
  })

  it('ends the session when the refresh is refused', async () => {
    scriptFetch({
      'POST /api/login': json(200, tokens(1)),
      'GET /api/me': [json(200, ME), problem(401, 'token_expired')],
      'POST /api/refresh': problem(401, 'refresh_reused'),
    })
    const auth = useAuthStore()
    await auth.login('a@b.de', 'pw')
    const expired = vi.fn()
    auth.onExpired(expired)

    await expect(unwrap(api.GET('/api/me'))).rejects.toMatchObject({ status: 401, code: 'token_expired' })
    expect(auth.isAuthenticated).toBe(false)
    expect(readSession()).toBeNull()
    expect(auth.endedBecause).toBe('session_expired')
    expect(expired).toHaveBeenCalledOnce()
  })

  it('does not refresh for wrong credentials on the login form', async () => {
    const { calls } = scriptFetch({ 'POST /api/login': problem(401, 'invalid_credentials') })
    const auth = useAuthStore()
    await expect(auth.login('a@b.de', 'nope')).rejects.toMatchObject({ code: 'invalid_credentials' })
    expect(calls.map((c) => c.path)).toEqual(['/api/login'])
  })

  it('restores a stored login on start, refreshing an expired access token', async () => {
    localStorage.setItem('xynap.session', JSON.stringify({ access: 'old', refresh: 'refresh-9-xxxxxxxx', expiresAt: 0 }))
    setActivePinia(createPinia())
    let current = 'not-yet'
    scriptFetch({
      'GET /api/me': meFor(() => current),
      'POST /api/refresh': () => {
        current = 'access-10'
        return json(200, tokens(10))
      },
    })
    const auth = useAuthStore()
    await auth.init()
    expect(auth.isAuthenticated).toBe(true)
    expect(auth.session?.access).toBe('access-10')
  })

  it('logs out: revokes the refresh token and forgets the session', async () => {
    const { calls } = scriptFetch({
      'POST /api/login': json(200, tokens(1)),
      'GET /api/me': meFor(() => 'access-1'),
      'POST /api/logout': { status: 204 },
    })
    const auth = useAuthStore()
    await auth.login('a@b.de', 'pw')
    await auth.logout()
    expect(calls.at(-1)).toMatchObject({ path: '/api/logout', authorization: 'Bearer access-1', body: { refresh_token: 'refresh-1-xxxxxxxx' } })
    expect(auth.isAuthenticated).toBe(false)
    expect(readSession()).toBeNull()
  })
})
