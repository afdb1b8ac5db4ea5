"""Background jobs of the contacts component.

``contacts.import`` runs an uploaded import (see ``transfer.execute_import``): it commits every
batch together with the import's checkpoint, so a retry after a crash or a worker restart
continues after the last committed batch instead of importing rows twice.

``contacts.imports.cleanup`` (daily, see ``SCHEDULES``) deletes the files of imports (the upload, the
row spool and the error report under ``<data_dir>/imports/<tenant>``) that ended — succeeded,
rejected or failed — or were abandoned (uploaded but never run, untouched since) more than the
company's retention period ago: the setting ``contacts.imports.retention_days``, default
``DEFAULT_RETENTION_DAYS``. The import row and its counts stay; ``files_removed_at`` records the
deletion, so the API answers 410 ``import_files_expired`` for the error report instead of failing on
a missing file. The run walks the companies and cleans each in a tenant session of its own
(committed per batch), so it sees only that company's imports. Idempotent: deleting a missing file
is no error, and a retried run finds the cleaned imports marked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.db import utcnow
from xynap.core.jobs import JobContext
from xynap.core.modules import JobDecl, ScheduleDecl, SettingDecl
from xynap.platform.settings.models import TenantSetting
from xynap.platform.tenants.models import Tenant
from xynap.shared.contacts import transfer
from xynap.shared.contacts.import_models import ContactImport

IMPORT_JOB = "contacts.import"
CLEANUP_JOB = "contacts.imports.cleanup"
DEFAULT_RETENTION_DAYS = 30
# declared by the contacts manifest; the settings API stores it under "<module slug>.<key>"
RETENTION_SETTING = SettingDecl(
    "imports.retention_days", "int", DEFAULT_RETENTION_DAYS, "Keep import files (days)",
    description="Uploaded import files and their error reports are deleted this many days after the import "
                "ended (or after its last change, if it never ran); the import's record and counts stay.")
RETENTION_KEY = f"contacts.{RETENTION_SETTING.key}"
ENDED_STATUSES = ("succeeded", "rejected", "failed")
CLEANUP_BATCH = 200
TENANT_BATCH = 500


async def run_import(ctx: JobContext) -> dict[str, Any]:
    import_id = uuid.UUID(str(ctx.payload["import_id"]))
    data_dir = ctx.runtime.settings.data_dir

    async def progress(imp: ContactImport) -> None:
        # after a commit (the import row already shows it); this feeds the generic jobs view
        await ctx.report_progress(imp.rows_done, imp.total_rows, imp.phase)

    try:
        imp = await transfer.execute_import(ctx.session, data_dir, import_id, on_progress=progress)
    except Exception as exc:
        if ctx.is_last_attempt:
            await ctx.session.rollback()
            await transfer.mark_failed(ctx.session, import_id, f"The import failed: {exc}")
            await ctx.session.commit()
        raise
    return {"import_id": str(imp.id), "status": imp.status, "imported": imp.imported_rows,
            "invalid": imp.invalid_rows, "total": imp.total_rows}


# --- retention of import files ------------------------------------------------------------------------


async def retention_days(db: AsyncSession) -> int:
    """The company's retention period; a missing or unusable value (not a whole number >= 1) is the default."""
    value = await db.scalar(select(TenantSetting.value).where(TenantSetting.key == RETENTION_KEY))
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return DEFAULT_RETENTION_DAYS


def expired_imports(cutoff: dt.datetime) -> Any:
    """Imports whose files are due: ended before ``cutoff``, or never run and untouched since; running and
    queued imports never are."""
    return select(ContactImport).where(ContactImport.files_removed_at.is_(None), or_(
        and_(ContactImport.status.in_(ENDED_STATUSES), ContactImport.finished_at.is_not(None),
             ContactImport.finished_at < cutoff),
        # an ended import without an end time (not written by this code, but possible in old rows)
        and_(ContactImport.status.in_(ENDED_STATUSES), ContactImport.finished_at.is_(None),
             ContactImport.updated_at < cutoff),
        and_(ContactImport.status == "uploaded", ContactImport.updated_at < cutoff),
    ))


async def remove_expired_files(db: AsyncSession, data_dir: Path, now: dt.datetime | None = None) -> int:
    """Delete the files of this tenant session's expired imports and mark them; returns how many imports.

    The files go first, then the mark is committed (per batch): a crash in between leaves the row unmarked
    and the next run marks it (deleting a missing file is no error)."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=await retention_days(db))
    removed = 0
    while True:
        batch = list(await db.scalars(expired_imports(cutoff).order_by(ContactImport.id).limit(CLEANUP_BATCH)))
        if not batch:
            return removed
        for imp in batch:
            files = transfer.ImportFiles.of(data_dir, imp.tenant_id, imp.id)
            await asyncio.to_thread(files.remove)
            imp.files_removed_at = now
        await db.commit()
        removed += len(batch)


async def cleanup_imports(ctx: JobContext) -> dict[str, Any]:
    """The daily cleanup: every company in a tenant session of its own (the platform session only lists
    the companies)."""
    data_dir = ctx.runtime.settings.data_dir
    removed = tenants = 0
    last: uuid.UUID | None = None
    while True:
        query = select(Tenant.id).order_by(Tenant.id).limit(TENANT_BATCH)
        ids = list(await ctx.session.scalars(query if last is None else query.where(Tenant.id > last)))
        if not ids:
            break
        for tenant_id in ids:
            async with ctx.runtime.db.tenant_session(tenant_id) as session:
                count = await remove_expired_files(session, data_dir)
            removed += count
            tenants += 1 if count else 0
        last = ids[-1]
    return {"imports": removed, "tenants": tenants}


JOBS = [JobDecl(IMPORT_JOB, run_import, max_attempts=5), JobDecl(CLEANUP_JOB, cleanup_imports, max_attempts=3)]
SCHEDULES = [ScheduleDecl("contacts.imports.cleanup.daily", "41 3 * * *", CLEANUP_JOB)]
SETTINGS = [RETENTION_SETTING]
