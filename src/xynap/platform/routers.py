"""Every router of the platform layer, in the order they appear in the API docs."""

from __future__ import annotations

from fastapi import APIRouter


def platform_routers() -> list[APIRouter]:
    from xynap.platform.auth.api import router as auth

    return [auth]
