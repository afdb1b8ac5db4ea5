"""The demo company: a tenant with people, teams and every installed module, for trying XyNaP out.

``seed_demo`` is idempotent: it creates what is missing and leaves the rest alone, except that the
admin's and the platform owner's passwords are reset to the one given (so the printed login always
works). Modules contribute their own demo data through an optional ``demo`` attribute on their
manifest: an async callable ``(session, tenant_id, users) -> None`` run inside a tenant session,
where ``users`` maps the keys of ``DEMO_PEOPLE`` ("admin", "manager", "staff1", ...) to the demo
``User`` rows. Each module's hook runs once per demo tenant (the tenant remembers which modules
have seeded their data), in dependency order, so a module installed later gets its demo data on
the next ``xynap demo``.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from xynap.core.errors import NotFound
from xynap.core.modules import Module
from xynap.core.security.passwords import hash_password
from xynap.platform.catalog.models import ModuleRecord, Subscription
from xynap.platform.tenants.models import Tenant
from xynap.platform.users.models import PlatformUser, Team, TeamMember, User
from xynap.runtime import Runtime

log = logging.getLogger("xynap.demo")

DEMO_SLUG = "demo"
DEMO_COMPANY = "Müller & Partner GmbH"
DEMO_PASSWORD = "demo-password-2026"
DEMO_TIER = "business"
DEMO_USER_LIMIT = 25
PLATFORM_OWNER_EMAIL = "owner@xynap.example.com"
PLATFORM_OWNER_NAME = "XyNaP Betrieb"
# Tenant.settings key listing the modules whose ``demo`` hook has run for this tenant.
SEEDED_KEY = "demo_seeded_modules"

DemoHook = Callable[[Any, uuid.UUID, dict[str, User]], Awaitable[None]]


@dataclass(frozen=True)
class DemoPerson:
    key: str
    email: str
    name: str
    role: str


DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("admin", "admin@demo.example.com", "Katrin Müller", "admin"),
    DemoPerson("manager", "thomas.schneider@demo.example.com", "Thomas Schneider", "manager"),
    DemoPerson("staff1", "julia.weber@demo.example.com", "Julia Weber", "staff"),
    DemoPerson("staff2", "markus.fischer@demo.example.com", "Markus Fischer", "staff"),
    DemoPerson("staff3", "sabine.hoffmann@demo.example.com", "Sabine Hoffmann", "staff"),
    DemoPerson("external", "lukas.becker@steuerkanzlei-becker.example.com", "Lukas Becker", "external"),
)

# name, description, member keys
DEMO_TEAMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Vertrieb", "Neukunden, Angebote und Bestandskunden", ("manager", "staff1", "staff2")),
    ("Support", "Kundenservice und technische Hilfe", ("admin", "staff2", "staff3")),
)


@dataclass
class DemoResult:
    tenant_id: uuid.UUID
    slug: str
    name: str
    created: bool
    admin_email: str
    password: str
    platform_email: str
    users: dict[str, uuid.UUID] = field(default_factory=dict)  # DEMO_PEOPLE key -> user id
    modules: list[str] = field(default_factory=list)  # modules active for the tenant
    booked: list[str] = field(default_factory=list)  # booked or re-activated by this run
    seeded: list[str] = field(default_factory=list)  # modules whose demo hook ran in this run
    problems: list[str] = field(default_factory=list)


def demo_hook(module: Module) -> DemoHook | None:
    hook = getattr(module, "demo", None)
    return hook if callable(hook) else None


async def seed_demo(runtime: Runtime, *, slug: str = DEMO_SLUG, password: str = DEMO_PASSWORD,
                    strict: bool = False) -> DemoResult:
    """Create (or complete) the demo tenant; see the module docstring.

    A module whose booking or demo hook fails is reported in ``DemoResult.problems`` and skipped;
    with ``strict=True`` the error is raised instead (handy in a module's tests).
    """
    from xynap.platform.catalog.service import sync_catalog
    from xynap.platform.users.service import check_password

    check_password(password)
    async with runtime.db.platform_session() as session:
        await sync_catalog(session, runtime.registry)
        tenant_id, created = await _ensure_tenant(session, slug)
    result = DemoResult(tenant_id=tenant_id, slug=slug, name=DEMO_COMPANY, created=created,
                        admin_email=DEMO_PEOPLE[0].email, password=password, platform_email=PLATFORM_OWNER_EMAIL)

    async with runtime.db.tenant_session(tenant_id) as session:
        users = await _ensure_people(session, runtime, password)
        await _ensure_teams(session, users)
        await _ensure_welcome(session, runtime, users)
        result.users = {key: user.id for key, user in users.items()}

    await _book_modules(runtime, tenant_id, result, strict)
    await _run_hooks(runtime, tenant_id, result, strict)
    await _ensure_platform_owner(runtime, password)
    runtime.invalidate_tenant(tenant_id)
    return result


async def _ensure_tenant(session: Any, slug: str) -> tuple[uuid.UUID, bool]:
    from xynap.platform.tenants.service import create_tenant, get_tenant_by_slug

    try:
        tenant = await get_tenant_by_slug(session, slug)
    except NotFound:
        tenant = await create_tenant(session, slug=slug, name=DEMO_COMPANY, plan="business", status="active",
                                     user_limit=DEMO_USER_LIMIT)
        return tenant.id, True
    if tenant.status != "active":
        tenant.status = "active"
        tenant.trial_ends_at = None
    tenant.user_limit = max(tenant.user_limit, DEMO_USER_LIMIT)
    await session.flush()
    return tenant.id, False


async def _ensure_people(session: Any, runtime: Runtime, password: str) -> dict[str, User]:
    from xynap.platform.users.service import create_user, set_password

    users: dict[str, User] = {}
    for person in DEMO_PEOPLE:
        user = await session.scalar(select(User).where(User.email == person.email.casefold()))
        if user is None:
            user = await create_user(session, runtime, email=person.email, name=person.name, role=person.role,
                                     password=password)
        elif person.role == "admin":
            await set_password(session, user, password)
            user.is_active = True
        users[person.key] = user
    await session.flush()
    return users


DEFAULT_DASHBOARD = {"dashboard": {"widgets": ["core.modules", "core.team"]}, "theme": "system"}


async def _ensure_welcome(session: Any, runtime: Runtime, users: dict[str, User]) -> None:
    """A welcome mail in the outbox (no SMTP in the demo) and the admin's starting dashboard."""
    from xynap.platform.mail.models import MailMessage
    from xynap.platform.mail.service import send_mail
    from xynap.platform.preferences.models import UserPreference

    admin = users["admin"]
    if not await session.scalar(select(MailMessage.id).where(MailMessage.purpose == "welcome").limit(1)):
        await send_mail(session, runtime, to=admin.email, purpose="welcome",
                        subject=f"Willkommen bei XyNaP, {admin.name}",
                        body=(f"Hallo {admin.name},\n\nIhr Firmenkonto {DEMO_COMPANY} ist eingerichtet. "
                              "Unter Verwaltung → Module buchen Sie weitere Module; unter Verwaltung → Benutzer "
                              "laden Sie Ihr Team ein.\n\nViel Erfolg!\nIhr XyNaP-Team\n"))
    if not await session.scalar(select(UserPreference.id).where(UserPreference.user_id == admin.id)):
        session.add(UserPreference(user_id=admin.id, data=DEFAULT_DASHBOARD))
    await session.flush()


async def _ensure_teams(session: Any, users: dict[str, User]) -> None:
    for name, description, members in DEMO_TEAMS:
        team = await session.scalar(select(Team).where(Team.name == name))
        if team is None:
            team = Team(name=name, description=description)
            session.add(team)
            await session.flush()
        present = set(await session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team.id)))
        for key in members:
            if users[key].id not in present:
                session.add(TeamMember(team_id=team.id, user_id=users[key].id))
    await session.flush()


def _tier_for(module: Module) -> str | None:
    tiers = [plan.tier for plan in module.plans]
    if DEMO_TIER in tiers:
        return DEMO_TIER
    return tiers[0] if tiers else None


async def _book_modules(runtime: Runtime, tenant_id: uuid.UUID, result: DemoResult, strict: bool) -> None:
    from xynap.platform.catalog.subscriptions import activate_subscription, book_module

    for module in runtime.registry.bookable():  # dependency order: dependencies are booked first
        tier = _tier_for(module)
        if tier is None:
            result.problems.append(f"module {module.slug!r} declares no plans, so it cannot be booked")
            continue
        try:
            async with runtime.db.tenant_session(tenant_id) as session:
                sub = await session.scalar(
                    select(Subscription).join(ModuleRecord, Subscription.module_id == ModuleRecord.id)
                    .where(ModuleRecord.slug == module.slug)
                )
                if sub is not None and sub.status == "active":
                    result.modules.append(module.slug)
                    continue
                if sub is not None and sub.status in ("pending", "trial", "suspended"):
                    await activate_subscription(session, runtime, sub)
                else:
                    await book_module(session, runtime, tenant_id, module.slug, tier=tier, activate=True)
        except Exception as exc:
            if strict:
                raise
            log.warning("demo: booking %s failed", module.slug, exc_info=True)
            result.problems.append(f"module {module.slug!r} could not be booked: {exc}")
            continue
        result.modules.append(module.slug)
        result.booked.append(module.slug)


async def _run_hooks(runtime: Runtime, tenant_id: uuid.UUID, result: DemoResult, strict: bool) -> None:
    async with runtime.db.platform_session() as session:
        tenant = await session.get(Tenant, tenant_id)
        done = set((tenant.settings or {}).get(SEEDED_KEY, []))
    active = set(result.modules)
    for module in runtime.registry.enabled():
        hook = demo_hook(module)
        if hook is None or module.slug in done:
            continue
        if module.kind == "module" and module.slug not in active:
            continue
        try:
            async with runtime.db.tenant_session(tenant_id) as session:
                users = {key: await session.get(User, uid) for key, uid in result.users.items()}
                outcome = hook(session, tenant_id, users)
                if inspect.isawaitable(outcome):
                    await outcome
        except Exception as exc:
            if strict:
                raise
            log.warning("demo: the demo data of %s failed", module.slug, exc_info=True)
            result.problems.append(f"module {module.slug!r}: its demo data failed: {exc}")
            continue
        done.add(module.slug)
        result.seeded.append(module.slug)
        async with runtime.db.platform_session() as session:
            tenant = await session.get(Tenant, tenant_id)
            tenant.settings = {**(tenant.settings or {}), SEEDED_KEY: sorted(done)}


async def _ensure_platform_owner(runtime: Runtime, password: str) -> None:
    async with runtime.db.platform_session() as session:
        owner = await session.scalar(select(PlatformUser).where(PlatformUser.email == PLATFORM_OWNER_EMAIL))
        if owner is None:
            session.add(PlatformUser(email=PLATFORM_OWNER_EMAIL, name=PLATFORM_OWNER_NAME, role="owner",
                                     password_hash=hash_password(password)))
        else:
            owner.password_hash = hash_password(password)
            owner.is_active = True
