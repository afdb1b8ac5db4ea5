/**
 * Live events over one WebSocket per logged-in tab (`/api/ws?token=…`).
 *
 * The server greets with `{"type":"hello"}` and then sends `{"type":"event", name, payload, id,
 * created_at}`. This client reconnects with exponential backoff and jitter, re-authenticates with
 * the current access token (refreshing it first when the server closed with 4401), pings now and
 * then to notice dead connections, and hands every event to the listeners registered with
 * `onEvent(pattern, handler)`; patterns are exact names, `prefix.*` or `*`.
 * After a reconnect it emits `realtime.resync` so lists can reload what they may have missed.
 */
import { ref, type Ref } from 'vue'

export interface RealtimeEvent {
  name: string
  payload: Record<string, unknown>
  id: string
  created_at: string
}

export type RealtimeStatus = 'idle' | 'connecting' | 'open' | 'offline'
export type EventHandler = (event: RealtimeEvent) => void

export const RESYNC_EVENT = 'realtime.resync'
const CLOSE_UNAUTHORIZED = 4401

/** True when `name` matches `pattern` (`*`, `crm.*`, or the exact name). */
export function matches(pattern: string, name: string): boolean {
  if (pattern === '*') return true
  if (pattern.endsWith('.*')) return name.startsWith(pattern.slice(0, -1))
  return pattern === name
}

/** Delay before reconnect attempt `attempt` (0-based): full jitter over an exponential ceiling. */
export function backoffDelay(attempt: number, random: () => number = Math.random, base = 1000, max = 30_000): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 16))
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

export interface SocketLike {
  readonly readyState: number
  onopen: ((ev: Event) => unknown) | null
  onmessage: ((ev: MessageEvent) => unknown) | null
  onclose: ((ev: CloseEvent) => unknown) | null
  onerror: ((ev: Event) => unknown) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

export interface RealtimeOptions {
  /** The current access token (null: logged out). */
  token: () => string | null
  /** Get a fresh access token; resolves false when the session is over. */
  refresh: () => Promise<boolean>
  /** ws://host/api/ws for the page's host. */
  url?: () => string
  createSocket?: (url: string) => SocketLike
  random?: () => number
  pingEveryMs?: number
  pongTimeoutMs?: number
  /** Where to show the connection state (a new ref when omitted). */
  status?: Ref<RealtimeStatus>
}

function defaultUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}/api/ws`
}

export function createRealtime(options: RealtimeOptions) {
  const status = options.status ?? ref<RealtimeStatus>('idle')
  const handlers = new Set<{ pattern: string; handler: EventHandler }>()
  const createSocket = options.createSocket ?? ((url: string) => new WebSocket(url) as SocketLike)
  const pingEvery = options.pingEveryMs ?? 25_000
  const pongTimeout = options.pongTimeoutMs ?? 10_000

  let socket: SocketLike | null = null
  let usedToken: string | null = null
  let running = false
  let attempt = 0
  let everOpened = false
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined
  let pingTimer: ReturnType<typeof setInterval> | undefined
  let pongTimer: ReturnType<typeof setTimeout> | undefined

  function emit(event: RealtimeEvent): void {
    for (const entry of [...handlers]) {
      if (!matches(entry.pattern, event.name)) continue
      try {
        entry.handler(event)
      } catch (err) {
        console.error(err)
      }
    }
  }

  function onEvent(pattern: string, handler: EventHandler): () => void {
    const entry = { pattern, handler }
    handlers.add(entry)
    return () => handlers.delete(entry)
  }

  function clearTimers(): void {
    clearTimeout(reconnectTimer)
    clearInterval(pingTimer)
    clearTimeout(pongTimer)
    reconnectTimer = pingTimer = pongTimer = undefined
  }

  function drop(): void {
    const old = socket
    socket = null
    if (old) {
      old.onopen = old.onmessage = old.onclose = old.onerror = null
      try {
        old.close(1000, 'bye')
      } catch {
        /* already closed */
      }
    }
  }

  function scheduleReconnect(): void {
    if (!running) return
    status.value = 'offline'
    clearTimeout(reconnectTimer)
    const delay = backoffDelay(attempt++, options.random)
    reconnectTimer = setTimeout(connect, delay)
  }

  function connect(): void {
    clearTimers()
    drop()
    if (!running) return
    const token = options.token()
    if (!token) {
      status.value = 'idle'
      return
    }
    usedToken = token
    status.value = 'connecting'
    const base = (options.url ?? defaultUrl)()
    let ws: SocketLike
    try {
      ws = createSocket(`${base}?token=${encodeURIComponent(token)}`)
    } catch {
      scheduleReconnect()
      return
    }
    socket = ws
    ws.onmessage = (message) => {
      let data: unknown
      try {
        data = JSON.parse(String(message.data))
      } catch {
        return
      }
      if (!data || typeof data !== 'object') return
      const record = data as Record<string, unknown>
      clearTimeout(pongTimer)
      if (record.type === 'hello') {
        const resumed = everOpened
        everOpened = true
        attempt = 0
        status.value = 'open'
        clearInterval(pingTimer)
        pingTimer = setInterval(ping, pingEvery)
        if (resumed) emit({ name: RESYNC_EVENT, payload: {}, id: '', created_at: new Date().toISOString() })
      } else if (record.type === 'event' && typeof record.name === 'string') {
        emit({
          name: record.name,
          payload: (record.payload && typeof record.payload === 'object' ? record.payload : {}) as Record<string, unknown>,
          id: String(record.id ?? ''),
          created_at: String(record.created_at ?? ''),
        })
      }
    }
    ws.onclose = (event) => {
      if (socket !== ws) return
      socket = null
      clearTimers()
      if (!running) return
      if (event.code === CLOSE_UNAUTHORIZED) void reauthenticate()
      else scheduleReconnect()
    }
    ws.onerror = () => {
      /* onclose follows */
    }
  }

  /** The server refused the token: use a newer one, or refresh first; give up when the session ended. */
  async function reauthenticate(): Promise<void> {
    status.value = 'connecting'
    const current = options.token()
    if (current && current !== usedToken) {
      connect()
      return
    }
    let ok = false
    try {
      ok = await options.refresh()
    } catch {
      ok = false
    }
    if (!running) return
    if (ok && options.token()) {
      attempt = Math.max(attempt, 1)
      connect()
    } else scheduleReconnect()
  }

  function ping(): void {
    if (!socket || socket.readyState !== 1) return
    try {
      socket.send(JSON.stringify({ type: 'ping' }))
    } catch {
      /* onclose follows */
    }
    clearTimeout(pongTimer)
    pongTimer = setTimeout(() => {
      // No answer: the connection is dead without having said so.
      if (socket) {
        drop()
        clearTimers()
        scheduleReconnect()
      }
    }, pongTimeout)
  }

  function start(): void {
    if (running) return
    running = true
    attempt = 0
    everOpened = false
    connect()
  }

  function stop(): void {
    running = false
    clearTimers()
    drop()
    status.value = 'idle'
  }

  /** The access token changed (after a refresh): connect again with it if the socket is not open. */
  function tokenChanged(): void {
    if (!running) return
    if (status.value !== 'open') {
      attempt = 0
      connect()
    }
  }

  /** Try now instead of waiting out the backoff (the tab came back online or into view). */
  function retryNow(): void {
    if (running && status.value === 'offline') {
      attempt = 0
      connect()
    }
  }

  return { status, onEvent, emit, start, stop, tokenChanged, retryNow, get running() { return running } }
}

export type Realtime = ReturnType<typeof createRealtime>

// --- the app's single instance -------------------------------------------------------------------

let instance: Realtime | null = null
export const realtimeStatus = ref<RealtimeStatus>('idle')
const pendingHandlers: { pattern: string; handler: EventHandler; off?: () => void }[] = []

/** The app's connection; created by `installRealtime` (the shell), usable by anyone afterwards. */
export function installRealtime(options: RealtimeOptions): Realtime {
  if (!instance) {
    instance = createRealtime({ status: realtimeStatus, ...options })
    for (const entry of pendingHandlers) entry.off = instance.onEvent(entry.pattern, entry.handler)
    if (typeof window !== 'undefined') {
      window.addEventListener('online', () => instance?.retryNow())
      document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'visible') instance?.retryNow()
      })
    }
  }
  return instance
}

/** Listen to live events from anywhere (stores, components); returns the unsubscribe function. */
export function onEvent(pattern: string, handler: EventHandler): () => void {
  if (instance) return instance.onEvent(pattern, handler)
  const entry: { pattern: string; handler: EventHandler; off?: () => void } = { pattern, handler }
  pendingHandlers.push(entry)
  return () => {
    entry.off?.()
    const index = pendingHandlers.indexOf(entry)
    if (index >= 0) pendingHandlers.splice(index, 1)
  }
}

export function realtime(): Realtime | null {
  return instance
}
