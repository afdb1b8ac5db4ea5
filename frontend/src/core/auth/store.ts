/**
 * The login of this browser tab: tokens, the current user (/api/me) and permission checks.
 * The api client asks this store for the access token and for a silent refresh.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, setSessionHooks, unwrap } from '@/core/api/client'
import type { components } from '@/core/api/schema'
import { readSession, rememberCompany, SESSION_KEY, writeSession, type StoredSession } from './session'

export type Me = components['schemas']['Me']
export type Scope = 'own' | 'team' | 'all'

const SCOPE_RANK: Record<string, number> = { own: 1, team: 2, all: 3 }

export const useAuthStore = defineStore('auth', () => {
  const session = ref<StoredSession | null>(readSession())
  const me = ref<Me | null>(null)
  /** true after init() ran once (with or without a stored login). */
  const ready = ref(false)
  /** Why the last session ended, for the login page ("session_expired"). */
  const endedBecause = ref<string | null>(null)

  let refreshing: Promise<boolean> | null = null
  let initializing: Promise<void> | null = null
  const expiredListeners = new Set<() => void>()

  const isAuthenticated = computed(() => me.value !== null && session.value !== null)
  const isPlatform = computed(() => me.value?.kind === 'platform')
  const tenant = computed(() => me.value?.tenant ?? null)
  const permissions = computed<Record<string, string>>(() => me.value?.permissions ?? {})
  /** slug → "write" | "read" for the modules the company has booked. */
  const bookedModules = computed<Record<string, string>>(() => me.value?.tenant?.modules ?? {})

  function can(permission: string, scope: Scope = 'own'): boolean {
    const granted = permissions.value[permission]
    if (!granted) return false
    return (SCOPE_RANK[granted] ?? 0) >= SCOPE_RANK[scope]
  }

  function canAny(list: readonly string[]): boolean {
    return list.length === 0 || list.some((p) => can(p))
  }

  function setTokens(pair: { access_token: string; refresh_token: string; expires_in: number }): void {
    session.value = {
      access: pair.access_token,
      refresh: pair.refresh_token,
      expiresAt: Date.now() + pair.expires_in * 1000,
    }
    writeSession(session.value)
  }

  function clear(reason: string | null = null): void {
    const had = session.value !== null
    session.value = null
    me.value = null
    writeSession(null)
    if (had && reason) {
      endedBecause.value = reason
      expiredListeners.forEach((fn) => fn())
    }
  }

  async function doRefresh(): Promise<boolean> {
    const current = session.value
    if (!current) return false
    // Another tab may have refreshed already: adopt its tokens instead of spending ours twice.
    const stored = readSession()
    if (stored && stored.refresh !== current.refresh) {
      session.value = stored
      return true
    }
    try {
      const pair = await unwrap(api.POST('/api/refresh', { body: { refresh_token: current.refresh } }))
      setTokens(pair)
      return true
    } catch {
      clear('session_expired')
      return false
    }
  }

  /** One refresh at a time; everyone who asks meanwhile waits for the same answer. */
  function refresh(): Promise<boolean> {
    if (!refreshing) {
      refreshing = doRefresh().finally(() => {
        refreshing = null
      })
    }
    return refreshing
  }

  async function loadMe(): Promise<Me> {
    const value = await unwrap(api.GET('/api/me'))
    me.value = value
    if (value.tenant) rememberCompany(value.tenant.name)
    return value
  }

  async function login(email: string, password: string): Promise<Me> {
    endedBecause.value = null
    const pair = await unwrap(api.POST('/api/login', { body: { email, password } }))
    setTokens(pair)
    try {
      return await loadMe()
    } catch (err) {
      clear()
      throw err
    }
  }

  /**
   * Log in with a one-time refresh token handed over in a link (sign-up, first-run setup): swap it
   * for a token pair (the code is used up by that) and load the user.
   */
  async function adoptRefreshToken(code: string): Promise<Me> {
    endedBecause.value = null
    const pair = await unwrap(api.POST('/api/refresh', { body: { refresh_token: code } }))
    setTokens(pair)
    try {
      return await loadMe()
    } catch (err) {
      clear()
      throw err
    }
  }

  async function logout(): Promise<void> {
    const current = session.value
    if (current) {
      try {
        await unwrap(api.POST('/api/logout', { body: { refresh_token: current.refresh } }))
      } catch {
        /* logged out locally either way */
      }
    }
    clear()
    endedBecause.value = null
  }

  /** Restore a stored login (once per page load); a failure just leaves the user logged out. */
  function init(): Promise<void> {
    if (!initializing) {
      initializing = (async () => {
        if (session.value) {
          try {
            await loadMe()
          } catch {
            if (!me.value) clear()
          }
        }
        ready.value = true
      })()
    }
    return initializing
  }

  function onExpired(fn: () => void): () => void {
    expiredListeners.add(fn)
    return () => expiredListeners.delete(fn)
  }

  // Logging in or out in another tab of the same host applies here too.
  if (typeof window !== 'undefined') {
    window.addEventListener('storage', (event) => {
      if (event.key !== SESSION_KEY) return
      const stored = readSession()
      if (!stored && session.value) clear('logged_out_elsewhere')
      else if (stored) session.value = stored
    })
  }

  setSessionHooks({
    accessToken: () => session.value?.access ?? null,
    refresh,
    expired: () => clear('session_expired'),
  })

  return {
    session,
    me,
    ready,
    endedBecause,
    isAuthenticated,
    isPlatform,
    tenant,
    permissions,
    bookedModules,
    can,
    canAny,
    login,
    adoptRefreshToken,
    logout,
    loadMe,
    refresh,
    init,
    clear,
    onExpired,
  }
})
