/** A scripted fetch for unit tests: answers by "METHOD /path" and records every request. */
import { vi } from 'vitest'

export type Reply = { status?: number; body?: unknown; headers?: Record<string, string> }
type Handler = (request: Request, call: number) => Reply | Promise<Reply>

export interface Recorded {
  method: string
  path: string
  authorization: string | null
  body: unknown
}

export function json(status: number, body: unknown): Reply {
  return { status, body }
}

export function problem(status: number, code: string, extra: Record<string, unknown> = {}): Reply {
  return {
    status,
    body: { type: `https://xynap.dev/problems/${code}`, title: code, status, code, detail: code, ...extra },
    headers: { 'content-type': 'application/problem+json' },
  }
}

export function scriptFetch(routes: Record<string, Handler | Reply | Reply[]>) {
  const calls: Recorded[] = []
  const counts = new Map<string, number>()
  const fetchMock = vi.fn(async (input: Request | string, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init)
    const url = new URL(request.url)
    const key = `${request.method} ${url.pathname}`
    const text = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text()
    calls.push({
      method: request.method,
      path: url.pathname + url.search,
      authorization: request.headers.get('authorization'),
      body: text ? JSON.parse(text) : undefined,
    })
    const n = counts.get(key) ?? 0
    counts.set(key, n + 1)
    const route = routes[key]
    if (!route) return new Response(JSON.stringify({ code: 'not_found', status: 404 }), { status: 404 })
    let reply: Reply
    if (typeof route === 'function') reply = await route(request, n)
    else if (Array.isArray(route)) reply = route[Math.min(n, route.length - 1)]
    else reply = route
    const status = reply.status ?? 200
    const headers = { 'content-type': 'application/json', ...(reply.headers ?? {}) }
    return new Response(status === 204 ? null : JSON.stringify(reply.body ?? null), { status, headers })
  })
  vi.stubGlobal('fetch', fetchMock)
  return { calls, fetchMock }
}
