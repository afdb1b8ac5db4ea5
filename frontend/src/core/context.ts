/**
 * Where this page runs (GET /api/context, public): a company's host or the platform's own, SaaS or
 * self-hosted, the company's name before login, whether sign-up is open or the first-run setup is due.
 * Loaded once per page; a failure leaves it null (the screens then fall back to what the host name says).
 */
import { ref } from 'vue'
import { contract, type AppContext } from '@/core/api/contract'

export const appContext = ref<AppContext | null>(null)
let loading: Promise<AppContext | null> | null = null

export function loadContext(force = false): Promise<AppContext | null> {
  if (!loading || force) {
    loading = contract
      .context()
      .then((value) => {
        appContext.value = value
        return value
      })
      .catch(() => {
        loading = null
        return appContext.value
      })
  }
  return loading
}

/** Lower-case slug from a company name: umlauts spelt out, anything else but a–z/0–9 becomes "-". */
export function slugify(text: string, max = 40): string {
  const spelled = text
    .trim()
    .toLowerCase()
    .replace(/ä/g, 'ae')
    .replace(/ö/g, 'oe')
    .replace(/ü/g, 'ue')
    .replace(/ß/g, 'ss')
    .replace(/æ/g, 'ae')
    .replace(/ø/g, 'oe')
    .replace(/å/g, 'aa')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
  return spelled
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/g, '')
}
