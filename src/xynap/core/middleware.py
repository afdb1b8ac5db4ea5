"""The outer ASGI layer: request id, body-size limit, tenant resolution, metrics, access log.

Written as plain ASGI (not BaseHTTPMiddleware) because it runs on every request and its
cost is part of the platform overhead we measure.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xynap.core.errors import problem
from xynap.core.observability import HTTP_LATENCY, HTTP_REQUESTS, request_id_var
from xynap.core.tenancy import parse_host

log = logging.getLogger("xynap.http")
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
TENANT_FREE = ("/api/health", "/api/ready", "/metrics", "/api/openapi.json", "/api/docs")
# A caller's X-Request-ID is echoed and stored (audit_log.request_id is 64 characters): accept
# only short, plain ids and make up a new one otherwise.
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class BodyTooLarge(HTTPException):
    """Raised while the body streams in. An HTTPException, so that FastAPI's body parsing passes it
    on (it turns other errors into 400) and the problem handler answers 413 payload_too_large."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The body may be at most {limit} bytes.")


class PlatformMiddleware:
    def __init__(self, app: ASGIApp, runtime: Any) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        rid = headers.get("x-request-id") or ""
        if not REQUEST_ID_RE.match(rid):
            rid = uuid.uuid4().hex
        token = request_id_var.set(rid)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        path: str = scope["path"]
        method = scope.get("method", "WS")
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", rid.encode())]
            await send(message)

        try:
            settings = self.runtime.settings
            limit = settings.max_body_bytes
            if scope["type"] == "http":
                # File uploads (multipart) get their own, larger limit: handlers stream them to disk.
                if headers.get("content-type", "").startswith("multipart/form-data"):
                    limit = settings.max_upload_bytes
                length = headers.get("content-length")
                if length is not None and (not length.isdigit() or int(length) > limit):
                    await self._reply(scope, receive, send_wrapper, 413, "payload_too_large", "Payload too large",
                                      f"The body may be at most {limit} bytes.")
                    return
                receive = self._limited(receive, limit)
            if path.startswith("/api") and not path.startswith(TENANT_FREE):
                target = parse_host(headers.get("host", ""), headers.get("x-tenant"), settings.base_domain,
                                    settings.default_tenant)
                state["host_target"] = target
                if not target.is_platform:
                    tenant = await self.runtime.tenant_cache.get(target)
                    if tenant is None:
                        name = target.slug or target.custom_domain
                        await self._reply(scope, receive, send_wrapper, 404, "tenant_not_found", "Unknown tenant",
                                          f"There is no tenant {name!r} on this platform.")
                        return
                    if tenant.status in ("suspended", "cancelled"):
                        await self._reply(scope, receive, send_wrapper, 403, f"tenant_{tenant.status}",
                                          f"Tenant {tenant.status}",
                                          f"The company account {tenant.slug!r} is {tenant.status}; "
                                          "contact your provider.")
                        return
                    state["tenant"] = tenant
                else:
                    state["tenant"] = None
            try:
                await self.app(scope, receive, send_wrapper)
            except BodyTooLarge:
                await self._reply(scope, receive, send_wrapper, 413, "payload_too_large", "Payload too large",
                                  f"The body may be at most {limit} bytes.")
        finally:
            if scope["type"] == "http":
                elapsed = time.perf_counter() - started
                route = scope.get("route")
                route_path = getattr(route, "path", None) or ("unmatched" if path.startswith("/api") else "static")
                status = status_holder["status"]
                HTTP_REQUESTS.labels(method, route_path, str(status)).inc()
                HTTP_LATENCY.labels(method, route_path).observe(elapsed)
                if method in MUTATING and path.startswith("/api") and not state.get("audited"):
                    await self._audit_request(scope, state, method, path, status, headers)
                if log.isEnabledFor(logging.INFO) and not path.startswith(("/api/health", "/metrics")):
                    tenant = state.get("tenant")
                    log.info("%s %s %s", method, path, status, extra={
                        "method": method, "path": path, "status": status,
                        "duration_ms": round(elapsed * 1000, 2), "tenant": tenant.slug if tenant else None,
                        "client": (scope.get("client") or ("", 0))[0],
                    })
            request_id_var.reset(token)

    @staticmethod
    def _limited(receive: Receive, limit: int) -> Receive:
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return wrapped

    async def _reply(self, scope: Scope, receive: Receive, send: Send, status: int, code: str, title: str,
                     detail: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4000 + status % 1000})
            return
        request = Request(scope, receive)
        await problem(status, code, title, detail, request)(scope, receive, send)

    async def _audit_request(self, scope: Scope, state: dict[str, Any], method: str, path: str, status: int,
                             headers: dict[str, str]) -> None:
        """Mutating requests that changed no entity (refused, failed) still leave one audit row."""
        from xynap.core.audit import audit

        tenant = state.get("tenant")
        principal = state.get("principal")
        db = self.runtime.db
        try:
            async with db.session(tenant_id=tenant.id if tenant else None, platform=tenant is None) as session:
                # PostgreSQL stores no NUL character, and a path may hold one (%00)
                audit(session, f"http.{method.lower()}", entity_type="request", entity_id=None,
                      changes={"path": path.replace("\x00", "\ufffd")},
                      tenant_id=tenant.id if tenant else None, status_code=status,
                      actor_kind=principal.kind if principal else "anonymous",
                      actor_id=principal.user_id if principal else None,
                      actor_email=principal.email if principal else None,
                      ip=(scope.get("client") or (None,))[0], user_agent=headers.get("user-agent", "")[:300] or None,
                      request_id=state.get("request_id"))
                await session.commit()
        except Exception:
            log.exception("could not write the audit record of %s %s", method, path)
