from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class LoginRequest(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class LogoutRequest(BaseModel):
    refresh_token: str | None = Field(default=None, max_length=200)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class MeTenant(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    status: str
    modules: dict[str, str]


class Me(BaseModel):
    kind: str
    id: uuid.UUID
    email: str
    name: str
    role: str
    locale: str = "de"
    permissions: dict[str, str]
    tenant: MeTenant | None = None
