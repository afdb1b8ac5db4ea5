from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

# Grants are checked against the permission catalog by the service, which names each bad entry
# (422 invalid_grants, field "grants.<permission>"); the schema only bounds the sizes.
PermissionKey = Annotated[str, Field(min_length=1, max_length=150)]
ScopeName = Annotated[str, Field(max_length=20, description="own | team | all")]


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    role: str
    is_active: bool
    locale: str
    version: int
    last_login_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class UserCreate(BaseModel):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(default="staff", min_length=1, max_length=50)
    password: str | None = Field(default=None, max_length=1024)
    locale: Literal["de", "en"] = "de"


class UserUpdate(BaseModel):
    version: int = Field(description="The version you edited; a newer one on the server gives 409.")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: str | None = Field(default=None, min_length=1, max_length=50)
    is_active: bool | None = None
    locale: Literal["de", "en"] | None = None


class PasswordChange(BaseModel):
    password: str = Field(max_length=1024)
    current_password: str | None = Field(default=None, max_length=1024)


class TeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    version: int
    member_ids: list[uuid.UUID] = []
    created_at: dt.datetime


class TeamCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    member_ids: list[uuid.UUID] = []


class TeamUpdate(BaseModel):
    version: int
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)


class TeamMembers(BaseModel):
    user_ids: list[uuid.UUID]


class RoleRead(BaseModel):
    id: uuid.UUID
    name: str
    label: str
    is_system: bool
    version: int
    grants: dict[str, str] = Field(description="Effective grants: permission → own | team | all")
    overrides: dict[str, str | None] = Field(description="What this tenant changed against the defaults")


class RoleCreate(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,49}$")
    label: str = Field(min_length=1, max_length=100)
    grants: dict[PermissionKey, ScopeName] = Field(default={}, description="permission → own | team | all")


class RoleUpdate(BaseModel):
    version: int
    label: str | None = Field(default=None, min_length=1, max_length=100)
    grants: dict[PermissionKey, ScopeName | None] | None = Field(
        default=None, description="Changes: permission → scope, or null to revoke")


class PermissionInfo(BaseModel):
    permission: str
    entity: str
    action: str
    scoped: bool
    label: str
    module: str | None
