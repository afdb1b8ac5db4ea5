"""The open WebSocket connections of this process and the live fan-out of domain events to them.

The event dispatcher (without Redis) or the Redis relay (with Redis, on every node) hands each
committed event to ``RealtimeHub.deliver``. The hub looks up the connections of the event's
tenant, keeps those whose principal may see the event, and puts one serialised message on each
connection's bounded queue; a per-connection sender task writes the queue to the socket. A slow
or broken client therefore never holds up the others: when its queue overflows it is dropped
(closed with 1013, "try again later") and the client reconnects.

Who sees what: an event without a permission goes to every user of the tenant. Otherwise the
user needs the permission; with scope ``all`` they see every such event, with ``team`` only
events whose ``owner_id`` is in their teams, with ``own`` only events they own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xynap.core.security.permissions import Principal

if TYPE_CHECKING:
    from xynap.core.events import Event

log = logging.getLogger("xynap.realtime")

CLOSE_SLOW_CONSUMER = 1013  # "try again later": the client could not keep up
CLOSE_GOING_AWAY = 1001
SEND_TIMEOUT_SECONDS = 10.0


def may_see(principal: Principal, event: Event) -> bool:
    """Whether ``principal`` may receive ``event`` live (tenant already matched by the caller)."""
    if event.permission is None:
        return True
    scope = principal.scope_for(event.permission)
    if scope is None:
        return False
    if scope == "all":
        return True
    owner = event.owner_id
    if owner is None:
        return False
    if scope == "team":
        return owner == principal.user_id or owner in principal.team_member_ids
    if scope == "own":
        return owner == principal.user_id
    return False


def event_message(event: Event) -> dict[str, Any]:
    """What a WebSocket client receives for one event."""
    return {
        "type": "event",
        "name": event.name,
        "payload": event.payload,
        "id": str(event.id),
        "created_at": event.created_at.isoformat(),
    }


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


class Connection:
    """One open socket: its principal, its tenant and a bounded outgoing queue."""

    def __init__(self, ws: Any, principal: Principal, tenant_id: uuid.UUID | None, queue_size: int) -> None:
        self.ws = ws
        self.principal = principal
        self.tenant_id = tenant_id
        self.closing = False
        self._queue: asyncio.Queue[str | _Close] = asyncio.Queue(maxsize=max(1, queue_size))
        self.sender: asyncio.Task[None] = asyncio.create_task(self._send_loop(), name="xynap-ws-sender")

    @property
    def user_id(self) -> uuid.UUID:
        return self.principal.user_id

    def offer(self, text: str) -> bool:
        """Queue a text frame without waiting; ``False`` when the queue is full (client too slow)."""
        if self.closing:
            return True
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True

    def send_json(self, data: Any) -> bool:
        return self.offer(json.dumps(data, separators=(",", ":")))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Drop whatever is still queued and close the socket (from the sender task)."""
        if self.closing:
            return
        self.closing = True
        while True:
            try:
                self._queue.get_nowait()
            except asyncio.QueueEmpty:
                break
        self._queue.put_nowait(_Close(code, reason))

    async def _send_loop(self) -> None:
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, _Close):
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                            await self.ws.close(code=item.code, reason=item.reason)
                    return
                async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                    await self.ws.send_text(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the client went away or stopped reading
            log.debug("websocket send failed for user %s: %r", self.principal.user_id, exc)
        finally:
            self.closing = True


class RealtimeHub:
    """The WebSocket connections of this process, indexed by tenant."""

    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._by_tenant: dict[uuid.UUID | None, set[Connection]] = {}

    def connect(self, ws: Any, principal: Principal, tenant_id: uuid.UUID | None) -> Connection:
        """Register an accepted socket; events start flowing to it at once."""
        conn = Connection(ws, principal, tenant_id, self.queue_size)
        self._by_tenant.setdefault(tenant_id, set()).add(conn)
        return conn

    async def disconnect(self, conn: Connection) -> None:
        """Forget a connection and stop its sender (the socket itself is the caller's)."""
        self._forget(conn)
        conn.closing = True
        if not conn.sender.done():
            conn.sender.cancel()
        await asyncio.gather(conn.sender, return_exceptions=True)

    def update_principal(self, conn: Connection, principal: Principal) -> None:
        """Swap in a freshly loaded principal (role or team changes apply without reconnecting)."""
        conn.principal = principal

    def connections(self) -> list[Connection]:
        return [c for conns in self._by_tenant.values() for c in conns]

    def tenant_connections(self, tenant_id: uuid.UUID | None) -> list[Connection]:
        return list(self._by_tenant.get(tenant_id, ()))

    def __len__(self) -> int:
        return sum(len(conns) for conns in self._by_tenant.values())

    async def deliver(self, event: Event) -> int:
        """Queue ``event`` for every connection of its tenant allowed to see it; returns how many."""
        conns = self._by_tenant.get(event.tenant_id)
        if not conns:
            return 0
        text: str | None = None
        sent = 0
        for conn in list(conns):
            if conn.closing:
                if conn.sender.done():
                    self._forget(conn)
                continue
            if not may_see(conn.principal, event):
                continue
            if text is None:
                text = json.dumps(event_message(event), separators=(",", ":"), ensure_ascii=False)
            if conn.offer(text):
                sent += 1
            else:
                log.warning("dropping a slow websocket client (user %s): %d messages queued",
                            conn.principal.user_id, self.queue_size)
                self._forget(conn)
                conn.close(CLOSE_SLOW_CONSUMER, "too slow")
        if sent:
            await asyncio.sleep(0)  # let the senders run between events of a burst
        return sent

    async def close(self, code: int = CLOSE_GOING_AWAY) -> None:
        """Close every connection (process shutdown)."""
        conns = self.connections()
        self._by_tenant.clear()
        for conn in conns:
            conn.close(code, "server shutting down")
        if conns:
            await asyncio.wait([c.sender for c in conns], timeout=SEND_TIMEOUT_SECONDS)
        for conn in conns:
            if not conn.sender.done():
                conn.sender.cancel()
        await asyncio.gather(*(c.sender for c in conns), return_exceptions=True)

    def _forget(self, conn: Connection) -> None:
        conns = self._by_tenant.get(conn.tenant_id)
        if conns is None:
            return
        conns.discard(conn)
        if not conns:
            self._by_tenant.pop(conn.tenant_id, None)
