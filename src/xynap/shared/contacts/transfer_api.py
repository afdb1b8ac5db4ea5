"""Import and export routes of the contacts component (``/api/contacts/imports``, ``/api/contacts/export.*``).

A router of its own, registered in the manifest before the main contacts router: that one has
``/{contact_id}``, which would otherwise read ``imports`` or ``export.csv`` as a contact id.

Imports belong to whoever uploaded them: the caller's ``contacts.contact:create`` scope decides
which imports they see (an "own" scope sees its own uploads only). Exports apply the contact
list's filters, sort order and the caller's read scope, and stream (constant memory for any number of
rows). An import's files are deleted some time after it ended (``jobs.cleanup_imports``); then its
record stays and its error report answers 410 ``import_files_expired``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from xynap.core.errors import AppError, Conflict, NotFound
from xynap.core.jobs import enqueue
from xynap.core.security.permissions import Access
from xynap.platform.auth.deps import DbDep, require
from xynap.shared.contacts import service, transfer
from xynap.shared.contacts.import_models import ContactImport

router = APIRouter(tags=["contacts"])

IMPORT_JOB = "contacts.import"
CreateAccess = Annotated[Access, require("contacts.contact:create")]
ReadAccess = Annotated[Access, require("contacts.contact:read")]


# --- schemas -----------------------------------------------------------------------------------------


class ImportRowError(BaseModel):
    line: int = Field(description="Line of the record in the file (vCard: number of the card)")
    field: str
    column: str | None
    message: str
    value: str = ""


class ImportProgress(BaseModel):
    phase: str = Field(description="validate, insert or done (empty before the first run)")
    done: int
    total: int
    percent: float


class ImportRead(BaseModel):
    id: uuid.UUID
    status: Literal["uploaded", "queued", "running", "succeeded", "rejected", "failed"]
    format: Literal["csv", "vcard"]
    filename: str
    size_bytes: int
    encoding: str
    delimiter: str
    header: list[str]
    preview: list[list[str]] = Field(default_factory=list, description="The first rows of the file")
    suggested_mapping: dict[str, str | None] = Field(
        default_factory=dict, description="Column → target field (null: not imported)")
    targets: dict[str, str] = Field(default_factory=dict, description="Every target field with its label")
    options: dict[str, Any]
    progress: ImportProgress
    total_rows: int
    valid_rows: int
    invalid_rows: int
    imported_rows: int
    dry_run: bool = Field(description="The counts and errors come from a dry run")
    errors: list[ImportRowError] = Field(description=f"The first {transfer.MAX_STORED_ERRORS} row errors; "
                                                     "/errors has all")
    message: str
    job_id: uuid.UUID | None
    created_by: uuid.UUID | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    files_removed_at: dt.datetime | None = Field(
        default=None, description="When the retention cleanup deleted the uploaded file and the full error "
                                  "report (the counts and the first errors above stay); null: still there")


class ImportValidate(BaseModel):
    mapping: dict[str, str | None] | None = Field(
        default=None, description="Column → target; default: the suggested mapping (ignored for vCard)")
    default_type: Literal["person", "organization"] | None = Field(
        default=None, description="For rows without a type column; default: person when a name is given")


class ImportRun(ImportValidate):
    skip_invalid: bool = Field(default=False, description="Import the valid rows even when some are invalid "
                                                          "(otherwise any invalid row imports nothing)")
    default_owner_id: uuid.UUID | None = Field(default=None, description="Owner of the new contacts; default: you")
    default_tag_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50,
                                             description="Tags every imported contact gets")


# --- helpers -----------------------------------------------------------------------------------------


def _data_dir(request: Request) -> Any:
    return request.app.state.runtime.settings.data_dir


async def _visible_import(db: Any, import_id: uuid.UUID, access: Access) -> ContactImport:
    imp = await db.scalar(access.apply(select(ContactImport).where(ContactImport.id == import_id),
                                       ContactImport.created_by))
    if imp is None:
        raise NotFound("No such import.", code="import_not_found")
    return imp


async def _read(db: Any, request: Request, imp: ContactImport, *, preview: bool = True) -> ImportRead:
    definitions = await service.field_definitions(db)
    files = transfer.ImportFiles.of(_data_dir(request), imp.tenant_id, imp.id)
    suggested = {} if imp.format == "vcard" else transfer.suggest_mapping(imp.header, definitions)
    total = max(imp.total_rows, 0)
    done = min(imp.rows_done, total) if imp.status != "succeeded" else total
    progress = ImportProgress(phase=imp.phase, done=done, total=total,
                              percent=round(100.0 * done / total, 1) if total else 0.0)
    return ImportRead(
        id=imp.id, status=imp.status, format=imp.format, filename=imp.filename, size_bytes=imp.size_bytes,
        encoding=imp.encoding, delimiter=imp.delimiter, header=list(imp.header or []),
        preview=await asyncio.to_thread(transfer.preview_of, imp, files) if preview else [],
        suggested_mapping=suggested,
        targets={} if imp.format == "vcard" else transfer.targets_for(definitions), options=imp.options or {},
        progress=progress, total_rows=imp.total_rows, valid_rows=imp.valid_rows, invalid_rows=imp.invalid_rows,
        imported_rows=imp.imported_rows, dry_run=imp.dry_run,
        errors=[ImportRowError(**e) for e in imp.errors or []], message=imp.message, job_id=imp.job_id,
        created_by=imp.created_by, created_at=imp.created_at, finished_at=imp.finished_at,
        files_removed_at=imp.files_removed_at,
    )


def _ensure_files(imp: ContactImport) -> None:
    """A clear 410 instead of a missing-file failure once the retention cleanup has deleted the files."""
    if imp.files_removed_at is not None:
        raise AppError("The import's files (the upload and the full error report) were deleted after the retention "
                       "period; upload the file again to import it once more.", code="import_files_expired",
                       status=410, title="Gone")


def _ensure_idle(imp: ContactImport) -> None:
    if imp.status in ("queued", "running"):
        raise Conflict("The import is running.", code="import_running")
    if imp.status == "succeeded":
        raise Conflict("This file has been imported already; upload it again to import it once more.",
                       code="import_finished")


# --- imports -----------------------------------------------------------------------------------------


@router.post("/imports", response_model=ImportRead, status_code=201, summary="Upload a CSV or vCard file to import",
             description="The file is stored, its encoding (UTF-8 with or without BOM, else Windows-1252) and "
                         "delimiter recognised; the answer has the header, the first rows and a suggested "
                         "column mapping. Nothing is imported yet: see /validate (dry run) and /run.")
async def upload_import(request: Request, db: DbDep, access: CreateAccess,
                        file: Annotated[UploadFile, File(description="CSV (.csv, .txt) or vCard (.vcf)")]) \
        -> ImportRead:
    imp = await transfer.create_import(db, _data_dir(request), request.state.tenant.id, file.file,
                                       file.filename or "", access.principal.user_id)
    return await _read(db, request, imp)


@router.get("/imports", response_model=list[ImportRead], summary="Recent imports (the 50 newest)")
async def list_imports(request: Request, db: DbDep, access: CreateAccess) -> list[ImportRead]:
    rows = await db.scalars(access.apply(select(ContactImport), ContactImport.created_by)
                            .order_by(ContactImport.created_at.desc(), ContactImport.id.desc()).limit(50))
    out = []
    for imp in rows:
        read = await _read(db, request, imp, preview=False)
        out.append(read.model_copy(update={"errors": read.errors[:20]}))
    return out


@router.get("/imports/{import_id}", response_model=ImportRead, summary="Status, progress and error report")
async def get_import(import_id: uuid.UUID, request: Request, db: DbDep, access: CreateAccess) -> ImportRead:
    return await _read(db, request, await _visible_import(db, import_id, access))


@router.post("/imports/{import_id}/validate", response_model=ImportRead,
             summary="Dry run: check every row, report every bad one, import nothing")
async def validate_import(import_id: uuid.UUID, body: ImportValidate, request: Request, db: DbDep,
                          access: CreateAccess) -> ImportRead:
    imp = await _visible_import(db, import_id, access)
    _ensure_idle(imp)
    _ensure_files(imp)
    options = await transfer.prepare_options(db, imp, body.mapping, default_type=body.default_type)
    await transfer.validate_import(db, _data_dir(request), imp, options)
    return await _read(db, request, imp)


@router.post("/imports/{import_id}/run", response_model=ImportRead, status_code=202,
             summary="Import in the background",
             description="Runs as a durable job: progress shows on GET /imports/{import_id}. With invalid rows "
                         "and skip_invalid false nothing is imported and the report says why.")
async def run_import(import_id: uuid.UUID, body: ImportRun, request: Request, db: DbDep,
                     access: CreateAccess) -> ImportRead:
    imp = await _visible_import(db, import_id, access)
    _ensure_idle(imp)
    _ensure_files(imp)
    owner_id = body.default_owner_id or access.principal.user_id
    access.ensure_owner(owner_id)
    options = await transfer.prepare_options(
        db, imp, body.mapping, skip_invalid=body.skip_invalid, default_type=body.default_type,
        default_owner_id=owner_id, default_tag_ids=body.default_tag_ids)
    if not transfer.ImportFiles.of(_data_dir(request), imp.tenant_id, imp.id).source.exists():
        raise AppError("The uploaded file is gone; upload it again.", code="import_file_missing", status=422)
    job = await enqueue(db, IMPORT_JOB, {"import_id": str(imp.id)}, max_attempts=5)
    imp.options = options.as_json()
    imp.status, imp.phase, imp.job_id = "queued", "", job.id
    imp.rows_done = imp.checkpoint = imp.imported_rows = 0
    imp.dry_run, imp.errors, imp.message, imp.finished_at = False, [], "", None
    await db.flush()
    return await _read(db, request, imp)


class ImportErrorPage(BaseModel):
    items: list[ImportRowError]
    offset: int
    limit: int
    has_more: bool


@router.get("/imports/{import_id}/errors", response_model=ImportErrorPage,
            summary="The full error report: pages of JSON, or the whole report as CSV (format=csv)",
            description="410 import_files_expired once the retention cleanup has deleted the report.",
            responses={200: {"content": {"text/csv": {}}}})
async def import_errors(import_id: uuid.UUID, request: Request, db: DbDep, access: CreateAccess,
                        format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
                        offset: Annotated[int, Query(ge=0)] = 0,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> Any:
    imp = await _visible_import(db, import_id, access)
    _ensure_files(imp)
    if format == "csv":
        chunks = transfer.errors_csv_chunks(_data_dir(request), imp)
        return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="import-{imp.id}-fehler.csv"'})
    rows = await asyncio.to_thread(transfer.error_page, _data_dir(request), imp, offset, limit + 1)
    return ImportErrorPage(items=[ImportRowError(**r) for r in rows[:limit]], offset=offset, limit=limit,
                           has_more=len(rows) > limit)


@router.delete("/imports/{import_id}", status_code=204, summary="Delete an import record and its files "
                                                                "(the imported contacts stay)")
async def delete_import(import_id: uuid.UUID, request: Request, db: DbDep, access: CreateAccess) -> Response:
    imp = await _visible_import(db, import_id, access)
    if imp.status in ("queued", "running"):
        raise Conflict("The import is running.", code="import_running")
    transfer.ImportFiles.of(_data_dir(request), imp.tenant_id, imp.id).remove()
    await db.delete(imp)
    await db.flush()
    return Response(status_code=204)


# --- export ------------------------------------------------------------------------------------------


async def _export_stmt(request: Request, db: Any, access: Access, q: str | None, type: str | None,
                       tag: uuid.UUID | None, owner_id: uuid.UUID | None,
                       segment: uuid.UUID | None = None, sort: str = "name") -> transfer.ExportQuery:
    cf = [(k[3:], v) for k, v in request.query_params.multi_items() if k.startswith("cf.")]
    filters = transfer.ExportFilter(q=q, type=type, tag=tag, owner_id=owner_id, cf=cf)
    stmt = await transfer.export_statement(db, access, filters)
    if segment is not None:
        # as in the contact list: the segment's visibility follows the segment permission
        from xynap.shared.contacts import api as contacts_api

        permission = f"{contacts_api.SEGMENT}:read"
        scope = access.principal.scope_for(permission) or "own"
        saved = await contacts_api._segment(db, segment, Access(access.principal, permission, scope))
        stmt = stmt.where(await contacts_api._segment_clause(db, saved.filter))
    return await transfer.export_query(db, stmt, sort)  # an unknown sort: 422 now, not mid-stream


def _streamed(request: Request, make: Any) -> AsyncIterator[bytes]:
    """The body, read in a session of its own: the request's session is closed once the handler
    returns, before the first byte streams."""
    runtime = request.app.state.runtime
    tenant_id = request.state.tenant.id

    async def body() -> AsyncIterator[bytes]:
        async with runtime.db.session(tenant_id=tenant_id) as session:
            async for chunk in make(session):
                yield chunk

    return body()


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")


FILTER_DOC = ("Filters as in the contact list: q, type, tag, owner_id, segment and cf.<key>=<value>; the caller's "
              "read scope applies. The rows come in the list's order (sort, as in the list: name, created_at or "
              "cf.<key>, contacts without a value last, - for descending).")
QueryQ = Annotated[str | None, Query(max_length=100, description="Start of a name, e-mail or phone number")]
QueryType = Annotated[str | None, Query(pattern="^(person|organization)$")]
QueryTag = Annotated[uuid.UUID | None, Query(description="A tag id")]
QuerySegment = Annotated[uuid.UUID | None, Query(description="A segment id: only contacts it matches")]
QuerySort = Annotated[str, Query(max_length=70, description="name, created_at or cf.<key>; prefix - for descending")]


@router.get("/export.csv", summary="Export the (filtered) contacts as CSV", description=FILTER_DOC,
            response_class=StreamingResponse, responses={200: {"content": {"text/csv": {}}}})
async def export_csv(request: Request, db: DbDep, access: ReadAccess, q: QueryQ = None, type: QueryType = None,
                     tag: QueryTag = None, owner_id: uuid.UUID | None = None,
                     segment: QuerySegment = None, sort: QuerySort = "name") -> StreamingResponse:
    stmt = await _export_stmt(request, db, access, q, type, tag, owner_id, segment, sort)
    return StreamingResponse(_streamed(request, lambda s: transfer.csv_chunks(s, stmt)),
                             media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="kontakte-{_stamp()}.csv"'})


@router.get("/export.xlsx", summary="Export the (filtered) contacts as an Excel workbook", description=FILTER_DOC,
            response_class=StreamingResponse, responses={200: {"content": {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}})
async def export_xlsx(request: Request, db: DbDep, access: ReadAccess, q: QueryQ = None, type: QueryType = None,
                      tag: QueryTag = None, owner_id: uuid.UUID | None = None,
                      segment: QuerySegment = None, sort: QuerySort = "name") -> StreamingResponse:
    stmt = await _export_stmt(request, db, access, q, type, tag, owner_id, segment, sort)
    tmp = _data_dir(request) / "tmp"
    return StreamingResponse(
        _streamed(request, lambda s: transfer.xlsx_chunks(s, stmt, tmp)),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="kontakte-{_stamp()}.xlsx"'})


@router.get("/export.vcf", summary="Export the (filtered) contacts as vCards", description=FILTER_DOC,
            response_class=StreamingResponse, responses={200: {"content": {"text/vcard": {}}}})
async def export_vcf(request: Request, db: DbDep, access: ReadAccess, q: QueryQ = None, type: QueryType = None,
                     tag: QueryTag = None, owner_id: uuid.UUID | None = None,
                     segment: QuerySegment = None, sort: QuerySort = "name",
                     version: Annotated[Literal["3.0", "4.0"], Query(description="vCard version")] = "4.0") \
        -> StreamingResponse:
    stmt = await _export_stmt(request, db, access, q, type, tag, owner_id, segment, sort)
    return StreamingResponse(_streamed(request, lambda s: transfer.vcard_chunks(s, stmt, version)),
                             media_type="text/vcard; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="kontakte-{_stamp()}.vcf"'})
