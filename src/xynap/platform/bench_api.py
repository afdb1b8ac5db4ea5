"""Endpoints for ``make bench`` only (mounted when ``settings.bench_endpoints`` is true).

``/api/_bench/bare`` is the framework baseline: the same JSON a user record has, without
tenant, token, permission or database. Call it on the platform host without ``X-Tenant``;
the platform middleware still runs, as it does for every ``/api`` path.

``/api/_bench/tenant`` does nothing but resolve the tenant (host or ``X-Tenant``) and name it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from xynap.platform.auth.deps import TenantDep

router = APIRouter(prefix="/api/_bench", tags=["bench"], include_in_schema=False)

# Shaped and sized like the user record of GET /api/users/{id}.
BARE_RECORD: dict[str, Any] = {
    "id": "01968a3c-5f2e-7b41-9d2a-6c0e8f1b2a3d",
    "email": "admin0-bench@example.com",
    "name": "Bench Admin 0",
    "role": "admin",
    "is_active": True,
    "locale": "de",
    "version": 1,
    "created_at": "2025-01-01T00:00:00Z",
    "updated_at": "2025-01-01T00:00:00Z",
    "last_login_at": "2025-01-01T00:00:00Z",
}


@router.get("/bare")
async def bare() -> dict[str, Any]:
    return BARE_RECORD


@router.get("/tenant")
async def tenant_only(tenant: TenantDep) -> dict[str, str]:
    return {"slug": tenant.slug}
