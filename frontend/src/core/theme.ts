/** Light / dark mode: the `dark` class on <html>, remembered in localStorage. */
import { ref } from 'vue'

const KEY = 'xynap.theme'

function systemPrefersDark(): boolean {
  return typeof window !== 'undefined' && !!window.matchMedia?.('(prefers-color-scheme: dark)').matches
}

function initial(): boolean {
  if (typeof document !== 'undefined' && document.documentElement.classList.contains('dark')) return true
  try {
    const saved = localStorage.getItem(KEY)
    if (saved) return saved === 'dark'
  } catch {
    /* ignore */
  }
  return systemPrefersDark()
}

export const isDark = ref(initial())

function apply(animate = false): void {
  if (typeof document === 'undefined') return
  const root = document.documentElement
  if (animate) {
    // Switch all colours at once: hover/focus colour transitions would otherwise fade for a moment.
    root.classList.add('theme-switching')
    root.classList.toggle('dark', isDark.value)
    void root.offsetHeight
    requestAnimationFrame(() => requestAnimationFrame(() => root.classList.remove('theme-switching')))
  } else root.classList.toggle('dark', isDark.value)
}

const chosenListeners = new Set<(dark: boolean) => void>()

/** Told when the user switches the colour scheme (the preferences store saves it for the account). */
export function onThemeChosen(fn: (dark: boolean) => void): () => void {
  chosenListeners.add(fn)
  return () => chosenListeners.delete(fn)
}

/** Apply a scheme saved for the account without announcing it as a new choice. */
export function applySavedTheme(value: boolean): void {
  if (value === isDark.value) return
  isDark.value = value
  try {
    localStorage.setItem(KEY, value ? 'dark' : 'light')
  } catch {
    /* ignore */
  }
  apply(true)
}

export function setDark(value: boolean): void {
  isDark.value = value
  chosenListeners.forEach((fn) => fn(value))
  try {
    localStorage.setItem(KEY, value ? 'dark' : 'light')
  } catch {
    /* ignore */
  }
  apply(true)
}

export function toggleDark(): boolean {
  setDark(!isDark.value)
  return isDark.value
}

apply()
