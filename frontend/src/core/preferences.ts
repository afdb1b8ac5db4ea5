/**
 * The logged-in user's UI preferences, kept on the server (GET/PUT /api/me/preferences) so they
 * follow the account to every device: the dashboard layout, language and colour scheme.
 * localStorage holds a copy per user, used at once on load and whenever the server is unreachable.
 */
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { contract } from '@/core/api/contract'
import { hasChosenLocale, isLocale, onLocaleChosen, setLocale } from '@/core/i18n'
import { applySavedTheme, onThemeChosen } from '@/core/theme'

const PREFIX = 'xynap.prefs.'
const SAVE_DELAY_MS = 400

export type PreferenceData = Record<string, unknown>

function readCache(userId: string): PreferenceData | null {
  try {
    const raw = localStorage.getItem(PREFIX + userId)
    const value: unknown = raw ? JSON.parse(raw) : null
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as PreferenceData) : null
  } catch {
    return null
  }
}

function writeCache(userId: string, data: PreferenceData): void {
  try {
    localStorage.setItem(PREFIX + userId, JSON.stringify(data))
  } catch {
    /* ignore */
  }
}

/** The dashboard layout an earlier version kept in localStorage only. */
function legacyLayout(userId: string): unknown {
  try {
    const raw = localStorage.getItem(`xynap.dashboard.${userId}`)
    return raw ? JSON.parse(raw) : undefined
  } catch {
    return undefined
  }
}

/** The store instance that records the user's language and theme choices (the latest one created). */
let recorder: ((key: string, value: unknown) => void) | null = null
onLocaleChosen((locale) => recorder?.('locale', locale))
onThemeChosen((dark) => recorder?.('theme', dark ? 'dark' : 'light'))

export const usePreferences = defineStore('preferences', () => {
  const data = ref<PreferenceData>({})
  const userId = ref<string | null>(null)
  const loaded = ref(false)
  /** The server's copy could not be read (offline, or the endpoint is missing): working from the cache. */
  const offline = ref(false)
  const saving = ref(false)
  let timer: ReturnType<typeof setTimeout> | undefined
  let loading: Promise<void> | null = null

  function apply(accountLocale: string | null | undefined): void {
    const locale = data.value.locale
    if (isLocale(locale)) setLocale(locale, false)
    else if (!hasChosenLocale() && isLocale(accountLocale)) setLocale(accountLocale, false)
    const theme = data.value.theme
    if (theme === 'dark' || theme === 'light') applySavedTheme(theme === 'dark')
  }

  /** Load the preferences of `id` once (again only after reset or for another user). */
  function ensure(id: string, accountLocale?: string | null): Promise<void> {
    if (userId.value === id && loading) return loading
    userId.value = id
    loaded.value = false
    data.value = readCache(id) ?? {}
    loading = (async () => {
      try {
        const server = await contract.preferences()
        if (userId.value !== id) return
        const remote = server?.data && typeof server.data === 'object' ? { ...server.data } : {}
        if (remote.dashboard === undefined) {
          const old = data.value.dashboard ?? legacyLayout(id)
          if (old !== undefined) remote.dashboard = old
        }
        data.value = remote
        offline.value = false
      } catch {
        offline.value = true
      }
      writeCache(id, data.value)
      loaded.value = true
      apply(accountLocale)
    })()
    return loading
  }

  function get<T = unknown>(key: string): T | undefined {
    return data.value[key] as T | undefined
  }

  function set(key: string, value: unknown): void {
    if (!userId.value) return
    const next = { ...data.value }
    if (value === undefined) delete next[key]
    else next[key] = value
    data.value = next
    writeCache(userId.value, next)
    clearTimeout(timer)
    timer = setTimeout(() => void flush(), SAVE_DELAY_MS)
  }

  async function flush(): Promise<boolean> {
    clearTimeout(timer)
    const id = userId.value
    if (!id) return false
    saving.value = true
    try {
      await contract.savePreferences(data.value)
      offline.value = false
      return true
    } catch {
      offline.value = true
      return false
    } finally {
      saving.value = false
    }
  }

  function reset(): void {
    clearTimeout(timer)
    data.value = {}
    userId.value = null
    loaded.value = false
    loading = null
  }

  recorder = (key, value) => {
    if (userId.value) set(key, value)
  }

  return { data, userId, loaded, offline, saving, ensure, get, set, flush, reset }
})
