"""Which tenant a request belongs to: host name or ``X-Tenant`` header, resolved through a cache.

The kernel only knows the shape of a resolved tenant (``TenantInfo``) and how to parse a
host; loading tenants from the database is injected by the platform layer.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

ACCESS_WRITE = "write"
ACCESS_READ = "read"  # booked but suspended, or licence invalid: data stays readable, never deleted


@dataclass(frozen=True)
class TenantInfo:
    id: uuid.UUID
    slug: str
    name: str
    status: str
    user_limit: int
    storage_quota_gb: int
    custom_domain: str | None = None
    modules: Mapping[str, str] = field(default_factory=dict)  # module slug -> "write" | "read"

    @property
    def any_module_booked(self) -> bool:
        return bool(self.modules)


@dataclass(frozen=True)
class HostTarget:
    """What a host name points at: a tenant slug, a custom domain, or the platform itself."""

    slug: str | None = None
    custom_domain: str | None = None

    @property
    def is_platform(self) -> bool:
        return self.slug is None and self.custom_domain is None


def parse_host(host: str, x_tenant: str | None, base_domain: str, default_tenant: str | None) -> HostTarget:
    if x_tenant:
        return HostTarget(slug=x_tenant.strip().lower())
    name = host.strip().lower()
    if name.startswith("["):  # IPv6 literal
        name = name.split("]")[0] + "]"
    else:
        name = name.rsplit(":", 1)[0] if ":" in name else name
    name = name.rstrip(".")
    base = base_domain.lower()
    if name.endswith("." + base):
        label = name[: -len(base) - 1]
        if label == PLATFORM_LABEL:  # the console of a self-hosted install, whose other hosts are the company's
            return HostTarget()
        if label and "." not in label:
            return HostTarget(slug=label)
    if name in (base, "localhost", "127.0.0.1", "[::1]", "testserver") or not name:
        return HostTarget(slug=default_tenant) if default_tenant else HostTarget()
    return HostTarget(custom_domain=name)


PLATFORM_LABEL = "platform"  # a reserved slug: platform.<base-domain> is always the platform console

Loader = Callable[[HostTarget], Awaitable[TenantInfo | None]]


class TenantCache:
    """Host → tenant, cached for ``ttl`` seconds; O(1) per lookup whatever the tenant count."""

    def __init__(self, loader: Loader, ttl: float = 30.0) -> None:
        self.loader = loader
        self.ttl = ttl
        self._entries: dict[HostTarget, tuple[float, TenantInfo | None]] = {}

    async def get(self, target: HostTarget) -> TenantInfo | None:
        now = time.monotonic()
        hit = self._entries.get(target)
        if hit is not None and hit[0] > now:
            return hit[1]
        info = await self.loader(target)
        self._entries[target] = (now + self.ttl, info)
        return info

    def invalidate(self, tenant_id: uuid.UUID | None = None) -> None:
        """Drop cached entries of one tenant (or all); call after changing a tenant or its bookings."""
        if tenant_id is None:
            self._entries.clear()
            return
        for key, (_, info) in list(self._entries.items()):
            if info is None or info.id == tenant_id:
                self._entries.pop(key, None)
