"""Endpoints for ``make bench`` only (mounted when ``settings.bench_endpoints`` is true).

``/api/_bench/bare`` is the framework baseline: the same JSON a user record has, without
tenant, token, permission or database. Call it on the platform host without ``X-Tenant``;
the platform middleware still runs, as it does for every ``/api`` path.

``/api/_bench/platform`` answers the same JSON behind the platform layer (tenant, bearer
token, principal, ``users:read``) but reads no database: platform cost = it − bare.

``/api/_bench/tenant`` does nothing but resolve the tenant (host or ``X-Tenant``) and name it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from xynap.core.security.permissions import Access
from xynap.platform.auth.deps import TenantDep, require

router = APIRouter(prefix="/api/_bench", tags=["bench"], include_in_schema=False)

# Shaped and sized like the UserRead record of GET /api/users/{id}.
BARE_RECORD: dict[str, Any] = {
    "id": "01968a3c-5f2e-7b41-9d2a-6c0e8f1b2a3d",
    "email": "admin0@bench.example.com",
    "name": "Bench Admin 0",
    "role": "admin",
    "is_active": True,
    "locale": "de",
    "version": 1,
    "last_login_at": "2026-01-01T00:00:00.123456Z",
    "created_at": "2026-01-01T00:00:00.123456Z",
    "updated_at": "2026-01-01T00:00:00.123456Z",
}


@router.get("/bare")
async def bare() -> dict[str, Any]:
    return BARE_RECORD


@router.get("/platform")
async def platform_only(access: Annotated[Access, require("users:read")]) -> dict[str, Any]:
    return BARE_RECORD


@router.get("/tenant")
async def tenant_only(tenant: TenantDep) -> dict[str, str]:
    return {"slug": tenant.slug}
