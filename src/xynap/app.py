"""create_app(): the one FastAPI application, its modules mounted under /api/<slug>/."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from xynap import __version__
from xynap.core.config import Settings, get_settings
from xynap.core.db import Database
from xynap.core.errors import install_error_handlers, problem
from xynap.core.middleware import PlatformMiddleware
from xynap.core.modules import Module, ModuleRegistry
from xynap.core.observability import configure_logging
from xynap.core.tenancy import TenantCache
from xynap.platform.auth.deps import module_gate
from xynap.platform.tenants.service import make_tenant_loader
from xynap.runtime import Runtime, apply_license_rules

log = logging.getLogger("xynap.app")


class SchemaOutdated(RuntimeError):
    pass


def build_runtime(settings: Settings | None = None, *, db: Database | None = None,
                  extra_modules: Iterable[Module] = ()) -> Runtime:
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from xynap.core.migrate import import_all_models

    import_all_models()
    db = db or Database(settings.effective_database_url)
    registry = ModuleRegistry.discover(extra=extra_modules)
    cache = TenantCache(make_tenant_loader(db, apply_license_rules(settings)), ttl=settings.tenant_cache_ttl_seconds)
    runtime = Runtime(settings=settings, db=db, registry=registry, tenant_cache=cache)
    runtime.principals.ttl = settings.permission_cache_ttl_seconds
    runtime.role_grants.ttl = settings.permission_cache_ttl_seconds
    return runtime


async def ensure_schema_current(runtime: Runtime) -> None:
    from xynap.core.migrate import pending_heads

    pending = await pending_heads(runtime.db.engine, runtime.settings)
    if pending:
        raise SchemaOutdated(
            "The database schema is not up to date (missing migrations: " + ", ".join(sorted(pending))
            + "). Run `xynap migrate` first."
        )


async def start_runtime(runtime: Runtime, *, background: bool, dispatch: bool | None = None) -> None:
    """Everything a process needs before it serves: schema check, catalog, licence, Redis, workers.

    ``background`` runs the job worker and scheduler here; ``dispatch`` (default: same as
    ``background``) runs the event dispatcher, which a server without Redis needs for live updates.
    """
    await ensure_schema_current(runtime)
    from xynap.platform.catalog.service import sync_catalog

    async with runtime.db.platform_session() as session:
        await sync_catalog(session, runtime.registry)
    if runtime.settings.mode == "selfhosted":
        from xynap.platform.licenses.license import refresh_license

        status = await refresh_license(runtime.settings)
        if not status.is_valid:
            log.error("licence problem: %s (licensed modules are read-only until this is fixed)", status.reason)
    if runtime.settings.redis_url:
        import redis.asyncio as aioredis

        from xynap.core.security.ratelimit import RedisCounter

        runtime.redis = aioredis.from_url(runtime.settings.redis_url, decode_responses=False)
        runtime.login_counter = RedisCounter(runtime.redis)
    await runtime.db.start_fast_reader(runtime.settings.db_read_pool_size)
    from xynap.core.events import start_events
    from xynap.core.jobs import start_jobs

    await start_events(runtime, background=background if dispatch is None else dispatch)
    await start_jobs(runtime, run_worker=background)


async def stop_runtime(runtime: Runtime) -> None:
    tasks: list[asyncio.Task[Any]] = runtime.extras.pop("tasks", [])
    stoppers = runtime.extras.pop("stoppers", [])
    for stop in stoppers:
        try:
            await stop()
        except Exception:  # pragma: no cover - best effort at shutdown
            log.exception("stopping a background part failed")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if runtime.redis is not None:
        await runtime.redis.aclose()
        runtime.redis = None
    reader, runtime.db.fast_reader = runtime.db.fast_reader, None
    if reader is not None:
        await reader.close()


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None,
               extra_modules: Iterable[Module] = (), background: bool | None = None,
               dispatch: bool | None = None) -> FastAPI:
    settings = settings or (runtime.settings if runtime else get_settings())
    runtime = runtime or build_runtime(settings, extra_modules=extra_modules)
    run_background = settings.run_worker if background is None else background

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await start_runtime(runtime, background=run_background, dispatch=dispatch)
        for message in runtime.registry.problems:
            log.warning(message)
        try:
            yield
        finally:
            await stop_runtime(runtime)

    app = FastAPI(
        title="XyNaP API",
        version=__version__,
        description="One platform, one login: the API of XyNaP and all its modules.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    app.add_middleware(PlatformMiddleware, runtime=runtime)

    _mount_operations(app, runtime)
    from xynap.platform.routers import platform_routers

    for router in platform_routers():
        app.include_router(router)
    for module in runtime.registry.enabled():
        gate = [module_gate(module.slug, module.kind)]
        for router in module.routers:
            app.include_router(router, prefix=module.api_prefix, dependencies=gate)
    if settings.bench_endpoints:
        from xynap.platform.bench_api import router as bench_router

        app.include_router(bench_router)
    _mount_api_fallback(app)  # the catch-alls come last
    _mount_frontend(app, settings)
    return app


def _mount_operations(app: FastAPI, runtime: Runtime) -> None:
    @app.get("/api/health", tags=["operations"], summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/api/ready", tags=["operations"], summary="Readiness: database and Redis answer")
    async def ready() -> JSONResponse:
        checks: dict[str, str] = {}
        ok = True
        try:
            async with runtime.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # readiness reports, it does not raise
            checks["database"] = f"error: {type(exc).__name__}"
            ok = False
        if runtime.settings.redis_url:
            try:
                await runtime.redis.ping()
                checks["redis"] = "ok"
            except Exception as exc:
                checks["redis"] = f"error: {type(exc).__name__}"
                ok = False
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                            status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)



def _mount_api_fallback(app: FastAPI) -> None:
    """Unknown /api paths answer 404 problem+json for every method (not the web app, not 405)."""

    @app.api_route("/api/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                   include_in_schema=False)
    async def api_not_found(request: Request, path: str) -> JSONResponse:
        allowed = _methods_for(request)
        if allowed:
            return problem(405, "method_not_allowed", "Method not allowed",
                           f"{request.method} is not allowed here; use {', '.join(sorted(allowed))}.", request,
                           headers={"Allow": ", ".join(sorted(allowed))})
        return problem(404, "not_found", "Not found", "No such API route.", request)

    table: list[tuple[Any, frozenset[str]]] = []

    def _methods_for(request: Request) -> set[str]:
        """Methods of the real routes whose path matches (the catch-all must not hide a 405)."""
        if not table:
            table.extend(_route_table(request.app))
        path = request.url.path
        return {m for regex, methods in table if regex.match(path) for m in methods}


def _route_table(app: FastAPI) -> list[tuple[Any, frozenset[str]]]:
    """(path regex, methods) of every API route, including those of included routers."""
    from fastapi.routing import APIRoute
    from starlette.routing import compile_path

    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI flattens included routes into app.routes
        pairs = [(r.path, r.methods) for r in app.routes if isinstance(r, APIRoute)]
    else:
        pairs = [(c.path, c.methods) for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)]
    return [(compile_path(path)[0], frozenset(methods or ())) for path, methods in pairs
            if path.startswith("/api") and path != "/api/{path:path}"]


def frontend_dir(settings: Settings) -> Path | None:
    """The built web app: XYNAP_FRONTEND_DIR, else frontend/dist of a source checkout."""
    candidates = [settings.frontend_dir] if settings.frontend_dir else []
    candidates.append(Path(__file__).resolve().parents[2] / "frontend" / "dist")
    for path in candidates:
        if path and (path / "index.html").is_file():
            return path
    return None


def _mount_frontend(app: FastAPI, settings: Settings) -> None:
    """Serve the single-page app at / with history-mode fallback: one process, one port."""
    root = frontend_dir(settings)
    if root is None:
        @app.get("/", include_in_schema=False)
        async def no_frontend() -> JSONResponse:
            return JSONResponse({"name": "XyNaP", "api": "/api/docs",
                                 "hint": "the web app is not built; run `make run` (it builds frontend/)"})
        return
    index = root / "index.html"
    if (root / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=root / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str) -> Response:
        candidate = (root / path).resolve()
        if path and candidate.is_file() and root.resolve() in candidate.parents:
            return FileResponse(candidate)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})


def configure(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_json)
