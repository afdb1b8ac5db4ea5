"""The background jobs of a tenant: list, inspect (status, progress, result, error) and retry dead ones.

The request's session sees only the caller's tenant's jobs; no handler filters by tenant itself.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from xynap.core.audit import audit
from xynap.core.errors import NotFound
from xynap.core.jobs import retry_job
from xynap.core.kernel_models import Job
from xynap.core.pagination import Page, paginate
from xynap.platform.auth.deps import DbDep, require

router = APIRouter(tags=["jobs"])

JobStatus = Literal["queued", "running", "succeeded", "dead"]


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    status: str
    attempts: int
    max_attempts: int
    run_at: dt.datetime
    progress: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    last_error: str | None = None
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


@router.get("/api/jobs", response_model=Page[JobRead], summary="Background jobs, newest first",
            dependencies=[require("jobs:read")])
async def list_jobs(
    db: DbDep,
    status: JobStatus | None = None,
    name: str | None = Query(default=None, max_length=100),
    limit: int = 50,
    cursor: str | None = None,
) -> Page[JobRead]:
    stmt = select(Job)
    if status is not None:
        stmt = stmt.where(Job.status == status)
    if name is not None:
        stmt = stmt.where(Job.name == name)
    rows, next_cursor = await paginate(db, stmt, model=Job, sort="-created_at",
                                       sortable={"created_at": Job.created_at}, limit=limit, cursor=cursor)
    return Page[JobRead](items=[JobRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/api/jobs/{job_id}", response_model=JobRead, summary="One job with its progress and outcome",
            dependencies=[require("jobs:read")])
async def get_job(job_id: uuid.UUID, db: DbDep) -> JobRead:
    job = await db.scalar(select(Job).where(Job.id == job_id))
    if job is None:
        raise NotFound("No such job.", code="not_found")
    return JobRead.model_validate(job)


@router.post("/api/jobs/{job_id}/retry", response_model=JobRead, summary="Queue a dead job again",
             dependencies=[require("jobs:manage")])
async def retry(job_id: uuid.UUID, request: Request, db: DbDep) -> JobRead:
    """Only ``dead`` jobs can be retried (409 ``job_not_dead`` otherwise); attempts start from zero."""
    job = await retry_job(db, job_id)
    audit(db, "job.retry", request=request, entity_type="job", entity_id=job.id, tenant_id=job.tenant_id,
          changes={"name": job.name})
    return JobRead.model_validate(job)
