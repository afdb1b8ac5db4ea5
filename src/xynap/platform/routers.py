"""Every router of the platform layer, in the order they appear in the API docs."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

ROUTER_MODULES = (
    "xynap.platform.auth.api",
    "xynap.platform.users.api",
    "xynap.platform.catalog.api",
    "xynap.platform.customers.api",
    "xynap.platform.settings.api",
    "xynap.platform.audit_api",
    "xynap.platform.jobs.api",
    "xynap.platform.onboarding.api",
    "xynap.platform.mail.api",
    "xynap.platform.preferences.api",
    "xynap.platform.licenses.api",
    "xynap.platform.realtime.api",
)


def platform_routers() -> list[APIRouter]:
    import xynap.platform.maintenance  # noqa: F401  (registers the platform's own jobs and schedules)

    return [importlib.import_module(name).router for name in ROUTER_MODULES]
