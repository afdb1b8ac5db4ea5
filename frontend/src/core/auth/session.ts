/** The stored login of this browser for this host (each tenant host has its own storage). */

export interface StoredSession {
  access: string
  refresh: string
  /** epoch ms when the access token runs out (informational; the server decides). */
  expiresAt: number
}

const KEY = 'xynap.session'

export function readSession(): StoredSession | null {
  try {
    const raw = localStorage.getItem(KEY)
    if (!raw) return null
    const value = JSON.parse(raw) as Partial<StoredSession>
    if (typeof value.access === 'string' && typeof value.refresh === 'string') {
      return { access: value.access, refresh: value.refresh, expiresAt: Number(value.expiresAt) || 0 }
    }
  } catch {
    /* unreadable: treat as logged out */
  }
  return null
}

export function writeSession(session: StoredSession | null): void {
  try {
    if (session) localStorage.setItem(KEY, JSON.stringify(session))
    else localStorage.removeItem(KEY)
  } catch {
    /* private mode without storage: the session lives in memory only */
  }
}

export const SESSION_KEY = KEY

/** The company name last seen on this host, so the login page can greet with it. */
const COMPANY_KEY = 'xynap.company'

export function rememberCompany(name: string | null): void {
  try {
    if (name) localStorage.setItem(COMPANY_KEY, name)
    else localStorage.removeItem(COMPANY_KEY)
  } catch {
    /* ignore */
  }
}

export function rememberedCompany(): string | null {
  try {
    return localStorage.getItem(COMPANY_KEY)
  } catch {
    return null
  }
}

/**
 * The tenant slug the host name names (demo.localhost → demo, acme.xynap.example → acme), or null
 * on the platform's own host (localhost, an IP address). Only for display: the server decides.
 */
export function tenantSlugFromHost(hostname: string): string | null {
  if (!hostname || hostname === 'localhost' || /^[\d.]+$/.test(hostname) || hostname.includes(':')) return null
  const labels = hostname.split('.')
  if (labels.length < 2) return null
  if (labels.length === 2 && labels[1] !== 'localhost') return null
  return labels[0] || null
}
