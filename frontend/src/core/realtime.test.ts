import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { backoffDelay, createRealtime, matches, type SocketLike } from './realtime'

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = []
  readyState = 0
  sent: string[] = []
  closed: { code?: number } | null = null
  onopen: ((ev: Event) => unknown) | null = null
  onmessage: ((ev: MessageEvent) => unknown) | null = null
  onclose: ((ev: CloseEvent) => unknown) | null = null
  onerror: ((ev: Event) => unknown) | null = null
  constructor(public url: string) {
    FakeSocket.all.push(this)
  }
  send(data: string): void {
    this.sent.push(data)
  }
  close(code?: number): void {
    this.closed = { code }
  }
  // what the server does
  hello(): void {
    this.readyState = 1
    this.onmessage?.({ data: JSON.stringify({ type: 'hello', user_id: 'u1' }) } as MessageEvent)
  }
  event(name: string, payload: Record<string, unknown> = {}): void {
    this.onmessage?.({ data: JSON.stringify({ type: 'event', name, payload, id: 'e1', created_at: '2026-01-01T00:00:00Z' }) } as MessageEvent)
  }
  drop(code = 1006): void {
    this.readyState = 3
    this.onclose?.({ code } as CloseEvent)
  }
}

function setup(overrides: Partial<Parameters<typeof createRealtime>[0]> = {}) {
  let token = 'access-1'
  const refresh = vi.fn(async () => {
    token = 'access-2'
    return true
  })
  const rt = createRealtime({
    token: () => token,
    refresh,
    url: () => 'ws://demo.localhost/api/ws',
    createSocket: (url) => new FakeSocket(url),
    random: () => 0.5,
    ...overrides,
  })
  return { rt, refresh, setToken: (value: string) => (token = value) }
}

beforeEach(() => {
  FakeSocket.all = []
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('matches', () => {
  it('knows exact names, prefixes and the wildcard', () => {
    expect(matches('user.*', 'user.created')).toBe(true)
    expect(matches('user.*', 'users.created')).toBe(false)
    expect(matches('user.created', 'user.created')).toBe(true)
    expect(matches('*', 'anything')).toBe(true)
  })
})

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with jitter in the upper half', () => {
    expect(backoffDelay(0, () => 0)).toBe(500)
    expect(backoffDelay(0, () => 1)).toBe(1000)
    expect(backoffDelay(3, () => 1)).toBe(8000)
    expect(backoffDelay(20, () => 1)).toBe(30_000)
    expect(backoffDelay(20, () => 0)).toBe(15_000)
  })
})

describe('realtime connection', () => {
  it('connects with the token, goes live on hello and hands events to matching listeners', () => {
    const { rt } = setup()
    const users = vi.fn()
    const all = vi.fn()
    rt.onEvent('user.*', users)
    rt.onEvent('*', all)
    rt.start()
    expect(FakeSocket.all[0].url).toBe('ws://demo.localhost/api/ws?token=access-1')
    expect(rt.status.value).toBe('connecting')
    FakeSocket.all[0].hello()
    expect(rt.status.value).toBe('open')
    FakeSocket.all[0].event('user.created', { id: 'u2' })
    FakeSocket.all[0].event('subscription.cancelled')
    expect(users).toHaveBeenCalledOnce()
    expect(users.mock.calls[0][0]).toMatchObject({ name: 'user.created', payload: { id: 'u2' } })
    expect(all).toHaveBeenCalledTimes(2)
  })

  it('reconnects with backoff after a drop and asks listeners to resync', () => {
    const { rt } = setup()
    const resync = vi.fn()
    rt.onEvent('realtime.resync', resync)
    rt.start()
    FakeSocket.all[0].hello()
    FakeSocket.all[0].drop()
    expect(rt.status.value).toBe('offline')
    vi.advanceTimersByTime(749)
    expect(FakeSocket.all).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.all).toHaveLength(2)
    FakeSocket.all[1].drop()
    vi.advanceTimersByTime(1499) // second attempt waits longer
    expect(FakeSocket.all).toHaveLength(2)
    vi.advanceTimersByTime(1)
    FakeSocket.all[2].hello()
    expect(rt.status.value).toBe('open')
    expect(resync).toHaveBeenCalledOnce()
  })

  it('refreshes the token when the server says 4401 and connects with the new one', async () => {
    const { rt, refresh } = setup()
    rt.start()
    FakeSocket.all[0].hello()
    FakeSocket.all[0].drop(4401)
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2))
    expect(refresh).toHaveBeenCalledOnce()
    expect(FakeSocket.all[1].url).toContain('token=access-2')
  })

  it('uses an already refreshed token without refreshing again', () => {
    const { rt, refresh, setToken } = setup()
    rt.start()
    FakeSocket.all[0].hello()
    setToken('access-9')
    FakeSocket.all[0].drop(4401)
    expect(refresh).not.toHaveBeenCalled()
    expect(FakeSocket.all[1].url).toContain('token=access-9')
  })

  it('pings and treats a missing pong as a dead connection', () => {
    const { rt } = setup({ pingEveryMs: 1000, pongTimeoutMs: 500 })
    rt.start()
    FakeSocket.all[0].hello()
    vi.advanceTimersByTime(1000)
    expect(FakeSocket.all[0].sent).toEqual([JSON.stringify({ type: 'ping' })])
    vi.advanceTimersByTime(500)
    expect(FakeSocket.all[0].closed).not.toBeNull()
    expect(rt.status.value).toBe('offline')
  })

  it('stops for good on stop() and unsubscribes listeners', () => {
    const { rt } = setup()
    const handler = vi.fn()
    const off = rt.onEvent('user.*', handler)
    rt.start()
    FakeSocket.all[0].hello()
    off()
    FakeSocket.all[0].event('user.created')
    expect(handler).not.toHaveBeenCalled()
    rt.stop()
    expect(rt.status.value).toBe('idle')
    vi.advanceTimersByTime(60_000)
    expect(FakeSocket.all).toHaveLength(1)
  })
})
