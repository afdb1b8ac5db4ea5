"""The job queue: enqueue in the caller's transaction, workers with leases, retries, cron, the API.

Every test registers its own handlers under unique names and restricts its workers to those
names (``Worker(names=...)``), so tests never run each other's jobs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from xynap.core.db import utcnow
from xynap.core.jobs import (
    JobContext,
    Scheduler,
    Worker,
    enqueue,
    register_job,
    retry_job,
    run_worker_process,
    start_jobs,
    sync_schedules,
)
from xynap.core.kernel_models import Job, JobSchedule
from xynap.core.modules import JobDecl, Module, ModuleRegistry, ScheduleDecl

ROOT = Path(__file__).resolve().parents[2]
CRASH_WORKER = Path(__file__).with_name("jobs_crash_worker.py")


def job_name(label: str) -> str:
    return f"test.{label}.{uuid.uuid4().hex[:10]}"


def handler(name: str, fn: Callable[[JobContext], Awaitable[Any]], max_attempts: int = 5) -> str:
    register_job(JobDecl(name, fn, max_attempts=max_attempts))
    return name


async def load(runtime, job_id: uuid.UUID) -> Job:
    async with runtime.db.session(platform=True) as session:
        job = await session.scalar(select(Job).where(Job.id == job_id))
    assert job is not None
    return job


async def set_job(runtime, job_id: uuid.UUID, **values: Any) -> None:
    async with runtime.db.platform_session() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(**values),
                              execution_options={"synchronize_session": False})


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60.0) -> None:
    """Poll ``check`` until it holds (bounded); the bound only guards against hanging forever."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def tenant(factory):
    return await factory.tenant()


@pytest.fixture
def jobs_api(app):
    """The app with the jobs router (mounted here too in case platform_routers() does not list it)."""
    from xynap.platform.jobs.api import router
    from xynap.platform.routers import platform_routers

    if router not in platform_routers():
        app.include_router(router)
    return app


# --- enqueue and run -------------------------------------------------------------------------------


async def test_enqueue_in_tenant_session_runs_with_a_session_bound_to_the_tenant(runtime, tenant, factory):
    other = await factory.tenant()
    seen: dict[str, Any] = {}
    child = job_name("child")

    async def run(ctx: JobContext) -> dict:
        seen["tenant_id"] = ctx.tenant_id
        seen["session_tenant"] = ctx.session.sync_session.info.get("tenant_id")
        seen["attempt"] = ctx.attempt
        seen["visible_tenants"] = set(await ctx.session.scalars(select(Job.tenant_id)))
        await enqueue(ctx.session, child, {"parent": str(ctx.job_id)})  # committed with the handler's session
        return {"sum": ctx.payload["a"] + ctx.payload["b"]}

    name = handler(job_name("add"), run)
    async with runtime.db.tenant_session(other.id) as session:
        await enqueue(session, job_name("noise"))
    async with runtime.db.tenant_session(tenant.id) as session:
        job = await enqueue(session, name, {"a": 2, "b": 3})
        assert job.tenant_id == tenant.id and job.status == "queued"

    worker = Worker(runtime, "w-basic", concurrency=2, names=[name])
    assert await worker.run_once() == 1

    done = await load(runtime, job.id)
    assert done.status == "succeeded"
    assert done.result == {"sum": 5}
    assert done.attempts == 1 and done.finished_at is not None and done.locked_by is None
    assert seen["tenant_id"] == tenant.id and seen["session_tenant"] == tenant.id and seen["attempt"] == 1
    assert seen["visible_tenants"] == {tenant.id}
    async with runtime.db.session(platform=True) as session:
        children = (await session.scalars(select(Job).where(Job.name == child))).all()
    assert [(c.tenant_id, c.payload) for c in children] == [(tenant.id, {"parent": str(job.id)})]
    assert await worker.run_once() == 0


async def test_a_rolled_back_enqueue_leaves_no_job_and_a_commit_wakes_workers(runtime, tenant):
    name = job_name("wake")
    worker = Worker(runtime, "w-wake", names=[name])
    worker._event.clear()
    async with runtime.db.session(tenant_id=tenant.id) as session:
        job = await enqueue(session, name)
        await session.rollback()
    assert not worker._event.is_set()
    async with runtime.db.session(platform=True) as session:
        assert await session.scalar(select(Job).where(Job.id == job.id)) is None

    async with runtime.db.tenant_session(tenant.id) as session:
        await enqueue(session, name)
        assert not worker._event.is_set()  # not before the commit
    assert worker._event.is_set()


async def test_dedupe_key_makes_a_second_enqueue_a_no_op(runtime, tenant):
    name = job_name("dedupe")
    key = f"dedupe:{uuid.uuid4()}"
    async with runtime.db.tenant_session(tenant.id) as session:
        first = await enqueue(session, name, {"n": 1}, dedupe_key=key)
        same_tx = await enqueue(session, name, {"n": 2}, dedupe_key=key)
    async with runtime.db.tenant_session(tenant.id) as session:
        later = await enqueue(session, name, {"n": 3}, dedupe_key=key)
    assert first.id == same_tx.id == later.id
    async with runtime.db.session(platform=True) as session:
        count = await session.scalar(select(func.count()).select_from(Job).where(Job.dedupe_key == key))
    assert count == 1


# --- failures, backoff, dead letters ---------------------------------------------------------------


def test_backoff_doubles_with_jitter_and_is_capped(runtime):
    worker = Worker(runtime, "w-backoff-calc")
    for attempt, base in ((1, 2), (2, 4), (3, 8), (6, 64)):
        for _ in range(20):
            assert base * 0.9 <= worker.backoff(attempt) <= base * 1.1
    assert all(worker.backoff(40) <= 3600 for _ in range(50))
    assert all(worker.backoff(40) >= 3600 * 0.9 for _ in range(50))


async def test_failures_retry_with_backoff_then_die_and_retry_job_requeues(runtime, tenant):
    state = {"fail": True, "calls": 0}
    side = job_name("side-effect")

    async def flaky(ctx: JobContext) -> dict:
        state["calls"] += 1
        await enqueue(ctx.session, side)  # must be rolled back with the failed attempt
        if state["fail"]:
            raise RuntimeError(f"boom #{ctx.attempt}")
        return {"attempt": ctx.attempt}

    name = handler(job_name("flaky"), flaky, max_attempts=3)
    async with runtime.db.tenant_session(tenant.id) as session:
        job = await enqueue(session, name)
    assert job.max_attempts == 3  # from the declaration
    worker = Worker(runtime, "w-flaky", backoff_base=50.0, names=[name])

    before = utcnow()
    assert await worker.run_once() == 1
    first = await load(runtime, job.id)
    assert first.status == "queued" and first.attempts == 1
    assert "RuntimeError: boom #1" in first.last_error and "Traceback" in first.last_error
    assert before + dt.timedelta(seconds=45) <= first.run_at <= utcnow() + dt.timedelta(seconds=55)
    assert await worker.run_once() == 0  # not due before its backoff

    await set_job(runtime, job.id, run_at=utcnow() - dt.timedelta(seconds=1))
    before = utcnow()
    assert await worker.run_once() == 1
    second = await load(runtime, job.id)
    assert second.status == "queued" and second.attempts == 2 and "boom #2" in second.last_error
    assert before + dt.timedelta(seconds=90) <= second.run_at <= utcnow() + dt.timedelta(seconds=110)

    await set_job(runtime, job.id, run_at=utcnow() - dt.timedelta(seconds=1))
    assert await worker.run_once() == 1
    dead = await load(runtime, job.id)
    assert dead.status == "dead" and dead.attempts == 3 and dead.finished_at is not None
    assert "boom #3" in dead.last_error
    assert await worker.run_once() == 0
    async with runtime.db.session(platform=True) as session:
        assert await session.scalar(select(func.count()).select_from(Job).where(Job.name == side)) == 0

    # a dead job comes back with retry_job, in the tenant's own session
    async with runtime.db.tenant_session(tenant.id) as session:
        again = await retry_job(session, job.id)
        assert again.status == "queued" and again.attempts == 0
    state["fail"] = False
    assert await worker.run_once() == 1
    ok = await load(runtime, job.id)
    assert ok.status == "succeeded" and ok.result == {"attempt": 1} and state["calls"] == 4
    async with runtime.db.session(platform=True) as session:
        assert await session.scalar(select(func.count()).select_from(Job).where(Job.name == side)) == 1


async def test_retry_job_refuses_jobs_that_are_not_dead_or_not_visible(runtime, tenant, factory):
    from xynap.core.errors import Conflict, NotFound

    other = await factory.tenant()
    async with runtime.db.tenant_session(tenant.id) as session:
        job = await enqueue(session, job_name("alive"))
    async with runtime.db.session(tenant_id=tenant.id) as session:
        with pytest.raises(Conflict) as exc:
            await retry_job(session, job.id)
        assert exc.value.code == "job_not_dead"
    await set_job(runtime, job.id, status="dead")
    async with runtime.db.session(tenant_id=other.id) as session:
        with pytest.raises(NotFound):
            await retry_job(session, job.id)


async def test_unknown_job_name_goes_dead_with_a_clear_error(runtime):
    name = job_name("nobody-handles-me")
    async with runtime.db.platform_session() as session:
        job = await enqueue(session, name)
    assert job.tenant_id is None
    assert await Worker(runtime, "w-unknown", names=[name]).run_once() == 1
    dead = await load(runtime, job.id)
    assert dead.status == "dead"
    assert "no handler is registered" in dead.last_error and name in dead.last_error


# --- progress, leases -----------------------------------------------------------------------------


async def test_progress_is_visible_while_the_job_runs(runtime, tenant):
    reported, release = asyncio.Event(), asyncio.Event()

    async def long(ctx: JobContext) -> dict:
        await ctx.report_progress(1, 3, "first third")
        reported.set()
        await release.wait()
        await ctx.report_progress(3, 3)
        return {"ok": True}

    name = handler(job_name("progress"), long)
    async with runtime.db.tenant_session(tenant.id) as session:
        job = await enqueue(session, name)
    run = asyncio.create_task(Worker(runtime, "w-progress", names=[name]).run_once())
    try:
        await asyncio.wait_for(reported.wait(), 60)
        running = await load(runtime, job.id)
        assert running.status == "running" and running.locked_by == "w-progress"
        assert running.progress["done"] == 1 and running.progress["total"] == 3
        assert running.progress["message"] == "first third" and running.progress["percent"] == 33.3
    finally:
        release.set()
    assert await run == 1
    done = await load(runtime, job.id)
    assert done.status == "succeeded" and done.progress["done"] == 3 and done.progress["percent"] == 100.0


async def test_progress_from_a_handler_with_uncommitted_writes_does_not_block(runtime, tenant):
    """On SQLite the handler's own open write transaction is the single writer: the progress waits
    for the outcome instead of deadlocking; PostgreSQL writes it at once."""
    reported, release = asyncio.Event(), asyncio.Event()
    child = job_name("progress-child")

    async def writer(ctx: JobContext) -> dict:
        await enqueue(ctx.session, child)  # an uncommitted write in the handler's transaction
        await ctx.report_progress(1, 2, "half")
        reported.set()
        await release.wait()
        await ctx.report_progress(2, 2, "all")
        return {"ok": True}

    name = handler(job_name("progress-writer"), writer)
    async with runtime.db.tenant_session(tenant.id) as session:
        job = await enqueue(session, name)
    run = asyncio.create_task(Worker(runtime, "w-progress-writer", names=[name]).run_once())
    try:
        await asyncio.wait_for(reported.wait(), 60)
        running = await load(runtime, job.id)
        if runtime.db.dialect == "postgresql":
            assert running.progress["done"] == 1
        else:
            assert running.progress is None
    finally:
        release.set()
    assert await run == 1
    done = await load(runtime, job.id)
    assert done.status == "succeeded" and done.progress["done"] == 2 and done.progress["message"] == "all"
    async with runtime.db.session(platform=True) as session:
        assert await session.scalar(select(func.count()).select_from(Job).where(Job.name == child)) == 1


async def test_an_expired_lease_is_reclaimed_and_a_live_one_is_not(runtime, tenant):
    async def run(ctx: JobContext) -> dict:
        return {"attempt": ctx.attempt, "worker": ctx.worker_id}

    name = handler(job_name("lease"), run)
    async with runtime.db.tenant_session(tenant.id) as session:
        job = await enqueue(session, name)
    # a worker claimed it and is alive (lease in the future): nobody else may take it
    await set_job(runtime, job.id, status="running", attempts=1, locked_by="ghost",
                  locked_until=utcnow() + dt.timedelta(hours=1))
    worker = Worker(runtime, "w-rescue", names=[name])
    assert await worker.run_once() == 0
    # ... then the worker died and its lease ran out
    await set_job(runtime, job.id, locked_until=utcnow() - dt.timedelta(seconds=1))
    assert await worker.run_once() == 1
    done = await load(runtime, job.id)
    assert done.status == "succeeded" and done.attempts == 2
    assert done.result == {"attempt": 2, "worker": "w-rescue"}


async def test_heartbeat_extends_the_lease_of_a_running_job(runtime, tenant):
    started, release = asyncio.Event(), asyncio.Event()

    async def long(ctx: JobContext) -> None:
        started.set()
        await release.wait()

    name = handler(job_name("heartbeat"), long)
    async with runtime.db.tenant_session(tenant.id) as session:
        job = await enqueue(session, name)
    run = asyncio.create_task(Worker(runtime, "w-heart", lease_seconds=0.6, names=[name]).run_once())
    try:
        await asyncio.wait_for(started.wait(), 60)
        first = (await load(runtime, job.id)).locked_until

        async def extended() -> bool:
            return (await load(runtime, job.id)).locked_until > first

        await eventually(extended, "the lease to be extended")
    finally:
        release.set()
    assert await run == 1
    assert (await load(runtime, job.id)).status == "succeeded"


# --- many workers ----------------------------------------------------------------------------------


async def test_a_claim_takes_at_most_its_limit(runtime, tenant):
    name = job_name("limit")
    async with runtime.db.tenant_session(tenant.id) as session:
        ids = {(await enqueue(session, name, {"n": n})).id for n in range(10)}
    worker = Worker(runtime, "w-limit", names=[name])
    first = await worker.claim(4)
    rest = await worker.claim(100)
    assert (len(first), len(rest)) == (4, 6)
    first_ids, rest_ids = {j.id for j in first}, {j.id for j in rest}
    assert first_ids | rest_ids == ids and not first_ids & rest_ids
    assert await worker.claim(4) == []
    async with runtime.db.session(platform=True) as session:
        rows = (await session.scalars(select(Job).where(Job.name == name))).all()
    assert {(r.status, r.attempts, r.locked_by) for r in rows} == {("running", 1, "w-limit")}
    async with runtime.db.platform_session() as session:
        await session.execute(update(Job).where(Job.name == name).values(status="succeeded"))


async def test_three_workers_run_each_of_60_jobs_exactly_once(runtime, tenant, factory):
    other = await factory.tenant()
    runs: list[uuid.UUID] = []

    async def record(ctx: JobContext) -> dict:
        runs.append(ctx.job_id)
        await asyncio.sleep(0.001 * (ctx.payload["n"] % 5))
        return {"n": ctx.payload["n"], "by": ctx.worker_id}

    name = handler(job_name("many"), record)
    ids = []
    for tid in (tenant.id, other.id):
        async with runtime.db.tenant_session(tid) as session:
            for n in range(30):
                ids.append((await enqueue(session, name, {"n": n})).id)

    workers = [Worker(runtime, f"w-many-{i}", concurrency=4, poll_interval=0.05, names=[name])
               for i in range(3)]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run_forever(stop)) for w in workers]

    async def all_done() -> bool:
        async with runtime.db.session(platform=True) as session:
            n = await session.scalar(select(func.count()).select_from(Job)
                                     .where(Job.name == name, Job.status == "succeeded"))
        return n == 60

    try:
        await eventually(all_done, "all 60 jobs to succeed", timeout=120)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    assert len(runs) == 60 and set(runs) == set(ids)
    async with runtime.db.session(platform=True) as session:
        rows = (await session.scalars(select(Job).where(Job.name == name))).all()
    assert {r.attempts for r in rows} == {1}
    assert {r.result["by"] for r in rows} <= {w.worker_id for w in workers}


# --- cron ------------------------------------------------------------------------------------------


def _runtime_with_module(runtime, *schedules: ScheduleDecl, jobs: tuple[JobDecl, ...] = ()):
    """The test runtime: the installed modules plus a test module with ``schedules`` and ``jobs``."""
    module = Module(slug=f"jobtest{uuid.uuid4().hex[:6]}", name="Job test", schedules=list(schedules),
                    jobs=list(jobs))
    installed = [(m, "installed") for m in runtime.registry.enabled()]
    return dataclasses.replace(runtime, registry=ModuleRegistry([*installed, (module, "test")]), extras={})


async def _schedule(runtime, name: str) -> JobSchedule | None:
    async with runtime.db.session(platform=True) as session:
        return await session.scalar(select(JobSchedule).where(JobSchedule.name == name))


async def test_sync_schedules_upserts_recomputes_skips_invalid_and_deactivates(runtime, caplog):
    good, bad = job_name("cron-good"), job_name("cron-bad")
    target = job_name("cron-target")
    rt = _runtime_with_module(runtime, ScheduleDecl(good, "*/5 * * * *", target, {"k": 1}),
                              ScheduleDecl(bad, "every tuesday", target))
    from xynap.core.jobs import _KERNEL_SCHEDULES

    installed = sum(len(m.schedules) for m in runtime.registry.enabled()) + len(_KERNEL_SCHEDULES)
    assert await sync_schedules(rt) == installed + 1
    assert "invalid cron expression" in caplog.text and bad in caplog.text
    assert await _schedule(runtime, bad) is None
    row = await _schedule(runtime, good)
    assert row.is_active and row.cron == "*/5 * * * *" and row.job_name == target and row.payload == {"k": 1}
    assert utcnow() < row.next_run_at <= utcnow() + dt.timedelta(minutes=5)
    assert row.next_run_at.minute % 5 == 0

    # unchanged expression: next_run_at stays as it is
    far = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    async with runtime.db.platform_session() as session:
        await session.execute(update(JobSchedule).where(JobSchedule.name == good).values(next_run_at=far))
    await sync_schedules(rt)
    assert (await _schedule(runtime, good)).next_run_at == far

    # a new expression recomputes it
    rt2 = _runtime_with_module(runtime, ScheduleDecl(good, "30 3 * * *", target, {"k": 2}))
    await sync_schedules(rt2)
    row = await _schedule(runtime, good)
    assert row.cron == "30 3 * * *" and row.payload == {"k": 2}
    assert row.next_run_at < far and (row.next_run_at.hour, row.next_run_at.minute) == (3, 30)

    # no longer declared: deactivated, and a scheduler leaves it alone
    await sync_schedules(_runtime_with_module(runtime))
    assert (await _schedule(runtime, good)).is_active is False


async def test_two_schedulers_enqueue_one_job_per_slot(runtime):
    seen: list[JobContext] = []

    async def nightly(ctx: JobContext) -> dict:
        seen.append(ctx)
        return {"payload": ctx.payload}

    target = handler(job_name("cron-job"), nightly)
    name = job_name("cron-slot")
    slot = utcnow() - dt.timedelta(minutes=7)
    async with runtime.db.platform_session() as session:
        session.add(JobSchedule(name=name, cron="*/5 * * * *", job_name=target, payload={"report": "daily"},
                                next_run_at=slot, is_active=True))

    s1, s2 = Scheduler(runtime), Scheduler(runtime)
    counts = await asyncio.gather(s1.tick(), s2.tick())
    assert sum(counts) >= 1
    async with runtime.db.session(platform=True) as session:
        jobs = (await session.scalars(select(Job).where(Job.dedupe_key.like(f"cron:{name}:%")))).all()
    assert len(jobs) == 1
    assert jobs[0].dedupe_key == f"cron:{name}:{slot.isoformat()}"
    assert jobs[0].name == target and jobs[0].tenant_id is None and jobs[0].payload == {"report": "daily"}
    row = await _schedule(runtime, name)
    assert row.next_run_at > utcnow() and row.next_run_at.minute % 5 == 0 and row.last_run_at is not None

    await asyncio.gather(s1.tick(), s2.tick())  # nothing due any more
    async with runtime.db.session(platform=True) as session:
        assert await session.scalar(select(func.count()).select_from(Job)
                                    .where(Job.dedupe_key.like(f"cron:{name}:%"))) == 1

    assert await Worker(runtime, "w-cron", names=[target]).run_once() == 1
    assert seen[0].tenant_id is None and seen[0].session.sync_session.info["platform"] is True
    assert (await load(runtime, jobs[0].id)).status == "succeeded"


# --- process wiring ---------------------------------------------------------------------------------


async def test_start_jobs_runs_jobs_in_the_background_and_the_stopper_waits_for_them(runtime, tenant):
    started = asyncio.Event()
    finished: list[uuid.UUID] = []

    async def slowish(ctx: JobContext) -> dict:
        started.set()
        await asyncio.sleep(0.2)
        finished.append(ctx.job_id)
        return {"ok": True}

    name = handler(job_name("background"), slowish)
    rt = dataclasses.replace(runtime, extras={})
    await start_jobs(rt, run_worker=True)
    assert name in rt.extras["job_registry"]
    tasks = list(rt.extras["tasks"])
    assert len(tasks) == 2 and len(rt.extras["stoppers"]) == 1
    try:
        async with rt.db.tenant_session(tenant.id) as session:
            job = await enqueue(session, name)
        await asyncio.wait_for(started.wait(), 60)
    finally:
        for stop in rt.extras["stoppers"]:
            await stop()
    assert finished == [job.id]  # the stopper let the running job finish
    assert (await load(runtime, job.id)).status == "succeeded"
    assert all(t.done() for t in tasks)


async def test_module_jobs_run_and_start_jobs_without_worker_starts_nothing(runtime, tenant):
    async def count(ctx: JobContext) -> dict:
        return {"tenant": str(ctx.tenant_id), "attempts_allowed": ctx.max_attempts}

    module_job = JobDecl(job_name("module-job"), count, max_attempts=2)
    rt = _runtime_with_module(runtime, jobs=(module_job,))
    await start_jobs(rt, run_worker=False)
    assert rt.extras["job_registry"][module_job.name] is module_job
    assert "tasks" not in rt.extras and "stoppers" not in rt.extras

    async with rt.db.tenant_session(tenant.id) as session:
        job = await enqueue(session, module_job.name)
    assert job.max_attempts == 2  # the module's declaration
    assert await Worker(rt, "w-module", names=[module_job.name]).run_once() == 1
    done = await load(runtime, job.id)
    assert done.status == "succeeded" and done.result == {"tenant": str(tenant.id), "attempts_allowed": 2}


async def test_run_worker_process_runs_until_sigterm(runtime, tenant):
    ran = asyncio.Event()

    async def run(ctx: JobContext) -> None:
        ran.set()

    name = handler(job_name("process"), run)
    rt = dataclasses.replace(runtime, extras={})
    proc = asyncio.create_task(run_worker_process(rt))
    try:
        async with rt.db.tenant_session(tenant.id) as session:
            job = await enqueue(session, name)
        await asyncio.wait_for(ran.wait(), 60)  # the worker runs, so its signal handlers are installed
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(proc, 60)
    finally:
        if not proc.done():
            proc.cancel()

    async def succeeded() -> bool:
        return (await load(runtime, job.id)).status == "succeeded"

    await eventually(succeeded, "the job to succeed")


def _spawn_worker(name: str, worker_id: str, lease_seconds: float, log_path: Path) -> subprocess.Popen[bytes]:
    """A worker in its own process, configured by the XYNAP_* environment of this test session."""
    with open(log_path, "wb") as log_file:
        return subprocess.Popen([sys.executable, str(CRASH_WORKER), name, worker_id, str(lease_seconds)],
                                cwd=ROOT, env=dict(os.environ), stdout=log_file, stderr=subprocess.STDOUT)


async def test_a_killed_worker_loses_no_job(runtime, tenant, data_dir):
    async def finish(ctx: JobContext) -> dict:
        return {"finished_by": ctx.worker_id, "attempt": ctx.attempt}

    name = handler(job_name("crash"), finish)
    async with runtime.db.tenant_session(tenant.id) as session:
        job = await enqueue(session, name, {"important": True})

    log_path = data_dir / f"crash-worker-{uuid.uuid4().hex[:6]}.log"
    proc = _spawn_worker(name, "doomed-worker", 1.5, log_path)
    try:
        async def running_in_doomed_worker() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"the worker process exited early:\n{log_path.read_text()}")
            j = await load(runtime, job.id)
            return j.status == "running" and j.locked_by == "doomed-worker" and j.progress is not None

        await eventually(running_in_doomed_worker, "the subprocess to start the job", timeout=120)
    finally:
        proc.kill()  # SIGKILL: no cleanup, no hand-back
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    crashed = await load(runtime, job.id)
    assert crashed.status == "running" and crashed.attempts == 1

    rescuer = Worker(runtime, "rescuer", concurrency=1, poll_interval=0.1, lease_seconds=2, names=[name])

    async def rescued() -> bool:
        await rescuer.run_once()
        return (await load(runtime, job.id)).status == "succeeded"

    await eventually(rescued, "the second worker to finish the job", timeout=120)
    done = await load(runtime, job.id)
    assert done.attempts == 2 and done.result == {"finished_by": "rescuer", "attempt": 2}


# --- the API ---------------------------------------------------------------------------------------


async def test_jobs_api_lists_gets_and_retries_within_the_tenant(runtime, factory, jobs_api):
    a, b = await factory.tenant(), await factory.tenant()
    admin_a, admin_b = await factory.member(a, "admin"), await factory.member(b, "admin")
    staff_a = await factory.member(a, "staff")
    name = job_name("api")
    async with runtime.db.tenant_session(a.id) as session:
        queued = await enqueue(session, name, {"x": 1})
        dead = await enqueue(session, name, {"x": 2})
    async with runtime.db.tenant_session(b.id) as session:
        b_job = await enqueue(session, name, {"x": 3})
    await set_job(runtime, dead.id, status="dead", attempts=5, last_error="RuntimeError: boom",
                  finished_at=utcnow())

    resp = await admin_a.get("/api/jobs", params={"name": name})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [item["id"] for item in body["items"]] == [str(dead.id), str(queued.id)]  # newest first
    assert body["next_cursor"] is None
    item = body["items"][0]
    assert set(item) == {"id", "name", "status", "attempts", "max_attempts", "run_at", "progress", "result",
                         "last_error", "created_at", "started_at", "finished_at"}
    assert item["status"] == "dead" and item["last_error"] == "RuntimeError: boom"

    resp = await admin_a.get("/api/jobs", params={"name": name, "status": "dead"})
    assert [i["id"] for i in resp.json()["items"]] == [str(dead.id)]
    page1 = (await admin_a.get("/api/jobs", params={"name": name, "limit": 1})).json()
    assert [i["id"] for i in page1["items"]] == [str(dead.id)] and page1["next_cursor"]
    page2 = (await admin_a.get("/api/jobs", params={"name": name, "limit": 1,
                                                     "cursor": page1["next_cursor"]})).json()
    assert [i["id"] for i in page2["items"]] == [str(queued.id)] and page2["next_cursor"] is None
    assert (await admin_a.get("/api/jobs", params={"status": "bogus"})).status_code == 422

    resp = await admin_a.get(f"/api/jobs/{queued.id}")
    assert resp.status_code == 200 and resp.json()["status"] == "queued"

    # tenant B sees only its own job and gets 404 for A's
    resp = await admin_b.get("/api/jobs", params={"name": name})
    assert [i["id"] for i in resp.json()["items"]] == [str(b_job.id)]
    for method, url in (("GET", f"/api/jobs/{dead.id}"), ("POST", f"/api/jobs/{dead.id}/retry")):
        resp = await admin_b.request(method, url)
        assert resp.status_code == 404 and resp.json()["code"] == "not_found", resp.text
    assert (await load(runtime, dead.id)).status == "dead"

    # only dead jobs can be retried
    resp = await admin_a.post(f"/api/jobs/{queued.id}/retry")
    assert resp.status_code == 409 and resp.json()["code"] == "job_not_dead"
    resp = await admin_a.post(f"/api/jobs/{dead.id}/retry")
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "queued" and resp.json()["attempts"] == 0
    assert (await load(runtime, dead.id)).status == "queued"
    assert (await admin_a.get(f"/api/jobs/{uuid.uuid4()}")).status_code == 404

    # staff lack jobs:read and jobs:manage
    for method, url in (("GET", "/api/jobs"), ("GET", f"/api/jobs/{queued.id}"),
                        ("POST", f"/api/jobs/{dead.id}/retry")):
        resp = await staff_a.request(method, url)
        assert resp.status_code == 403 and resp.json()["code"] == "permission_denied", resp.text
