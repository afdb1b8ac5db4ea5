"""Import files do not linger: the daily cleanup deletes the files of imports that ended (or were
abandoned) longer ago than the company's retention period, keeps the records and their counts, and the
error report then answers 410 import_files_expired; each company by its own setting, running imports never."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from xynap.core.db import utcnow
from xynap.core.jobs import Worker, enqueue, schedule_decls
from xynap.shared.contacts import jobs, transfer
from xynap.shared.contacts.import_models import ContactImport

BASE = "/api/contacts"
CSV_FILE = Path(__file__).parent / "data" / "contacts_import.csv"


async def upload(session: Any) -> str:
    resp = await session.post(f"{BASE}/imports", files={"file": ("kontakte.csv", CSV_FILE.read_bytes(), "text/csv")})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


async def run_jobs(runtime: Any, name: str) -> None:
    worker = Worker(runtime, names=[name], concurrency=1)
    while await worker.run_once():
        pass


async def run_cleanup(runtime: Any) -> None:
    async with runtime.db.platform_session() as session:  # as the scheduler enqueues it: a platform job
        await enqueue(session, jobs.CLEANUP_JOB, {})
    await run_jobs(runtime, jobs.CLEANUP_JOB)


async def age(runtime: Any, tenant_id: uuid.UUID, import_id: str, days: int, **values: Any) -> None:
    """Move an import's end and last change ``days`` into the past."""
    when = utcnow() - dt.timedelta(days=days)
    async with runtime.db.tenant_session(tenant_id) as session:
        result = await session.execute(update(ContactImport).where(ContactImport.id == uuid.UUID(import_id))
                                       .values(updated_at=when, created_at=when, **values))
        assert result.rowcount == 1


def files_of(runtime: Any, tenant_id: uuid.UUID, import_id: str) -> transfer.ImportFiles:
    return transfer.ImportFiles.of(runtime.settings.data_dir, tenant_id, uuid.UUID(import_id))


@pytest.fixture
async def company(factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    return tenant, admin


async def finished_import(admin: Any, runtime: Any) -> str:
    """An import that ran: valid rows imported, the bad ones in the error report file."""
    import_id = await upload(admin)
    resp = await admin.post(f"{BASE}/imports/{import_id}/run", json={"skip_invalid": True})
    assert resp.status_code == 202, resp.text
    await run_jobs(runtime, "contacts.import")
    assert (await admin.get(f"{BASE}/imports/{import_id}")).json()["status"] == "succeeded"
    return import_id


async def test_the_cleanup_is_declared_daily_with_a_setting_of_30_days(company, runtime):
    tenant, admin = company
    schedules = {s.name: s for s in schedule_decls(runtime)}
    assert schedules["contacts.imports.cleanup.daily"].job == jobs.CLEANUP_JOB
    settings = {s["key"]: s for s in (await admin.get("/api/settings")).json()}
    assert settings[jobs.RETENTION_KEY]["default"] == 30 and settings[jobs.RETENTION_KEY]["type"] == "int"


async def test_old_files_go_the_record_stays_and_the_report_says_so(company, runtime):
    tenant, admin = company
    old_done = await finished_import(admin, runtime)
    recent_done = await finished_import(admin, runtime)
    abandoned = await upload(admin)
    resp = await admin.post(f"{BASE}/imports/{abandoned}/validate", json={})  # a dry run writes a report file
    assert resp.status_code == 200 and resp.json()["invalid_rows"] > 0
    fresh = await upload(admin)
    queued = await upload(admin)
    before = (await admin.get(f"{BASE}/imports/{old_done}")).json()
    assert files_of(runtime, tenant.id, old_done).errors.exists()
    assert files_of(runtime, tenant.id, abandoned).errors.exists()

    await age(runtime, tenant.id, old_done, 31, finished_at=utcnow() - dt.timedelta(days=31))
    await age(runtime, tenant.id, recent_done, 29, finished_at=utcnow() - dt.timedelta(days=29))
    await age(runtime, tenant.id, abandoned, 31)
    await age(runtime, tenant.id, queued, 90, status="queued")  # waiting for a worker: never touched
    await run_cleanup(runtime)

    for gone in (old_done, abandoned):
        files = files_of(runtime, tenant.id, gone)
        assert not files.source.exists() and not files.errors.exists() and not files.spool.exists()
        read = (await admin.get(f"{BASE}/imports/{gone}")).json()
        assert read["files_removed_at"] is not None
    for kept in (recent_done, fresh, queued):
        assert files_of(runtime, tenant.id, kept).source.exists()
        assert (await admin.get(f"{BASE}/imports/{kept}")).json()["files_removed_at"] is None
    assert files_of(runtime, tenant.id, recent_done).errors.exists()

    # the record and its counts stay, and the list still shows it
    after = (await admin.get(f"{BASE}/imports/{old_done}")).json()
    for key in ("status", "total_rows", "valid_rows", "invalid_rows", "imported_rows", "errors", "filename"):
        assert after[key] == before[key], key
    assert after["preview"] == []
    listed = {i["id"]: i for i in (await admin.get(f"{BASE}/imports")).json()}
    assert listed[old_done]["files_removed_at"] is not None

    # the error report: a clear 410, not a 5xx and not a silently shortened report
    for params in ({}, {"format": "csv"}):
        resp = await admin.get(f"{BASE}/imports/{old_done}/errors", params=params)
        assert resp.status_code == 410, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["code"] == "import_files_expired"
    resp = await admin.get(f"{BASE}/imports/{recent_done}/errors", params={"format": "csv"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    # an abandoned upload can be neither checked nor run any more
    for action, body in (("validate", {}), ("run", {"skip_invalid": True})):
        resp = await admin.post(f"{BASE}/imports/{abandoned}/{action}", json=body)
        assert resp.status_code == 410 and resp.json()["code"] == "import_files_expired", resp.text
    # deleting the record still works
    assert (await admin.delete(f"{BASE}/imports/{old_done}")).status_code == 204

    # a second run changes nothing (idempotent): the marks keep their time
    async with runtime.db.tenant_session(tenant.id) as session:
        marked = await session.scalar(select(ContactImport.files_removed_at)
                                      .where(ContactImport.id == uuid.UUID(abandoned)))
    await run_cleanup(runtime)
    async with runtime.db.tenant_session(tenant.id) as session:
        assert await session.scalar(select(ContactImport.files_removed_at)
                                    .where(ContactImport.id == uuid.UUID(abandoned))) == marked


async def test_each_company_keeps_files_as_long_as_its_setting_says(company, factory, runtime):
    tenant, admin = company
    other = await factory.tenant(modules=("example",))
    other_admin = await factory.member(other, "admin")
    resp = await other_admin.put(f"/api/settings/{jobs.RETENTION_KEY}", json={"value": 60})
    assert resp.status_code == 200, resp.text
    ours = await finished_import(admin, runtime)
    theirs = await finished_import(other_admin, runtime)
    theirs_older = await finished_import(other_admin, runtime)
    for tenant_id, import_id, days in ((tenant.id, ours, 45), (other.id, theirs, 45), (other.id, theirs_older, 61)):
        await age(runtime, tenant_id, import_id, days, finished_at=utcnow() - dt.timedelta(days=days))
    await run_cleanup(runtime)
    assert not files_of(runtime, tenant.id, ours).source.exists()  # 45 > 30 days
    assert files_of(runtime, other.id, theirs).source.exists()  # 45 < 60 days
    assert not files_of(runtime, other.id, theirs_older).source.exists()
    assert (await other_admin.get(f"{BASE}/imports/{theirs}/errors")).status_code == 200
    assert (await other_admin.get(f"{BASE}/imports/{theirs_older}/errors")).status_code == 410
    # a shorter period applies at the next run; an unusable value (0) falls back to 30 days
    resp = await other_admin.put(f"/api/settings/{jobs.RETENTION_KEY}", json={"value": 40})
    assert resp.status_code == 200
    await run_cleanup(runtime)
    assert not files_of(runtime, other.id, theirs).source.exists()
    async with runtime.db.tenant_session(tenant.id) as session:
        assert await jobs.retention_days(session) == 30
    resp = await admin.put(f"/api/settings/{jobs.RETENTION_KEY}", json={"value": 0})
    assert resp.status_code == 200
    async with runtime.db.tenant_session(tenant.id) as session:
        assert await jobs.retention_days(session) == 30


async def test_the_cleanup_of_one_tenant_session_sees_only_that_company(company, factory, runtime):
    tenant, admin = company
    other = await factory.tenant(modules=("example",))
    other_admin = await factory.member(other, "admin")
    ours = await finished_import(admin, runtime)
    theirs = await finished_import(other_admin, runtime)
    for tenant_id, import_id in ((tenant.id, ours), (other.id, theirs)):
        await age(runtime, tenant_id, import_id, 100, finished_at=utcnow() - dt.timedelta(days=100))
    async with runtime.db.tenant_session(tenant.id) as session:
        assert await jobs.remove_expired_files(session, runtime.settings.data_dir) == 1
    assert not files_of(runtime, tenant.id, ours).source.exists()
    assert files_of(runtime, other.id, theirs).source.exists()
    assert (await other_admin.get(f"{BASE}/imports/{theirs}")).json()["files_removed_at"] is None
