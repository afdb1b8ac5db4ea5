"""Background jobs of the contacts component.

``contacts.import`` runs an uploaded import (see ``transfer.execute_import``): it commits every
batch together with the import's checkpoint, so a retry after a crash or a worker restart
continues after the last committed batch instead of importing rows twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from xynap.core.jobs import JobContext
from xynap.core.modules import JobDecl
from xynap.shared.contacts import transfer
from xynap.shared.contacts.import_models import ContactImport

IMPORT_JOB = "contacts.import"


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


JOBS = [JobDecl(IMPORT_JOB, run_import, max_attempts=5)]
