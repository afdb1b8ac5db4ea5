"""The app as the benchmark serves it: ``uvicorn bench.server:app --factory``.

Settings come from the XYNAP_* environment the runner sets (database, secret, bench endpoints).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

from xynap.app import configure, create_app
from xynap.core.config import get_settings


def app() -> FastAPI:
    settings = get_settings()
    configure(settings)
    application = create_app(settings)
    _catch_all_last(application)
    return application


def _catch_all_last(application: FastAPI) -> None:
    """The web app's history-mode fallback (``/{path:path}``) must come after /api/_bench/*.

    create_app includes the bench router after that fallback, which then answers 404 for it;
    move the fallback to the end (where a later create_app may put it anyway).
    """
    routes = application.router.routes
    fallback = [r for r in routes if isinstance(r, APIRoute) and r.path == "/{path:path}"]
    for route in fallback:
        routes.remove(route)
        routes.append(route)
