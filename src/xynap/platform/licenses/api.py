"""The licence of a self-hosted installation, for the platform console."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel

from xynap.core.security.permissions import Principal
from xynap.platform.auth.deps import RuntimeDep, require_platform

router = APIRouter(tags=["licence"])


class LicenseRead(BaseModel):
    mode: str
    state: str
    reason: str
    license_id: str | None = None
    licensee: str | None = None
    instance_id: str | None = None
    modules: list[str] = []
    max_users: int | None = None
    expires_at: dt.datetime | None = None


@router.get("/api/platform/license", response_model=LicenseRead, summary="Licence state of this installation")
async def license_status(runtime: RuntimeDep,
                         principal: Annotated[Principal, require_platform("owner", "admin")]) -> LicenseRead:
    from xynap.platform.licenses.license import get_license_status

    status = get_license_status()
    payload = status.payload
    return LicenseRead(
        mode=runtime.settings.mode, state=status.state, reason=status.reason,
        license_id=payload.license_id if payload else None, licensee=payload.licensee if payload else None,
        instance_id=status.instance_id, modules=list(payload.modules) if payload else [],
        max_users=payload.max_users if payload else None, expires_at=payload.expires_at if payload else None,
    )
