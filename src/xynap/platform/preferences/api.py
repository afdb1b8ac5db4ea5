from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, field_validator
from sqlalchemy import select

from xynap.platform.auth.deps import DbDep, UserDep
from xynap.platform.preferences.models import UserPreference

router = APIRouter(tags=["preferences"])
MAX_PREFERENCE_BYTES = 64 * 1024


class Preferences(BaseModel):
    data: dict[str, Any]

    @field_validator("data")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value)) > MAX_PREFERENCE_BYTES:
            raise ValueError(f"at most {MAX_PREFERENCE_BYTES} bytes of preferences")
        return value


@router.get("/api/me/preferences", response_model=Preferences, summary="My UI preferences (dashboard layout, ...)")
async def get_preferences(db: DbDep, principal: UserDep) -> Preferences:
    row = await db.scalar(select(UserPreference).where(UserPreference.user_id == principal.user_id))
    return Preferences(data=row.data if row else {})


@router.put("/api/me/preferences", response_model=Preferences, summary="Replace my UI preferences")
async def put_preferences(body: Preferences, db: DbDep, principal: UserDep) -> Preferences:
    row = await db.scalar(select(UserPreference).where(UserPreference.user_id == principal.user_id))
    if row is None:
        row = UserPreference(user_id=principal.user_id, data=body.data)
        db.add(row)
    else:
        row.data = body.data
    await db.flush()
    return Preferences(data=row.data)


