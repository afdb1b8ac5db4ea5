/** vue-i18n with German (default) and English; every visible string goes through it. */
import { createI18n } from 'vue-i18n'
import de from './locales/de'
import en from './locales/en'
import type { ApiError } from '@/core/api/errors'

export const LOCALES = ['de', 'en'] as const
export type Locale = (typeof LOCALES)[number]

const KEY = 'xynap.locale'

function initialLocale(): Locale {
  try {
    const saved = localStorage.getItem(KEY)
    if (saved === 'de' || saved === 'en') return saved
  } catch {
    /* no storage */
  }
  return 'de'
}

export type MessageSchema = typeof de

export const i18n = createI18n<[MessageSchema], Locale, false>({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'de',
  messages: { de, en },
  missingWarn: false,
  fallbackWarn: false,
})

export function currentLocale(): Locale {
  return i18n.global.locale.value
}

/** Listeners told when the user picks a language (the preferences store saves it for the account). */
const chosenListeners = new Set<(locale: Locale) => void>()

export function onLocaleChosen(fn: (locale: Locale) => void): () => void {
  chosenListeners.add(fn)
  return () => chosenListeners.delete(fn)
}

/**
 * Switch the language. `remember` (the user's own choice) keeps it in this browser and tells the
 * listeners; without it the language only applies now (e.g. the account's default from /api/me).
 */
export function setLocale(locale: Locale, remember = true): void {
  i18n.global.locale.value = locale
  if (remember) {
    try {
      localStorage.setItem(KEY, locale)
    } catch {
      /* ignore */
    }
    chosenListeners.forEach((fn) => fn(locale))
  }
  if (typeof document !== 'undefined') document.documentElement.lang = locale
}

/** The user picked a language in this browser before. */
export function hasChosenLocale(): boolean {
  try {
    const saved = localStorage.getItem(KEY)
    return saved === 'de' || saved === 'en'
  } catch {
    return false
  }
}

export function isLocale(value: unknown): value is Locale {
  return value === 'de' || value === 'en'
}

export function toggleLocale(): Locale {
  const next: Locale = currentLocale() === 'de' ? 'en' : 'de'
  setLocale(next)
  return next
}

/** Pick the text for the current language from a {de, en} label (module manifests send these). */
export function pickLabel(label: unknown, fallback = ''): string {
  if (label && typeof label === 'object') {
    const map = label as Record<string, unknown>
    const value = map[currentLocale()] ?? map.de ?? map.en
    if (typeof value === 'string') return value
  }
  return typeof label === 'string' ? label : fallback
}

/** A translated sentence for an API error: by its code, else by its HTTP status. */
export function errorMessage(err: ApiError): string {
  const t = i18n.global.t as (key: string, params?: Record<string, unknown>) => string
  const te = i18n.global.te as (key: string) => boolean
  const params = { ...(err.problem ?? {}), detail: err.detail }
  if (te(`errors.${err.code}`)) return t(`errors.${err.code}`, params)
  if (err.status === 0) return t('errors.network_error')
  if (err.status >= 500) return t('errors.server_error')
  if (te(`errors.status_${err.status}`)) return t(`errors.status_${err.status}`)
  return t('errors.unknown')
}

/** A translated message for one field complaint: the problem's code, else the validation type. */
export function fieldMessage(err: ApiError, field: string): string | null {
  const t = i18n.global.t as (key: string, params?: Record<string, unknown>) => string
  const te = i18n.global.te as (key: string) => boolean
  const complaint = err.fieldError(field)
  if (!complaint) return null
  if (te(`fieldErrors.${err.code}`)) return t(`fieldErrors.${err.code}`)
  if (complaint.type && te(`validation.${complaint.type}`)) return t(`validation.${complaint.type}`)
  if (te(`errors.${err.code}`) && err.code !== 'validation_error') return t(`errors.${err.code}`)
  return t('validation.invalid')
}
