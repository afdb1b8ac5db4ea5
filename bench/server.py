"""The app as the benchmark serves it: ``uvicorn bench.server:app --factory``.

Settings come from the XYNAP_* environment the runner sets (database, secret, bench endpoints).
"""

from __future__ import annotations

from fastapi import FastAPI

from xynap.app import configure, create_app
from xynap.core.config import get_settings


def app() -> FastAPI:
    settings = get_settings()
    configure(settings)
    return create_app(settings)
