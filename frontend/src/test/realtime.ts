/** A realtime connection over a fake socket for unit tests: `send` delivers a server message. */
import { installRealtime, type SocketLike } from '@/core/realtime'

export function fakeRealtime() {
  const sockets: (SocketLike & { onmessage: ((ev: MessageEvent) => unknown) | null })[] = []
  const rt = installRealtime({
    token: () => 't',
    refresh: async () => true,
    url: () => 'ws://x/api/ws',
    createSocket: () => {
      const s = { readyState: 1, onopen: null, onmessage: null, onclose: null, onerror: null, send: () => {}, close: () => {} }
      sockets.push(s)
      return s
    },
  })
  rt.start()
  const send = (data: unknown) => sockets.at(-1)!.onmessage!({ data: JSON.stringify(data) } as MessageEvent)
  return { rt, sockets, send }
}
