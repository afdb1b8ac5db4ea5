"""Running and checking migrations (``xynap migrate``; the server refuses an outdated schema)."""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from xynap.core.config import Settings

KERNEL_MODEL_MODULES = (
    "xynap.core.kernel_models",
    "xynap.platform.tenants.models",
    "xynap.platform.users.models",
    "xynap.platform.auth.models",
    "xynap.platform.catalog.models",
    "xynap.platform.settings.models",
    "xynap.platform.mail.models",
    "xynap.platform.onboarding.models",
    "xynap.platform.preferences.models",
)


def import_all_models() -> None:
    """Import every model so that ``Base.metadata`` is complete (kernel and installed modules)."""
    for name in KERNEL_MODEL_MODULES:
        importlib.import_module(name)
    from xynap.core.modules import ModuleRegistry

    ModuleRegistry.discover()  # loading a module's package imports its models


def alembic_config(settings: Settings, url: str | None = None) -> Config:
    from xynap.core.modules import ModuleRegistry

    here = Path(__file__).resolve().parent.parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(here))
    locations = [str(here / "versions")]
    for module in ModuleRegistry.discover().enabled():
        if module.migrations is not None:
            locations.append(str(module.migrations))
    cfg.set_main_option("version_locations", " ".join(locations))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("sqlalchemy.url", (url or settings.effective_database_url).replace("%", "%%"))
    return cfg


def upgrade(settings: Settings, url: str | None = None, revision: str = "heads") -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings, url), revision)


async def pending_heads(engine: AsyncEngine, settings: Settings) -> set[str]:
    """Script heads not yet applied to the database (empty when up to date)."""
    script = ScriptDirectory.from_config(alembic_config(settings))
    heads = set(script.get_heads())
    async with engine.connect() as conn:
        current = await conn.run_sync(lambda c: set(MigrationContext.configure(c).get_current_heads()))
    applied: set[str] = set()
    for rev in current:
        applied.update(r.revision for r in script.iterate_revisions(rev, "base"))
    return {h for h in heads if h not in applied}
