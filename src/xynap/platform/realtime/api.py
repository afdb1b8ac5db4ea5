"""``/api/ws``: live domain events over a WebSocket.

Connect on the tenant's address (host name or ``X-Tenant``) with the access token either in
the query string (``/api/ws?token=...``) or as subprotocols (``Sec-WebSocket-Protocol: bearer,
<token>``; the server answers with ``bearer``). The server greets with ``{"type": "hello",
"user_id": ...}`` and then sends ``{"type": "event", "name", "payload", "id", "created_at"}``
for every event of the tenant the user may see. ``{"type": "ping"}`` is answered with
``{"type": "pong"}``.

Close codes: 4401 the token is missing, invalid, expired or the user was deactivated (refresh
the token and reconnect); 1013 the client did not keep up with the events; 1001 the server is
shutting down; 1011 live events are not running in this process.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from fastapi import APIRouter, WebSocket

from xynap.core.errors import AppError
from xynap.core.realtime import Connection, RealtimeHub
from xynap.core.security.permissions import Principal
from xynap.core.security.tokens import decode_access_token
from xynap.core.tenancy import TenantInfo
from xynap.platform.auth.deps import load_principal
from xynap.runtime import Runtime

router = APIRouter(tags=["realtime"])

CLOSE_UNAUTHORIZED = 4401
CLOSE_UNAVAILABLE = 1011
PRINCIPAL_REFRESH_SECONDS = 30.0
MAX_CLIENT_MESSAGE_CHARS = 4096


def _credentials(websocket: WebSocket) -> tuple[str | None, str | None]:
    """The access token and the subprotocol to answer with (``bearer`` when the token came that way)."""
    protocols = [p.strip() for p in websocket.scope.get("subprotocols") or []]
    if len(protocols) >= 2 and protocols[0].lower() == "bearer" and protocols[1]:
        return protocols[1], protocols[0]
    return websocket.query_params.get("token") or None, None


async def _authenticate(runtime: Runtime, token: str | None, tenant: TenantInfo | None) -> Principal | None:
    if not token:
        return None
    try:
        return await load_principal(runtime, token, tenant)
    except AppError:
        return None


@router.websocket("/api/ws", name="realtime")
async def realtime_socket(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    tenant: TenantInfo | None = (websocket.scope.get("state") or {}).get("tenant")
    token, subprotocol = _credentials(websocket)
    principal = await _authenticate(runtime, token, tenant)
    # Accept before closing: a close during the handshake reaches browsers as a bare 1006/403.
    await websocket.accept(subprotocol=subprotocol)
    if principal is None or token is None:
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="unauthorized")
        return
    hub: RealtimeHub | None = runtime.extras.get("realtime_hub")
    if hub is None:
        await websocket.close(code=CLOSE_UNAVAILABLE, reason="live events are not running")
        return
    await websocket.send_json({"type": "hello", "user_id": str(principal.user_id)})
    tenant_id: uuid.UUID | None = tenant.id if tenant else None
    conn = hub.connect(websocket, principal, tenant_id)
    receiver = asyncio.create_task(_receive(websocket, conn), name="xynap-ws-receiver")
    watcher = asyncio.create_task(_watch(runtime, hub, conn, token, tenant), name="xynap-ws-watcher")
    try:
        await asyncio.wait({receiver, watcher, conn.sender}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (receiver, watcher):
            task.cancel()
        await asyncio.gather(receiver, watcher, return_exceptions=True)
        await hub.disconnect(conn)


async def _receive(websocket: WebSocket, conn: Connection) -> None:
    """Answer the client's messages (only ``ping`` for now) until it disconnects."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            text = (message.get("bytes") or b"").decode("utf-8", "replace")
        data: Any = None
        if len(text) <= MAX_CLIENT_MESSAGE_CHARS:
            try:
                data = json.loads(text)
            except ValueError:
                data = None
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "ping":
            conn.send_json({"type": "pong"})
        else:
            conn.send_json({"type": "error", "code": "unknown_message",
                            "detail": 'Send {"type": "ping"}; events arrive without asking.'})


async def _watch(runtime: Runtime, hub: RealtimeHub, conn: Connection, token: str,
                 tenant: TenantInfo | None) -> None:
    """Reload the principal now and then (role changes apply live); close at token expiry or deactivation."""
    try:
        expires_at = float(decode_access_token(token).expires_at)
    except AppError:
        expires_at = time.time()
    while True:
        await asyncio.sleep(min(PRINCIPAL_REFRESH_SECONDS, max(0.0, expires_at - time.time()) + 1.0))
        try:
            principal = await load_principal(runtime, token, tenant)
        except AppError as exc:
            conn.close(CLOSE_UNAUTHORIZED, exc.code)
            await asyncio.gather(conn.sender, return_exceptions=True)
            return
        hub.update_principal(conn, principal)
