import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { i18n, setLocale } from '@/core/i18n'
import { json, scriptFetch } from '@/test/fetch'
import { usePreferences } from './preferences'

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
  i18n.global.locale.value = 'de'
})

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('preferences', () => {
  it('loads from the server, caches locally and applies the saved language', async () => {
    scriptFetch({ 'GET /api/me/preferences': json(200, { data: { locale: 'en', dashboard: { order: ['b'] } } }) })
    const prefs = usePreferences()
    await prefs.ensure('u1')
    expect(prefs.get('dashboard')).toEqual({ order: ['b'] })
    expect(i18n.global.locale.value).toBe('en')
    expect(JSON.parse(localStorage.getItem('xynap.prefs.u1')!)).toMatchObject({ locale: 'en' })
  })

  it("uses the account's language when nobody chose one", async () => {
    scriptFetch({ 'GET /api/me/preferences': json(200, { data: {} }) })
    await usePreferences().ensure('u1', 'en')
    expect(i18n.global.locale.value).toBe('en')
  })

  it('falls back to the local copy when the server cannot be reached', async () => {
    localStorage.setItem('xynap.prefs.u1', JSON.stringify({ dashboard: { order: ['x'] } }))
    scriptFetch({ 'GET /api/me/preferences': { status: 503, body: { code: 'server_error' } } })
    const prefs = usePreferences()
    await prefs.ensure('u1')
    expect(prefs.offline).toBe(true)
    expect(prefs.get('dashboard')).toEqual({ order: ['x'] })
  })

  it('saves changes (debounced, the whole document) and records a language choice', async () => {
    const { calls } = scriptFetch({
      'GET /api/me/preferences': json(200, { data: {} }),
      'PUT /api/me/preferences': json(200, { data: {} }),
    })
    const prefs = usePreferences()
    await prefs.ensure('u1')
    vi.useFakeTimers()
    prefs.set('dashboard', { order: ['a'] })
    setLocale('en')
    vi.advanceTimersByTime(500)
    vi.useRealTimers()
    await vi.waitFor(() => expect(calls.filter((c) => c.method === 'PUT')).toHaveLength(1))
    expect(calls.find((c) => c.method === 'PUT')!.body).toEqual({ data: { dashboard: { order: ['a'] }, locale: 'en' } })
  })
})
