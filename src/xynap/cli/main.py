"""``xynap``: the command line of the platform.

serve / worker / migrate run it; install sets up a self-hosted server; tenant / user / module
manage it; demo creates a company to try it with; license handles license files.
Expected failures (``AppError``, an outdated schema, an unreachable database, bad input) end with
a red message and exit code 1, never with a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import unicodedata
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager, suppress
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xynap.cli.contacts import app as contacts_app
from xynap.cli.license import app as license_app

if TYPE_CHECKING:
    from fastapi import FastAPI

    from xynap.core.config import Settings
    from xynap.core.errors import AppError
    from xynap.core.modules import Module, ModuleRegistry
    from xynap.runtime import Runtime

T = TypeVar("T")

app = typer.Typer(
    name="xynap",
    help="XyNaP: the modular multi-tenant business platform.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold passwords
    rich_markup_mode="rich",
)
tenant_app = typer.Typer(help="Manage tenants (companies).", no_args_is_help=True)
user_app = typer.Typer(help="Manage tenant users and platform staff.", no_args_is_help=True)
module_app = typer.Typer(help="List installed modules; book them for tenants.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
app.add_typer(module_app, name="module")
app.add_typer(license_app, name="license")
app.add_typer(contacts_app, name="contacts")
search_app = typer.Typer(help="The global search index.", no_args_is_help=True)
app.add_typer(search_app, name="search")

DEFAULT_PORT = 8000
DB_CONNECT_TIMEOUT = 5.0
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class TenantStatus(StrEnum):
    active = "active"
    trial = "trial"


class TenantPlan(StrEnum):
    starter = "starter"
    business = "business"
    enterprise = "enterprise"


class PlatformRole(StrEnum):
    owner = "owner"
    admin = "admin"
    staff = "staff"
    reseller = "reseller"


# --- output and error handling ----------------------------------------------------------------------


def _out() -> Console:
    # Built per call so that it follows the current stdout and $COLUMNS (tests swap both).
    return Console(highlight=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _say(message: str) -> None:
    _out().print(message, soft_wrap=True)


def _warn(message: str) -> None:
    _err().print(f"[yellow]Warning:[/] {escape(message)}", soft_wrap=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    _err().print(f"[bold red]Error:[/] [red]{escape(message)}[/]", soft_wrap=True)
    raise typer.Exit(code)


def _describe_app_error(exc: AppError) -> str:
    return exc.detail


def _db_reason(exc: BaseException) -> str:
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, TimeoutError):
        return f"no answer within {DB_CONNECT_TIMEOUT:.0f} seconds"
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
    return text


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run async work; turn the expected failures into a clean message and exit code 1."""
    from sqlalchemy.exc import DBAPIError

    from xynap.app import SchemaOutdated
    from xynap.core.errors import AppError

    try:
        return asyncio.run(coro)
    except AppError as exc:
        _fail(_describe_app_error(exc))
    except SchemaOutdated as exc:
        _fail(str(exc))
    except (ConnectionError, TimeoutError, socket.gaierror) as exc:
        _fail(f"The database cannot be reached: {_db_reason(exc)}")
    except DBAPIError as exc:
        _fail(f"Database error: {_db_reason(exc)}")


def _settings() -> Settings:
    from pydantic import ValidationError

    from xynap.core.config import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        _fail(f"The XYNAP_* settings (environment or .env) are invalid: {exc}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database url>"


@asynccontextmanager
async def _runtime(settings: Settings, *, check_schema: bool = True) -> AsyncIterator[Runtime]:
    """A runtime for one command: schema checked, engine disposed at the end."""
    from xynap.app import build_runtime, ensure_schema_current

    runtime = build_runtime(settings)
    try:
        if check_schema:
            await ensure_schema_current(runtime)
        yield runtime
    finally:
        await runtime.db.dispose()


async def _tenant_id(runtime: Runtime, slug: str) -> Any:
    from xynap.platform.tenants.service import get_tenant_by_slug

    async with runtime.db.platform_session() as session:
        return (await get_tenant_by_slug(session, slug)).id


def _migrate(settings: Settings) -> None:
    from sqlalchemy.exc import DBAPIError

    from xynap.core.migrate import upgrade

    try:
        upgrade(settings)
    except (ConnectionError, TimeoutError, socket.gaierror) as exc:
        _fail(f"The database {_safe_url(settings.effective_database_url)} cannot be reached: {_db_reason(exc)}")
    except DBAPIError as exc:
        _fail(f"The migration failed: {_db_reason(exc)}")


@app.callback()
def _main() -> None:
    """XyNaP: the modular multi-tenant business platform."""
    from xynap.core.config import reset_settings

    reset_settings()  # read the environment of this invocation
    root = logging.getLogger()
    if not root.handlers:  # `serve` and `worker` configure logging themselves
        from rich.logging import RichHandler

        handler = RichHandler(console=_err(), show_time=False, show_path=False)
        handler.setLevel(logging.WARNING)
        root.addHandler(handler)


# --- serve / worker / migrate -----------------------------------------------------------------------


def asgi_app() -> FastAPI:
    """App factory for ``uvicorn --factory`` (used by ``xynap serve --reload``)."""
    from xynap.app import configure, create_app
    from xynap.core.config import get_settings

    settings = get_settings()
    configure(settings)
    return create_app(settings)


async def _preflight(settings: Settings) -> bool:
    """Refuse an outdated schema before uvicorn starts; tell whether the demo tenant exists."""
    from sqlalchemy import select

    from xynap.platform.tenants.models import Tenant

    async with _runtime(settings) as runtime:
        async with runtime.db.platform_session() as session:
            return bool(await session.scalar(select(Tenant.id).where(Tenant.slug == "demo")))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0: all interfaces).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = DEFAULT_PORT,
    reload: Annotated[bool, typer.Option("--reload/--no-reload", help="Restart on code changes (development).")]
    = False,
    no_worker: Annotated[
        bool, typer.Option("--no-worker",
                           help="Run no job worker in this process (run `xynap worker`); events are still dispatched.")
    ] = False,
) -> None:
    """Run the HTTP server (API and, when built, the web front end)."""
    settings = _settings()
    demo_exists = _run(_preflight(settings))

    base = f"http://localhost:{port}"
    _say(f"[bold green]XyNaP[/] starts on [bold]{base}[/]"
         + (" (listening on all interfaces)" if host in ("0.0.0.0", "::") else ""))
    if host not in ("127.0.0.1", "localhost", "0.0.0.0", "::"):
        _say(f"  Address:          http://{host}:{port}")
    if settings.mode == "selfhosted" and settings.default_tenant:
        _say(f"  Company:          {base}  (tenant {escape(settings.default_tenant)})")
    else:
        _say(f"  Platform console: {base}")
    if demo_exists:
        _say(f"  Demo company:     http://demo.localhost:{port}  (*.localhost resolves to 127.0.0.1)")
    _say(f"  API docs:         {base}/api/docs")
    if no_worker:
        _say("  Jobs and events are not run here; start `xynap worker` for them.")

    import uvicorn

    from xynap.app import configure

    configure(settings)
    if reload:
        import xynap

        if no_worker:
            os.environ["XYNAP_RUN_WORKER"] = "false"  # the factory runs in a child process
        uvicorn.run("xynap.cli.main:asgi_app", factory=True, host=host, port=port, reload=True,
                    reload_dirs=[str(Path(xynap.__file__).resolve().parent)], log_config=None)
    else:
        from xynap.app import create_app

        uvicorn.run(create_app(settings, background=False if no_worker else None, dispatch=True), host=host, port=port,
                    log_config=None)


async def _worker_main(settings: Settings, run_worker_process: Any) -> None:
    from xynap.app import build_runtime, start_runtime, stop_runtime

    runtime = build_runtime(settings)
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, task.cancel)
    try:
        await start_runtime(runtime, background=False, dispatch=True)
        await run_worker_process(runtime)
    except asyncio.CancelledError:
        logging.getLogger("xynap.worker").info("worker stopping")
    finally:
        await stop_runtime(runtime)
        await runtime.db.dispose()


@app.command()
def worker() -> None:
    """Run background jobs, schedules and event handlers (for `serve --no-worker` setups)."""
    try:
        from xynap.core.jobs import run_worker_process
    except ImportError:
        _fail("This build has no job worker (xynap.core.jobs.run_worker_process is missing).")
    settings = _settings()
    from xynap.app import configure

    configure(settings)
    _say("[bold green]XyNaP worker[/] running; stop it with Ctrl+C.")
    try:
        _run(_worker_main(settings, run_worker_process))
    except KeyboardInterrupt:
        pass
    _say("Worker stopped.")


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (kernel and installed modules)."""
    settings = _settings()
    _migrate(settings)
    _say(f"[green]Done:[/] the database {escape(_safe_url(settings.effective_database_url))} is up to date.")


# --- tenants ------------------------------------------------------------------------------------------


async def _tenant_create(settings: Settings, **kw: Any) -> None:
    from xynap.platform.tenants.service import create_tenant

    async with _runtime(settings) as runtime, runtime.db.platform_session() as session:
        await create_tenant(session, **kw)


@tenant_app.command("create")
def tenant_create(
    slug: Annotated[str, typer.Argument(help="Short name: lower-case letters, digits, hyphens.")],
    name: Annotated[str, typer.Option("--name", help="Company name.")],
    plan: Annotated[TenantPlan, typer.Option(help="Platform plan.")] = TenantPlan.starter,
    status: Annotated[TenantStatus, typer.Option(help="active, or trial (14 days).")] = TenantStatus.active,
    user_limit: Annotated[int, typer.Option("--user-limit", min=1, help="Maximum active users.")] = 5,
) -> None:
    """Create a tenant with its system roles."""
    settings = _settings()
    _run(_tenant_create(settings, slug=slug, name=name, plan=plan.value, status=status.value,
                        user_limit=user_limit))
    _say(f"[green]Created[/] tenant [bold]{escape(slug.strip().lower())}[/] ({escape(name)}), "
         f"status {status.value}, plan {plan.value}, up to {user_limit} users.")


async def _tenant_rows(settings: Settings) -> list[tuple[Any, int, list[str]]]:
    from sqlalchemy import func, select

    from xynap.platform.catalog.models import ModuleRecord, Subscription
    from xynap.platform.tenants.models import Tenant
    from xynap.platform.users.models import User

    async with _runtime(settings) as runtime, runtime.db.platform_session() as session:
        tenants = list(await session.scalars(select(Tenant).order_by(Tenant.slug)))
        users = dict((await session.execute(
            select(User.tenant_id, func.count()).where(User.is_active.is_(True)).group_by(User.tenant_id)
        )).all())
        modules: dict[Any, list[str]] = {}
        for tid, slug in await session.execute(
            select(Subscription.tenant_id, ModuleRecord.slug)
            .join(ModuleRecord, Subscription.module_id == ModuleRecord.id)
            .where(Subscription.status.in_(("active", "trial")))
            .order_by(ModuleRecord.slug)
        ):
            modules.setdefault(tid, []).append(slug)
        return [(t, users.get(t.id, 0), modules.get(t.id, [])) for t in tenants]


_STATUS_STYLE = {"active": "green", "trial": "cyan", "suspended": "yellow", "cancelled": "red"}


@tenant_app.command("list")
def tenant_list() -> None:
    """List all tenants."""
    rows = _run(_tenant_rows(_settings()))
    table = Table(title="Tenants")
    for col in ("Slug", "Name", "Status", "Plan", "Users", "Modules"):
        table.add_column(col, no_wrap=col == "Slug")
    for tenant, users, modules in rows:
        style = _STATUS_STYLE.get(tenant.status, "white")
        table.add_row(escape(tenant.slug), escape(tenant.name), f"[{style}]{tenant.status}[/]", tenant.plan,
                      f"{users}/{tenant.user_limit}", escape(", ".join(modules)) or "-")
    _out().print(table)
    if not rows:
        _say("No tenants yet: `xynap tenant create SLUG --name NAME` or `xynap demo`.")


async def _tenant_set_status(settings: Settings, slug: str, status: str) -> str:
    from xynap.platform.tenants.service import get_tenant_by_slug, set_status

    async with _runtime(settings) as runtime:
        async with runtime.db.platform_session() as session:
            tenant = await get_tenant_by_slug(session, slug)
            before = tenant.status
            await set_status(session, tenant, status)
            if status == "active":
                tenant.trial_ends_at = None
        runtime.invalidate_tenant(tenant.id)
        return before


@tenant_app.command("suspend")
def tenant_suspend(slug: Annotated[str, typer.Argument(help="Tenant slug.")]) -> None:
    """Suspend a tenant: its users can no longer work in it (data is kept)."""
    before = _run(_tenant_set_status(_settings(), slug, "suspended"))
    _say(f"[yellow]Suspended[/] tenant [bold]{escape(slug)}[/] (was {before}).")


@tenant_app.command("resume")
def tenant_resume(slug: Annotated[str, typer.Argument(help="Tenant slug.")]) -> None:
    """Make a tenant active again."""
    before = _run(_tenant_set_status(_settings(), slug, "active"))
    _say(f"[green]Resumed[/] tenant [bold]{escape(slug)}[/] (was {before}); it is active.")


# --- users --------------------------------------------------------------------------------------------


def _new_password() -> str:
    from xynap.platform.users.service import generate_password

    return generate_password()


async def _user_create(settings: Settings, tenant: str, **kw: Any) -> None:
    from xynap.platform.users.service import create_user

    async with _runtime(settings) as runtime:
        tid = await _tenant_id(runtime, tenant)
        async with runtime.db.tenant_session(tid) as session:
            await create_user(session, runtime, **kw)


@user_app.command("create")
def user_create(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant slug.")],
    email: Annotated[str, typer.Option("--email", help="E-mail address (the login).")],
    role: Annotated[str, typer.Option("--role", help="admin, manager, staff, external or a custom role.")],
    name: Annotated[str | None, typer.Option("--name", help="Display name (default: from the e-mail).")] = None,
    password: Annotated[
        str | None, typer.Option("--password", help="Default: a strong generated one, printed once.")
    ] = None,
) -> None:
    """Create a user in a tenant."""
    generated = password is None
    password = password or _new_password()
    _run(_user_create(_settings(), tenant, email=email, name=name or email.split("@")[0], role=role,
                      password=password))
    _say(f"[green]Created[/] user [bold]{escape(email.strip().casefold())}[/] ({escape(role)}) "
         f"in tenant {escape(tenant)}.")
    if generated:
        _say(f"Password (shown only now): [bold]{escape(password)}[/]")


async def _user_reset_password(settings: Settings, tenant: str, email: str, password: str) -> None:
    from sqlalchemy import select, update

    from xynap.core.db import utcnow
    from xynap.core.errors import NotFound
    from xynap.platform.auth.models import RefreshToken
    from xynap.platform.users.models import User
    from xynap.platform.users.service import normalize_email, set_password

    async with _runtime(settings) as runtime:
        tid = await _tenant_id(runtime, tenant)
        async with runtime.db.tenant_session(tid) as session:
            user = await session.scalar(select(User).where(User.email == normalize_email(email)))
            if user is None:
                raise NotFound(f"Tenant {tenant!r} has no user {email!r}.", code="user_not_found")
            await set_password(session, user, password)
            # A new password ends the user's existing logins.
            await session.execute(
                update(RefreshToken)
                .where(RefreshToken.user_id == user.id, RefreshToken.tenant_ref == tid,
                       RefreshToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        runtime.invalidate_tenant(tid)


@user_app.command("reset-password")
def user_reset_password(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant slug.")],
    email: Annotated[str, typer.Option("--email", help="The user's e-mail.")],
    password: Annotated[
        str | None, typer.Option("--password", help="Default: a strong generated one, printed once.")
    ] = None,
) -> None:
    """Set a new password for a tenant user (ends the user's existing logins)."""
    generated = password is None
    password = password or _new_password()
    _run(_user_reset_password(_settings(), tenant, email, password))
    _say(f"[green]New password set[/] for [bold]{escape(email.strip().casefold())}[/] in tenant {escape(tenant)}.")
    if generated:
        _say(f"Password (shown only now): [bold]{escape(password)}[/]")


async def _platform_user_create(settings: Settings, *, email: str, name: str, role: str, password: str) -> None:
    from sqlalchemy import func, select

    from xynap.core.errors import Conflict
    from xynap.core.security.passwords import hash_password
    from xynap.platform.users.models import PlatformUser
    from xynap.platform.users.service import check_password

    check_password(password)
    async with _runtime(settings) as runtime, runtime.db.platform_session() as session:
        if await session.scalar(select(func.count()).select_from(PlatformUser).where(PlatformUser.email == email)):
            raise Conflict(f"A platform user with the e-mail {email} exists.", code="email_taken")
        session.add(PlatformUser(email=email, name=name, role=role, password_hash=hash_password(password)))


@user_app.command("create-platform")
def user_create_platform(
    email: Annotated[str, typer.Option("--email", help="E-mail address (the login).")],
    role: Annotated[PlatformRole, typer.Option("--role", help="Platform role.")],
    name: Annotated[str | None, typer.Option("--name", help="Display name (default: from the e-mail).")] = None,
    password: Annotated[
        str | None, typer.Option("--password", help="Default: a strong generated one, printed once.")
    ] = None,
) -> None:
    """Create a platform staff account (owner, admin, staff, reseller) for the platform console."""
    generated = password is None
    password = password or _new_password()
    email = email.strip().casefold()
    if not EMAIL_RE.match(email):
        _fail(f"{email!r} is not an e-mail address.")
    _run(_platform_user_create(_settings(), email=email, name=name or email.split("@")[0], role=role.value,
                               password=password))
    _say(f"[green]Created[/] platform user [bold]{escape(email)}[/] ({role.value}).")
    if generated:
        _say(f"Password (shown only now): [bold]{escape(password)}[/]")


# --- modules ------------------------------------------------------------------------------------------


def _registry() -> ModuleRegistry:
    from xynap.core.modules import ModuleRegistry

    return ModuleRegistry.discover()


def _installed_list(registry: ModuleRegistry) -> str:
    slugs = [m.slug for m in registry.bookable()]
    return ", ".join(slugs) if slugs else "none (no module packages are installed)"


def _check_module(registry: ModuleRegistry, slug: str) -> Module:
    entry = registry.entries.get(slug)
    if entry is None:
        _fail(f"The module {slug!r} is not installed. Installed modules: {_installed_list(registry)}.")
    if not entry.enabled:
        _fail(f"The module {slug!r} is installed but disabled: {entry.reason}.")
    if entry.module.kind != "module":
        _fail(f"{slug!r} is a shared component; it comes with every module and is not booked on its own.")
    return entry.module


async def _bookings(settings: Settings, tenant: str) -> dict[str, tuple[str, str]]:
    from sqlalchemy import select

    from xynap.platform.catalog.models import ModulePlan, ModuleRecord, Subscription

    async with _runtime(settings) as runtime:
        tid = await _tenant_id(runtime, tenant)
        async with runtime.db.tenant_session(tid) as session:
            rows = await session.execute(
                select(ModuleRecord.slug, Subscription.status, ModulePlan.tier)
                .join(ModuleRecord, Subscription.module_id == ModuleRecord.id)
                .join(ModulePlan, Subscription.plan_id == ModulePlan.id)
            )
            return {slug: (status, tier) for slug, status, tier in rows}


@module_app.command("list")
def module_list(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Also show this tenant's bookings.")] = None,
) -> None:
    """List the installed modules, their dependencies and whether they are enabled."""
    registry = _registry()
    bookings = _run(_bookings(_settings(), tenant)) if tenant else None
    table = Table(title="Installed modules")
    for col in ("Slug", "Name", "Version", "Kind", "Depends", "Status"):
        table.add_column(col, no_wrap=col in ("Slug", "Version"))
    if bookings is not None:
        table.add_column(f"Tenant {escape(tenant)}")
    disabled_msgs = set()
    for entry in registry.all_entries():
        m = entry.module
        if entry.enabled:
            status = "[green]enabled[/]"
        else:
            status = f"[red]disabled: {escape(entry.reason)}[/]"
            disabled_msgs.add(f"module {m.slug!r} disabled: {entry.reason}")
        row = [escape(m.slug), escape(m.name), escape(m.version), m.kind, escape(", ".join(m.depends)) or "-", status]
        if bookings is not None:
            if m.kind != "module":
                row.append("[dim]included[/]")
            elif m.slug in bookings:
                state, tier = bookings[m.slug]
                row.append(f"[{_STATUS_STYLE.get(state, 'white')}]{state}[/] ({escape(tier)})")
            else:
                row.append("[dim]not booked[/]")
        table.add_row(*row)
    _out().print(table)
    if not registry.entries:
        _say("No modules are installed. Module packages register themselves under the "
             "entry-point group [bold]xynap.modules[/].")
    for problem in registry.problems:
        if problem not in disabled_msgs:
            _err().print(f"[red]{escape(problem)}[/]", soft_wrap=True)


def _tier_for(module: Module, wanted: str | None) -> str:
    tiers = [p.tier for p in module.plans]
    if wanted:
        return wanted  # book_module refuses a tier the module does not offer (plan_not_found)
    if "business" in tiers:
        return "business"
    return tiers[0] if tiers else "starter"


async def _enable_module(runtime: Runtime, tid: Any, module: Module, tier: str | None) -> str:
    """Book and activate ``module`` for a tenant; returns what happened."""
    from sqlalchemy import select

    from xynap.platform.catalog.models import ModulePlan, ModuleRecord, Subscription
    from xynap.platform.catalog.subscriptions import activate_subscription, book_module, change_plan

    async with runtime.db.tenant_session(tid) as session:
        sub = await session.scalar(
            select(Subscription).join(ModuleRecord, Subscription.module_id == ModuleRecord.id)
            .where(ModuleRecord.slug == module.slug)
        )
        if sub is not None and sub.status == "active":
            current = await session.scalar(select(ModulePlan.tier).where(ModulePlan.id == sub.plan_id))
            if tier and tier != current:
                await change_plan(session, runtime, sub, tier)
                return f"already active; plan changed from {current} to {tier}"
            return f"already active ({current})"
        if sub is not None and sub.status in ("pending", "trial", "suspended"):
            if tier:
                await change_plan(session, runtime, sub, tier)
            await activate_subscription(session, runtime, sub)
            return "activated"
        await book_module(session, runtime, tid, module.slug, tier=_tier_for(module, tier), activate=True)
        return "booked and activated"


async def _module_enable(settings: Settings, slug: str, tenant: str, tier: str) -> str:
    from xynap.platform.catalog.service import sync_catalog

    async with _runtime(settings) as runtime:
        module = _check_module(runtime.registry, slug)
        async with runtime.db.platform_session() as session:
            await sync_catalog(session, runtime.registry)
        tid = await _tenant_id(runtime, tenant)
        return await _enable_module(runtime, tid, module, tier)


@module_app.command("enable")
def module_enable(
    slug: Annotated[str, typer.Argument(help="Module slug.")],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant slug.")],
    plan: Annotated[str, typer.Option("--plan", help="Plan tier: starter, business, enterprise.")] = "business",
) -> None:
    """Book a module for a tenant and activate it."""
    what = _run(_module_enable(_settings(), slug, tenant, plan))
    _say(f"[green]{escape(slug)}[/] for tenant [bold]{escape(tenant)}[/]: {escape(what)}.")


async def _module_disable(settings: Settings, slug: str, tenant: str) -> list[str]:
    from sqlalchemy import select

    from xynap.core.errors import NotFound
    from xynap.platform.catalog.models import ModuleRecord, Subscription
    from xynap.platform.catalog.subscriptions import cancel_subscription

    async with _runtime(settings) as runtime:
        tid = await _tenant_id(runtime, tenant)
        async with runtime.db.tenant_session(tid) as session:
            rows = (await session.execute(
                select(Subscription, ModuleRecord.slug).join(ModuleRecord, Subscription.module_id == ModuleRecord.id)
            )).all()
            subs = {s: sub for sub, s in rows}
            sub = subs.get(slug)
            if sub is None:
                raise NotFound(f"Tenant {tenant!r} has not booked the module {slug!r}.", code="not_booked")
            await cancel_subscription(session, runtime, sub)
        dependants = []
        for other, other_sub in subs.items():
            manifest = runtime.registry.get(other)
            if other != slug and other_sub.status in ("active", "trial") and manifest and slug in manifest.depends:
                dependants.append(other)
        return dependants


@module_app.command("disable")
def module_disable(
    slug: Annotated[str, typer.Argument(help="Module slug.")],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant slug.")],
) -> None:
    """Cancel a tenant's booking of a module; its data is kept and returns when booked again."""
    dependants = _run(_module_disable(_settings(), slug, tenant))
    _say(f"[yellow]Disabled[/] {escape(slug)} for tenant [bold]{escape(tenant)}[/]; its data is kept.")
    if dependants:
        _warn(f"these booked modules depend on {slug}: {', '.join(dependants)}")


# --- demo ---------------------------------------------------------------------------------------------


async def _seed_demo(settings: Settings, slug: str, password: str) -> Any:
    from xynap.platform.demo import seed_demo

    async with _runtime(settings) as runtime:
        return await seed_demo(runtime, slug=slug, password=password)


# --- search -------------------------------------------------------------------------------------------


@search_app.command("reindex")
def search_reindex(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant slug.")],
    type_: Annotated[list[str] | None, typer.Option("--type", help="Only this type (repeatable).")] = None,
) -> None:
    """Rebuild a tenant's search index from its records (after bulk SQL changes or a restore)."""
    from xynap.core import search

    known = {s.type: s for s in search.sources()}
    wanted = type_ or sorted(known)
    unknown = [t for t in wanted if t not in known]
    if unknown:
        _fail(f"Unknown search type: {', '.join(unknown)} (known: {', '.join(sorted(known)) or 'none'}).")

    async def go() -> dict[str, int]:
        from xynap.shared.search.service import rebuild

        settings = _settings()
        async with _runtime(settings) as runtime:
            tenant_id = await _tenant_id(runtime, tenant)
            counts = {}
            async with runtime.db.tenant_session(tenant_id) as session:
                session.sync_session.info["search_index_off"] = True  # the rebuild writes the rows itself
                for name in wanted:
                    counts[name] = await rebuild(session, known[name])
            return counts

    counts = _run(go())
    for name, count in counts.items():
        _say(f"[green]Indexed[/] {count} {escape(name)} record(s) of tenant [bold]{escape(tenant)}[/].")


@app.command()
def demo(
    slug: Annotated[str, typer.Option(help="Slug of the demo tenant.")] = "demo",
    password: Annotated[
        str | None, typer.Option("--password", help="Password of the demo logins (default: demo-password-2026).")
    ] = None,
    port: Annotated[int, typer.Option(help="Port shown in the printed URLs.")] = DEFAULT_PORT,
) -> None:
    """Create the demo company "Müller & Partner GmbH" with users, teams and all modules (idempotent)."""
    from xynap.platform.demo import DEMO_PASSWORD, DEMO_PEOPLE

    password = password or DEMO_PASSWORD
    result = _run(_seed_demo(_settings(), slug, password))
    verb = "created" if result.created else "already exists; logins refreshed"
    url = f"http://{result.slug}.localhost:{port}"
    _say(f"[bold green]Demo company[/] [bold]{escape(result.name)}[/] ({escape(result.slug)}) {verb}.")
    _say("")
    _say(f"  Open:      [bold]{url}[/]  (*.localhost resolves to 127.0.0.1 in browsers)")
    _say(f"  E-mail:    [bold]{escape(result.admin_email)}[/]")
    _say(f"  Password:  [bold]{escape(result.password)}[/]")
    others = ", ".join(f"{p.email} ({p.role})" for p in DEMO_PEOPLE if p.email != result.admin_email)
    _say(f"  Others:    {escape(others)} (created with the same password)")
    _say(f"  Modules:   {escape(', '.join(result.modules)) or 'none installed'}")
    _say(f"  Platform:  http://localhost:{port}  as [bold]{escape(result.platform_email)}[/] (same password)")
    body = shlex.quote(json.dumps({"email": result.admin_email, "password": result.password}))
    _say("")
    _say("  API:       " + escape(f"curl -H 'X-Tenant: {result.slug}' -H 'Content-Type: application/json' "
                                   f"-d {body} http://localhost:{port}/api/login"))
    for problem in result.problems:
        _warn(problem)


# --- install ------------------------------------------------------------------------------------------


def _slugify(text: str) -> str:
    text = text.lower()
    for src, dst in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("&", "-")):
        text = text.replace(src, dst)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:63].strip("-") or "company"


def check_database(url: str) -> str:
    """Validate and normalise a database URL and check that it is usable; returns the URL to store."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    examples = ("e.g. sqlite+aiosqlite:////srv/xynap/xynap.db or "
                "postgresql+asyncpg://xynap:PASSWORD@localhost:5432/xynap")
    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        _fail(f"{url!r} is not a database URL ({examples}).")
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _check_sqlite(parsed)
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+asyncpg")
        final = parsed.render_as_string(hide_password=False)
        try:
            asyncio.run(_ping_database(final))
        except Exception as exc:  # any failure here means: this database cannot be used
            _fail(f"Cannot connect to {parsed.render_as_string(hide_password=True)}: {_db_reason(exc)}. "
                  "Check host, port, user, password and that the database exists.")
        return final
    _fail(f"Unsupported database {backend!r}: XyNaP runs on SQLite or PostgreSQL ({examples}).")


def _check_sqlite(parsed: Any) -> str:
    name = parsed.database
    if not name or name == ":memory:" or name.startswith("file:"):
        _fail("An in-memory SQLite database would lose everything on restart; give a file path, "
              "e.g. sqlite+aiosqlite:////srv/xynap/xynap.db")
    path = Path(name).expanduser()
    path = (path if path.is_absolute() else Path.cwd() / path).resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"Cannot create the directory {path.parent} for the SQLite database: {exc.strerror or exc}.")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        _fail(f"The directory {path.parent} is not writable for this user; SQLite needs to write there.")
    if path.exists() and (path.is_dir() or not os.access(path, os.R_OK | os.W_OK)):
        _fail(f"The SQLite database {path} is not a readable and writable file.")
    return parsed.set(drivername="sqlite+aiosqlite", database=str(path)).render_as_string(hide_password=False)


async def _ping_database(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": DB_CONNECT_TIMEOUT})
    try:
        async with asyncio.timeout(DB_CONNECT_TIMEOUT + 1), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


_ENV_SAFE = re.compile(r"[A-Za-z0-9_./:@+,=-]*")


def _env_quote(value: str) -> str:
    """A value python-dotenv (used by the settings) reads back unchanged."""
    if _ENV_SAFE.fullmatch(value):
        return value
    quoted = value.replace("\\", "\\\\").replace("'", "\\'")
    # python-dotenv expands ${NAME} even in single quotes; "${" is written as "$" + "${UNSET:-{}".
    quoted = quoted.replace("${", "$${__XYNAP_LITERAL__:-{}")
    return f"'{quoted}'"


def _env_key(line: str) -> str | None:
    text = line.strip()
    if not text or text.startswith("#") or "=" not in text:
        return None
    key = text.split("=", 1)[0].strip()
    if key.startswith("export "):
        key = key[len("export "):].strip()
    return key


def write_env_file(path: Path, values: dict[str, str]) -> None:
    """Set ``values`` in a .env file: replaces their lines, keeps every other line, mode 600."""
    lines = path.read_text().splitlines() if path.exists() else []
    out: list[str] = []
    written: set[str] = set()
    for line in lines:
        key = _env_key(line)
        if key in values:
            if key not in written:
                out.append(f"{key}={_env_quote(values[key])}")
                written.add(key)
            continue  # a duplicate of a key we set
        out.append(line)
    rest = [k for k in values if k not in written]
    if rest:
        if out and out[-1].strip():
            out.append("")
        out.append("# written by `xynap install`")
        out.extend(f"{k}={_env_quote(values[k])}" for k in rest)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(out) + "\n")
    os.chmod(path, 0o600)


def _parse_modules(text: str, registry: ModuleRegistry) -> list[str]:
    """Requested slugs plus their bookable dependencies, in dependency order."""
    requested = [s.strip().lower() for s in text.split(",") if s.strip()]
    for slug in requested:
        entry = registry.entries.get(slug)
        if entry is None or not entry.enabled or entry.module.kind != "module":
            why = f" ({entry.reason})" if entry is not None and entry.reason else ""
            _fail(f"Unknown module {slug!r}{why}. Installed modules: {_installed_list(registry)}.")
    wanted: set[str] = set()
    stack = list(requested)
    while stack:
        slug = stack.pop()
        if slug in wanted:
            continue
        wanted.add(slug)
        module = registry.get(slug)
        stack.extend(d for d in module.depends if (dep := registry.get(d)) is not None and dep.kind == "module")
    added = sorted(wanted - set(requested))
    if added:
        _warn(f"also booking the modules these depend on: {', '.join(added)}")
    return [m.slug for m in registry.bookable() if m.slug in wanted]


async def _install_data(settings: Settings, *, company: str, slug: str, admin_name: str, admin_email: str,
                        admin_password: str, modules: list[str], user_limit: int) -> list[str]:
    from sqlalchemy import select

    from xynap.core.errors import NotFound
    from xynap.core.security.passwords import hash_password
    from xynap.platform.catalog.service import sync_catalog
    from xynap.platform.tenants.service import create_tenant, get_tenant_by_slug
    from xynap.platform.users.models import PlatformUser, User
    from xynap.platform.users.service import create_user

    notes: list[str] = []
    async with _runtime(settings) as runtime:
        async with runtime.db.platform_session() as session:
            await sync_catalog(session, runtime.registry)
            try:
                tenant = await get_tenant_by_slug(session, slug)
                notes.append(f"[yellow]Company {escape(slug)} exists[/] ({escape(tenant.name)}, {tenant.status}); "
                             "kept as it is.")
            except NotFound:
                tenant = await create_tenant(session, slug=slug, name=company, plan="enterprise", status="active",
                                             user_limit=user_limit)
                notes.append(f"[green]Created[/] the company [bold]{escape(company)}[/] ({escape(slug)}).")
            tid = tenant.id
        async with runtime.db.tenant_session(tid) as session:
            user = await session.scalar(select(User).where(User.email == admin_email))
            if user is None:
                await create_user(session, runtime, email=admin_email, name=admin_name, role="admin",
                                  password=admin_password)
                notes.append(f"[green]Created[/] the administrator [bold]{escape(admin_email)}[/].")
            else:
                notes.append(f"[yellow]The user {escape(admin_email)} exists[/]; its password was not changed "
                             "(use `xynap user reset-password`).")
        async with runtime.db.platform_session() as session:
            owner = await session.scalar(select(PlatformUser).where(PlatformUser.email == admin_email))
            if owner is None:
                session.add(PlatformUser(email=admin_email, name=admin_name, role="owner",
                                         password_hash=hash_password(admin_password)))
                notes.append(f"[green]Created[/] the platform owner [bold]{escape(admin_email)}[/].")
            else:
                notes.append(f"[yellow]The platform user {escape(admin_email)} exists[/]; left unchanged.")
        for module_slug in modules:
            module = runtime.registry.get(module_slug)
            what = await _enable_module(runtime, tid, module, None)
            notes.append(f"Module [bold]{escape(module_slug)}[/]: {what}.")
    return notes


@app.command()
def install(
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="SQLite file or PostgreSQL URL (default: SQLite in data dir).")
    ] = None,
    company: Annotated[str | None, typer.Option("--company", help="Company name.")] = None,
    slug: Annotated[str | None, typer.Option("--slug", help="Company short name (default: from the name).")] = None,
    admin_email: Annotated[str | None, typer.Option("--admin-email", help="Administrator's e-mail (login).")] = None,
    admin_name: Annotated[str | None, typer.Option("--admin-name", help="Administrator's name.")] = None,
    admin_password: Annotated[
        str | None, typer.Option("--admin-password", help="Administrator's password (min. 10 characters).")
    ] = None,
    base_domain: Annotated[
        str | None, typer.Option("--base-domain", help="Domain the server answers on, e.g. erp.example.com.")
    ] = None,
    smtp_host: Annotated[str | None, typer.Option("--smtp-host", help="Outgoing mail server.")] = None,
    smtp_port: Annotated[int | None, typer.Option("--smtp-port", min=1, max=65535, help="Default 587.")] = None,
    smtp_user: Annotated[str | None, typer.Option("--smtp-user")] = None,
    smtp_password: Annotated[str | None, typer.Option("--smtp-password")] = None,
    smtp_from: Annotated[str | None, typer.Option("--smtp-from", help='e.g. "Firma <noreply@example.com>".')]
    = None,
    modules: Annotated[
        str | None, typer.Option("--modules", help="Installed modules to book, comma-separated, e.g. crm,mail.")
    ] = None,
    license_file: Annotated[
        Path | None, typer.Option("--license", help="License file from your vendor; copied to the data dir.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Install a license even if it does not verify.")] = False,
    user_limit: Annotated[
        int | None, typer.Option("--user-limit", min=1, help="Active users (default: the license's, else 1000).")
    ] = None,
    env_file: Annotated[Path, typer.Option("--env-file", help="Settings file to write.")] = Path(".env"),
    yes: Annotated[
        bool, typer.Option("--yes", "-y", "--non-interactive", help="Never prompt; take every answer from flags.")
    ] = False,
) -> None:
    """Set up a self-hosted XyNaP: database, company, administrator, modules, license, .env."""
    from xynap.core.config import Settings
    from xynap.core.errors import AppError
    from xynap.core.security.passwords import MIN_PASSWORD_LENGTH
    from xynap.platform.tenants.service import validate_slug

    interactive = not yes
    current = _settings()
    if yes:
        missing = [flag for flag, value in (("--company", company), ("--admin-email", admin_email),
                                            ("--admin-password", admin_password)) if not value]
        if missing:
            _fail(f"A non-interactive install needs {', '.join(missing)} "
                  "(and optionally --database-url, --slug, --admin-name, --modules, --license, ...; "
                  "see `xynap install --help`).")
    else:
        _say("[bold]XyNaP installation[/] - press Enter to accept the [dim](default)[/].")

    # 1. database: checked right away, so a typo shows before anything else is asked
    url = database_url or (typer.prompt("Database URL", default=current.effective_database_url) if interactive
                           else current.effective_database_url)
    url = check_database(url)
    _say(f"[green]Database reachable:[/] {escape(_safe_url(url))}")

    # 2. company and administrator
    company = (company or typer.prompt("Company name")).strip()
    if not company:
        _fail("The company name is empty.")
    slug = slug or (typer.prompt("Short name (used in URLs)", default=_slugify(company)) if interactive
                    else _slugify(company))
    try:
        slug = validate_slug(slug)
    except AppError as exc:
        _fail(_describe_app_error(exc))
    admin_email = (admin_email or typer.prompt("Administrator's e-mail")).strip().casefold()
    if not EMAIL_RE.match(admin_email):
        _fail(f"{admin_email!r} is not an e-mail address.")
    admin_name = admin_name or (typer.prompt("Administrator's name", default=admin_email.split("@")[0])
                                if interactive else admin_email.split("@")[0])
    while admin_password is None or len(admin_password) < MIN_PASSWORD_LENGTH:
        if admin_password is not None:
            if not interactive:
                _fail(f"The administrator's password needs at least {MIN_PASSWORD_LENGTH} characters.")
            _warn(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
        admin_password = typer.prompt("Administrator's password", hide_input=True, confirmation_prompt=True)

    # 3. domain and mail
    base_domain = (base_domain or (typer.prompt("Base domain", default=current.base_domain) if interactive
                                   else current.base_domain)).strip().lower()
    if interactive and smtp_host is None and typer.confirm("Configure outgoing mail (SMTP) now?", default=False):
        smtp_host = typer.prompt("SMTP host")
        smtp_port = typer.prompt("SMTP port", default=current.smtp_port, type=int)
        smtp_user = typer.prompt("SMTP user (empty: none)", default="", show_default=False) or None
        if smtp_user:
            smtp_password = typer.prompt("SMTP password", hide_input=True, default="", show_default=False) or None
        smtp_from = typer.prompt("Sender", default=f"{company} <noreply@{base_domain}>")

    # 4. modules and license
    registry = _registry()
    if modules is None and interactive and registry.bookable():
        modules = typer.prompt(f"Modules to activate (installed: {_installed_list(registry)})",
                               default=",".join(m.slug for m in registry.bookable()))
    module_slugs = _parse_modules(modules or "", registry)
    if license_file is None and interactive:
        answer = typer.prompt("License file (empty: none yet)", default="", show_default=False).strip()
        license_file = Path(answer) if answer else None

    overrides: dict[str, Any] = {"database_url": url, "base_domain": base_domain, "mode": "selfhosted",
                                 "default_tenant": slug}
    smtp = {"smtp_host": smtp_host, "smtp_port": smtp_port, "smtp_user": smtp_user, "smtp_password": smtp_password,
            "smtp_from": smtp_from}
    overrides.update({k: v for k, v in smtp.items() if v is not None})
    settings = Settings(**overrides)

    license_status = None
    if license_file is not None:
        license_status = _check_license(settings, license_file, force)
    if user_limit is None:
        payload = license_status.payload if license_status is not None and license_status.is_valid else None
        user_limit = payload.max_users if payload is not None and payload.max_users else 1000

    # 5. the changes
    _migrate(settings)
    _say("[green]Database schema is up to date.[/]")
    notes = _run(_install_data(settings, company=company, slug=slug, admin_name=admin_name,
                               admin_email=admin_email, admin_password=admin_password, modules=module_slugs,
                               user_limit=user_limit))
    for note in notes:
        _say(note)
    if license_file is not None:
        target = settings.data_dir / "license.json"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if license_file.resolve() != target.resolve():
                shutil.copyfile(license_file, target)
        except OSError as exc:
            _fail(f"Cannot copy the license to {target}: {exc.strerror or exc}")
        _say(f"[green]License installed[/] at {escape(str(target))}.")
        if settings.license_file is not None and settings.license_file.resolve() != target.resolve():
            _warn(f"XYNAP_LICENSE_FILE points at {settings.license_file}; the server reads that file, not {target}")
        if license_status is not None and license_status.is_valid:
            unlicensed = [s for s in module_slugs if license_status.module_access(s) is None]
            if unlicensed:
                _warn(f"the license does not cover {', '.join(unlicensed)}; these stay unusable until it does")
    elif module_slugs:
        _warn("no license installed yet: modules are read-only until you install one "
              f"(copy it to {settings.data_dir / 'license.json'})")

    env_values = {
        "XYNAP_DATABASE_URL": url,
        "XYNAP_DATA_DIR": str(settings.data_dir.resolve()),
        "XYNAP_MODE": "selfhosted",
        "XYNAP_BASE_DOMAIN": base_domain,
        "XYNAP_DEFAULT_TENANT": slug,
    }
    env_values.update({f"XYNAP_{k.upper()}": str(v) for k, v in smtp.items() if v is not None})
    try:
        write_env_file(env_file, env_values)
    except OSError as exc:
        _fail(f"Cannot write {env_file}: {exc.strerror or exc}")
    _say(f"[green]Settings written[/] to {escape(str(env_file.resolve()))} (mode 600: it holds secrets).")
    _say("")
    _say("[bold green]XyNaP is installed.[/] Start it with [bold]xynap serve --host 0.0.0.0[/] "
         f"(from {escape(str(Path.cwd()))}, so that the .env is read).")
    where = f"http://localhost:{DEFAULT_PORT}"
    if base_domain != "localhost":
        where += f" (or http://{escape(base_domain)})"
    _say(f"  Open {where} and log in as [bold]{escape(admin_email)}[/].")


def _check_license(settings: Settings, path: Path, force: bool) -> Any:
    from xynap.platform.licenses.license import get_instance_id, load_license_file

    if not path.is_file():
        _fail(f"There is no license file at {path}.")
    try:
        instance = get_instance_id(settings)
    except OSError as exc:
        _fail(f"Cannot create the instance id in {settings.data_dir}: {exc.strerror or exc}")
    status = load_license_file(path, settings.license_public_key, instance)
    if status.is_valid:
        _say(f"[green]License valid:[/] {escape(status.reason)}")
    elif force:
        _warn(f"{status.reason} Installing it anyway (--force); licensed modules stay read-only.")
    else:
        _fail(f"The license does not verify ({status.state}): {status.reason} "
              "Fix it, or pass --force to install it anyway.")
    return status


def main() -> None:  # pragma: no cover - `python -m xynap.cli.main`
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
