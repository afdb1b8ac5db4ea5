"""The live parts of one platform process, shared by the app, the worker and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xynap.core.cache import TTLCache
from xynap.core.config import Settings
from xynap.core.db import Database
from xynap.core.modules import ModuleRegistry, PermissionDecl
from xynap.core.security.ratelimit import MemoryCounter, RedisCounter
from xynap.core.tenancy import ACCESS_READ, TenantCache


@dataclass
class Runtime:
    settings: Settings
    db: Database
    registry: ModuleRegistry
    tenant_cache: TenantCache
    redis: Any = None
    principals: TTLCache = field(default_factory=lambda: TTLCache(10.0))
    role_grants: TTLCache = field(default_factory=lambda: TTLCache(10.0))
    login_counter: MemoryCounter | RedisCounter = field(default_factory=MemoryCounter)
    extras: dict[str, Any] = field(default_factory=dict)

    def all_permissions(self) -> list[PermissionDecl]:
        from xynap.platform.permissions import PLATFORM_PERMISSIONS

        return PLATFORM_PERMISSIONS + self.registry.permissions()

    def default_grants(self, role: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for decl in self.all_permissions():
            out.update(decl.default_grants(role))
        return out

    def invalidate_tenant(self, tenant_id: Any = None) -> None:
        self.tenant_cache.invalidate(tenant_id)
        if tenant_id is None:
            self.principals.invalidate()
            self.role_grants.invalidate()
        else:
            self.principals.invalidate(lambda k: k[0] == tenant_id)
            self.role_grants.invalidate(lambda k: k[0] == tenant_id)


def apply_license_rules(settings: Settings):
    """In self-hosted mode the licence caps what bookings grant; SaaS bookings stand alone."""
    if settings.mode != "selfhosted":
        return None

    def apply(access: dict[str, str]) -> dict[str, str]:
        from xynap.platform.licenses.license import get_license_status

        status = get_license_status()
        out: dict[str, str] = {}
        for slug, level in access.items():
            lic = status.module_access(slug)
            if lic is None:
                continue
            out[slug] = ACCESS_READ if ACCESS_READ in (lic, level) else level
        return out

    return apply
