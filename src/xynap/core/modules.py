"""The module contract: manifests, discovery through entry points, and the dependency graph.

A module is any Python package that exposes a ``Module`` object under the entry-point group
``xynap.modules``. The kernel never imports a module by name; it reads manifests, orders
them by ``depends`` (topological, depth first like Odoo's module graph) and disables a module
whose dependency is missing or cyclic together with everything that depends on it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter

log = logging.getLogger("xynap.modules")

ENTRY_POINT_GROUP = "xynap.modules"
SCOPES = ("own", "team", "all")
SYSTEM_ROLE_ORDER = ("admin", "manager", "staff", "external")


@dataclass(frozen=True)
class PermissionDecl:
    """Permissions on one entity, e.g. ``crm.deal`` with read/create/update/delete.

    ``defaults`` gives the scope each system role gets for every action, or a per-action map:
    ``{"admin": "all", "staff": {"read": "all", "update": "own"}}``. ``scoped=False`` means
    the entity has no owner, so only ``all`` (or nothing) applies.
    """

    entity: str
    actions: tuple[str, ...] = ("read", "create", "update", "delete")
    scoped: bool = True
    label: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)

    def keys(self) -> list[str]:
        return [f"{self.entity}:{a}" for a in self.actions]

    def default_grants(self, role: str) -> dict[str, str]:
        spec = self.defaults.get(role)
        out: dict[str, str] = {}
        for action in self.actions:
            scope = spec.get(action) if isinstance(spec, dict) else spec
            if scope:
                out[f"{self.entity}:{action}"] = scope if self.scoped else "all"
        return out


@dataclass(frozen=True)
class JobDecl:
    name: str
    handler: Callable[..., Awaitable[Any]]
    max_attempts: int = 5


@dataclass(frozen=True)
class ScheduleDecl:
    name: str
    cron: str
    job: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SettingDecl:
    key: str
    type: Literal["str", "int", "float", "bool", "json"] = "str"
    default: Any = None
    label: str = ""
    description: str = ""
    secret: bool = False
    scope: Literal["tenant", "global"] = "tenant"


@dataclass(frozen=True)
class PlanDecl:
    """Default catalog price of a tier; platform admins can change prices in the catalog."""

    tier: str
    price_monthly: str
    price_yearly: str
    limits: dict[str, Any] = field(default_factory=dict)
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class UIEntry:
    """The front-end half: ``frontend/src/modules/<slug>/`` registers routes under ``path``."""

    path: str
    label: dict[str, str]
    entry: str = ""


@dataclass
class Module:
    slug: str
    name: str
    version: str = "0.1.0"
    description: str = ""
    icon: str = "box"
    color: str = "#6366f1"
    kind: Literal["module", "shared"] = "module"
    depends: list[str] = field(default_factory=list)
    permissions: list[PermissionDecl] = field(default_factory=list)
    routers: list[APIRouter] = field(default_factory=list)
    event_handlers: dict[str, list[Callable[..., Awaitable[Any]]]] = field(default_factory=dict)
    jobs: list[JobDecl] = field(default_factory=list)
    schedules: list[ScheduleDecl] = field(default_factory=list)
    settings: list[SettingDecl] = field(default_factory=list)
    plans: list[PlanDecl] = field(default_factory=list)
    ui: UIEntry | None = None
    migrations: Path | None = None  # an Alembic version directory with branch label = slug
    sort_order: int = 100
    # xynap.core.search.SearchSource objects: entities of this module the global search finds
    search_sources: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        from xynap.core import search

        for source in self.search_sources:
            search.register(source, module=self.slug)

    @property
    def api_prefix(self) -> str:
        return f"/api/{self.slug}"


@dataclass
class LoadedModule:
    module: Module
    enabled: bool = True
    reason: str = ""
    source: str = ""


class ModuleRegistry:
    """The installed modules, in load order, with the reason any of them is disabled."""

    def __init__(self, modules: Iterable[tuple[Module, str]] = ()) -> None:
        self.entries: dict[str, LoadedModule] = {}
        self.order: list[str] = []
        self.problems: list[str] = []
        for module, source in modules:
            self._add(module, source)
        self._resolve()

    @classmethod
    def discover(cls, extra: Iterable[Module] = ()) -> ModuleRegistry:
        found: list[tuple[Module, str]] = []
        problems: list[str] = []
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                obj = ep.load()
            except Exception as exc:  # a broken third-party package must not stop the platform
                problems.append(f"module entry point {ep.name!r} ({ep.value}) failed to load: {exc}")
                log.error("module %s failed to load", ep.name, exc_info=True)
                continue
            if callable(obj) and not isinstance(obj, Module):
                obj = obj()
            if not isinstance(obj, Module):
                problems.append(f"entry point {ep.name!r} does not provide a xynap Module")
                continue
            found.append((obj, ep.value))
        found.extend((m, "extra") for m in extra)
        registry = cls(found)
        registry.problems[:0] = problems
        return registry

    def _add(self, module: Module, source: str) -> None:
        if module.slug in self.entries:
            self.problems.append(f"module {module.slug!r} is provided twice ({source}); the first one wins")
            return
        self.entries[module.slug] = LoadedModule(module, source=source)

    def _resolve(self) -> None:
        # 1. missing dependencies, transitively
        changed = True
        while changed:
            changed = False
            for slug, entry in self.entries.items():
                if not entry.enabled:
                    continue
                for dep in entry.module.depends:
                    dep_entry = self.entries.get(dep)
                    if dep_entry is None:
                        self._disable(slug, f"depends on {dep!r}, which is not installed")
                        changed = True
                        break
                    if not dep_entry.enabled:
                        self._disable(slug, f"depends on {dep!r}, which is disabled")
                        changed = True
                        break
        # 2. cycles: Kahn's algorithm; whatever cannot be ordered is in or behind a cycle
        pending = {s for s, e in self.entries.items() if e.enabled}
        ordered: list[str] = []
        while True:
            ready = sorted(
                (s for s in pending if all(d in ordered for d in self.entries[s].module.depends)),
                key=lambda s: (self.entries[s].module.sort_order, s),
            )
            if not ready:
                break
            ordered.extend(ready)
            pending.difference_update(ready)
        if pending:
            in_cycle = {s for s in pending if self._reaches(s, s, pending)}
            cycle_names = ", ".join(sorted(in_cycle))
            for slug in sorted(in_cycle):
                self._disable(slug, f"dependency cycle among {cycle_names}")
            for slug in sorted(pending - in_cycle):
                blocked = sorted(d for d in self.entries[slug].module.depends if d in pending)
                self._disable(slug, f"depends on {', '.join(map(repr, blocked))}, which is disabled (dependency cycle)")
        self.order = ordered

    def _reaches(self, start: str, target: str, within: set[str]) -> bool:
        """Whether ``target`` is reachable from ``start`` through dependencies inside ``within``."""
        stack, seen = list(self.entries[start].module.depends), set()
        while stack:
            node = stack.pop()
            if node == target:
                return True
            if node in seen or node not in within:
                continue
            seen.add(node)
            stack.extend(self.entries[node].module.depends)
        return False

    def _disable(self, slug: str, reason: str) -> None:
        entry = self.entries[slug]
        entry.enabled = False
        entry.reason = reason
        msg = f"module {slug!r} disabled: {reason}"
        self.problems.append(msg)
        log.warning(msg)

    # --- queries ---------------------------------------------------------------------------------

    def enabled(self) -> list[Module]:
        return [self.entries[s].module for s in self.order]

    def get(self, slug: str) -> Module | None:
        entry = self.entries.get(slug)
        return entry.module if entry and entry.enabled else None

    def all_entries(self) -> list[LoadedModule]:
        ordered = [self.entries[s] for s in self.order]
        return ordered + sorted((e for e in self.entries.values() if not e.enabled), key=lambda e: e.module.slug)

    def permissions(self) -> list[PermissionDecl]:
        return [p for m in self.enabled() for p in m.permissions]

    def bookable(self) -> list[Module]:
        return [m for m in self.enabled() if m.kind == "module"]

    def shared(self) -> list[Module]:
        return [m for m in self.enabled() if m.kind == "shared"]
