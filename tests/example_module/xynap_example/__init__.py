"""xynap-example: the smallest complete third-party XyNaP module.

It is installed like any other module, as a package with an entry point in the group
``xynap.modules`` (see ``pyproject.toml``); the platform never imports it by name. It shows
every part of the module contract: permissions with per-role defaults, plans, a setting, a job
with a cron schedule, a UI entry, an Alembic branch with its table behind row-level security,
and demo data for ``xynap demo``.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from xynap.core.modules import JobDecl, Module, PermissionDecl, PlanDecl, ScheduleDecl, SettingDecl, UIEntry
from xynap_example.api import router
from xynap_example.models import ExampleItem

SLUG = "example"
STATS_JOB = "example.count_items"


async def count_items(ctx: Any) -> dict[str, Any]:
    """Job: count the items (of the job's tenant, or of all tenants for the platform's cron run)."""
    total = await ctx.session.scalar(select(func.count()).select_from(ExampleItem))
    return {"items": int(total or 0)}


DEMO_ITEMS: tuple[tuple[str, str, str], ...] = (
    # owner key (see xynap.platform.demo.DEMO_PEOPLE), title, body
    ("admin", "Willkommen bei XyNaP", "Ein Beispiel-Eintrag der Administratorin."),
    ("manager", "Quartalsplanung", "Ziele des Vertriebs für das nächste Quartal."),
    ("staff1", "Rückruf Kunde Schmidt", "Angebot nachfassen."),
    ("staff3", "Supportfall 4711", "Drucker im Büro 2 druckt nicht."),
)


async def demo(session: Any, tenant_id: uuid.UUID, users: dict[str, Any]) -> None:
    """Demo data for ``xynap demo``: a few items owned by different people."""
    for owner_key, title, body in DEMO_ITEMS:
        owner = users.get(owner_key) or users.get("admin")
        if owner is None:
            continue
        session.add(ExampleItem(tenant_id=tenant_id, title=title, body=body, owner_id=owner.id))
    await session.flush()


module = Module(
    slug=SLUG,
    name="Example",
    version="0.1.0",
    description="A minimal module that shows the module contract (items with owners).",
    icon="flask-conical",
    color="#0ea5e9",
    kind="module",
    depends=[],
    permissions=[
        PermissionDecl(
            "example.item",
            label="Example items",
            defaults={
                "admin": "all",
                "manager": "all",
                "staff": {"read": "team", "create": "own", "update": "own", "delete": "own"},
            },
        ),
    ],
    routers=[router],
    jobs=[JobDecl(STATS_JOB, count_items, max_attempts=3)],
    schedules=[ScheduleDecl("example.nightly_count", "15 3 * * *", STATS_JOB)],
    settings=[SettingDecl("items_per_page", "int", 25, "Items per page",
                          description="How many items the list shows at once")],
    plans=[
        PlanDecl("starter", "4.90", "49.00", limits={"items": 100}, features=("items",)),
        PlanDecl("business", "9.90", "99.00", limits={"items": 10_000}, features=("items", "export")),
        PlanDecl("enterprise", "19.90", "199.00", limits={"items": None}, features=("items", "export", "api")),
    ],
    ui=UIEntry(path="/example", label={"de": "Beispiel", "en": "Example"}, entry="modules/example/index.ts"),
    migrations=Path(__file__).parent / "migrations" / "versions",
    sort_order=900,
)
# Optional manifest extra read by xynap.platform.demo (Module has no field for it).
module.demo = demo  # type: ignore[attr-defined]

__all__ = ["ExampleItem", "module"]
