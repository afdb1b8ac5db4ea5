/**
 * The typed API client (openapi-fetch over the generated schema) and its transport:
 * it adds the access token, and when the server answers 401 `token_expired` it refreshes the
 * session once (one refresh shared by all requests waiting at that moment) and repeats the
 * request — the page the user is on stays as it is.
 */
import createClient from 'openapi-fetch'
import { ApiError, asApiError, errorFromResponse, toApiError } from './errors'
import type { paths } from './schema'

export interface SessionHooks {
  /** The current access token, or null when logged out. */
  accessToken(): string | null
  /** Get a new access token; resolves true when one is available. Called at most once per expiry. */
  refresh(): Promise<boolean>
  /** The server no longer accepts this session (refresh failed, token revoked …). */
  expired(): void
}

const noSession: SessionHooks = {
  accessToken: () => null,
  refresh: async () => false,
  expired: () => {},
}

let hooks: SessionHooks = noSession

export function setSessionHooks(next: SessionHooks | null): void {
  hooks = next ?? noSession
}

/** Endpoints that must never carry the access token nor trigger a refresh. */
const ANONYMOUS = [
  '/api/login',
  '/api/refresh',
  '/api/context',
  '/api/signup',
  '/api/setup',
  '/api/password-reset',
  '/api/password-reset/confirm',
]

/** 401 codes that mean "this login is over" (as opposed to wrong credentials on a form). */
const SESSION_OVER = new Set([
  'token_expired',
  'token_invalid',
  'token_tenant_mismatch',
  'not_authenticated',
  'unauthorized',
  'user_inactive',
])

function isAnonymous(request: Request): boolean {
  const path = new URL(request.url, 'http://x').pathname
  return ANONYMOUS.includes(path)
}

function withToken(request: Request, token: string | null): Request {
  if (!token) return request
  const headers = new Headers(request.headers)
  headers.set('Authorization', `Bearer ${token}`)
  return new Request(request, { headers })
}

async function codeOf(response: Response): Promise<string | null> {
  try {
    const body: unknown = await response.clone().json()
    if (body && typeof body === 'object' && 'code' in body && typeof body.code === 'string') return body.code
  } catch {
    /* not JSON */
  }
  return null
}

/** fetch() for the client; globalThis.fetch is looked up per call so tests can stub it. */
export async function sessionFetch(request: Request): Promise<Response> {
  if (isAnonymous(request)) return globalThis.fetch(request)
  const token = hooks.accessToken()
  const spare = token ? request.clone() : null
  const response = await globalThis.fetch(withToken(request, token))
  if (response.status !== 401 || !token) return response
  const code = await codeOf(response)
  if (code === 'token_expired' && spare) {
    let refreshed = false
    try {
      refreshed = await hooks.refresh()
    } catch {
      refreshed = false
    }
    if (refreshed) {
      const again = await globalThis.fetch(withToken(spare, hooks.accessToken()))
      if (again.status === 401 && SESSION_OVER.has((await codeOf(again)) ?? '')) hooks.expired()
      return again
    }
    hooks.expired()
    return response
  }
  if (code && SESSION_OVER.has(code)) hooks.expired()
  return response
}

function origin(): string {
  return typeof location !== 'undefined' && location.origin && location.origin !== 'null' ? location.origin : ''
}

export const api = createClient<paths>({ baseUrl: origin(), fetch: sessionFetch })

interface Outcome<D> {
  data?: D
  error?: unknown
  response: Response
}

/**
 * Await an openapi-fetch call and return its data, or throw an ApiError (network failures too):
 * `const me = await unwrap(api.GET('/api/me'))`.
 */
export async function unwrap<D>(call: Promise<Outcome<D>>): Promise<D> {
  let outcome: Outcome<D>
  try {
    outcome = await call
  } catch (err) {
    throw asApiError(err)
  }
  const { data, error, response } = outcome
  if (!response.ok) {
    if (error !== undefined) throw toApiError(response.status, error)
    throw await errorFromResponse(response)
  }
  return data as D
}

export { ApiError }
