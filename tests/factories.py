"""Plain async factories for test data (no fixtures hidden behind magic)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from xynap.core.db import utcnow
from xynap.core.security.passwords import hash_password

PASSWORD = "correct-horse-battery"
_counter = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}-{uuid.uuid4().hex[:6]}"


@dataclass
class TenantHandle:
    id: uuid.UUID
    slug: str
    users: dict[str, Any] = field(default_factory=dict)


@dataclass
class Session:
    """A logged-in API caller: sends X-Tenant and the bearer token on every request."""

    client: httpx.AsyncClient
    tenant: str | None
    token: str
    refresh_token: str
    user_id: uuid.UUID | None = None

    @property
    def headers(self) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}"}
        if self.tenant:
            h["X-Tenant"] = self.tenant
        return h

    async def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return await self.client.request(method, url, headers=headers, **kw)

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("POST", url, **kw)

    async def patch(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("PATCH", url, **kw)

    async def put(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("PUT", url, **kw)

    async def delete(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("DELETE", url, **kw)


class Factory:
    def __init__(self, runtime: Any, client: httpx.AsyncClient) -> None:
        self.runtime = runtime
        self.client = client

    async def tenant(self, *, modules: tuple[str, ...] = (), status: str = "active", **kw: Any) -> TenantHandle:
        from xynap.platform.catalog.subscriptions import book_module
        from xynap.platform.tenants.service import create_tenant

        slug = kw.pop("slug", None) or unique("t")
        async with self.runtime.db.platform_session() as session:
            tenant = await create_tenant(session, slug=slug, name=kw.pop("name", f"Company {slug}"), status=status,
                                         **kw)
            tid = tenant.id
        for module in modules:
            async with self.runtime.db.tenant_session(tid) as session:
                await book_module(session, self.runtime, tid, module, tier="business", activate=True)
        self.runtime.invalidate_tenant(tid)
        return TenantHandle(id=tid, slug=slug)

    async def user(self, tenant: TenantHandle, *, role: str = "admin", email: str | None = None,
                   password: str = PASSWORD, active: bool = True, name: str | None = None) -> Any:
        from xynap.platform.users.models import User

        email = email or f"{unique(role)}@example.com"
        async with self.runtime.db.tenant_session(tenant.id) as session:
            user = User(email=email.casefold(), name=name or email.split("@")[0], role=role,
                        password_hash=hash_password(password), is_active=active)
            session.add(user)
            await session.flush()
        tenant.users[email] = user
        return user

    async def platform_user(self, *, role: str = "admin", password: str = PASSWORD) -> Any:
        from xynap.platform.users.models import PlatformUser

        email = f"{unique('p' + role)}@example.com"
        async with self.runtime.db.platform_session() as session:
            user = PlatformUser(email=email, name=email.split("@")[0], role=role,
                                password_hash=hash_password(password))
            session.add(user)
            await session.flush()
        return user

    async def login(self, tenant: TenantHandle | None, email: str, password: str = PASSWORD) -> Session:
        headers = {"X-Tenant": tenant.slug} if tenant else {}
        resp = await self.client.post("/api/login", json={"email": email, "password": password}, headers=headers)
        assert resp.status_code == 200, resp.text
        data = resp.json()
        return Session(self.client, tenant.slug if tenant else None, data["access_token"], data["refresh_token"])

    async def member(self, tenant: TenantHandle, role: str = "admin") -> Session:
        user = await self.user(tenant, role=role)
        session = await self.login(tenant, user.email)
        session.user_id = user.id
        return session

    async def platform(self, role: str = "admin") -> Session:
        user = await self.platform_user(role=role)
        session = await self.login(None, user.email)
        session.user_id = user.id
        return session


def now():
    return utcnow()
