"""Background jobs: a transactional queue in the ``jobs`` table, workers with leases, and cron.

Enqueueing is part of the caller's transaction (the outbox principle): ``enqueue`` adds a
``Job`` row to the caller's session, so the job exists exactly when the change that asked for
it was committed. After that commit, workers in this process are woken at once; workers in
other processes find the job on their next poll.

A worker claims due jobs with one ``UPDATE ... RETURNING`` statement that moves them to
``running`` and gives them a lease (``locked_until``). On PostgreSQL the rows are picked with
``FOR UPDATE SKIP LOCKED`` (in a materialized CTE, see ``_picked``) so that any number of
workers on any number of machines never run one job twice; SQLite serialises writers, so the
same statement without the locking clause is enough there. While a job runs, its lease is
extended every third of the lease (heartbeat); if a worker dies, the lease runs out and another
worker picks the job up again: killing a server loses no job. Delivery is therefore *at least
once*: handlers should be idempotent.

A failing job is retried with exponential backoff (2 s, 4 s, 8 s ... capped at an hour, ±10 %
jitter) until ``max_attempts``; then it is ``dead`` (kept with its last error and traceback)
and can be retried from the API.

Cron schedules declared by modules (``ScheduleDecl``) live in ``job_schedules``. A scheduler
claims a due schedule, enqueues its job with a dedupe key naming the slot and advances
``next_run_at`` in the same transaction, so several schedulers enqueue one job per slot.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import random
import signal
import socket
import traceback
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from croniter import croniter
from sqlalchemy import ColumnElement, Select, and_, event, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from xynap.core.db import XSession, utcnow
from xynap.core.errors import Conflict, NotFound
from xynap.core.ids import uuid7
from xynap.core.kernel_models import Job, JobSchedule
from xynap.core.modules import JobDecl, ScheduleDecl
from xynap.core.observability import JOBS_DONE

log = logging.getLogger("xynap.jobs")

JobHandler = Callable[["JobContext"], Awaitable[dict[str, Any] | None]]

DEFAULT_MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 3600.0
SHUTDOWN_GRACE_SECONDS = 25.0
MAX_ERROR_CHARS = 6000

_WAKE_FLAG = "xynap.jobs.wake"

# --- registry -----------------------------------------------------------------------------------

_KERNEL_JOBS: dict[str, JobDecl] = {}
_KERNEL_SCHEDULES: dict[str, ScheduleDecl] = {}
# Every declaration seen so far (kernel and modules), for defaults such as max_attempts in enqueue().
_KNOWN: dict[str, JobDecl] = {}


def register_job(decl: JobDecl) -> JobDecl:
    """Register a kernel/platform job handler (modules declare theirs in ``Module.jobs``)."""
    existing = _KERNEL_JOBS.get(decl.name)
    if existing is not None and existing != decl:
        raise ValueError(f"a different handler is already registered for job {decl.name!r}")
    _KERNEL_JOBS[decl.name] = decl
    _KNOWN[decl.name] = decl
    return decl


def register_schedule(decl: ScheduleDecl) -> ScheduleDecl:
    """Register a kernel/platform cron schedule (modules declare theirs in ``Module.schedules``)."""
    _KERNEL_SCHEDULES[decl.name] = decl
    return decl


def job_registry(runtime: Any) -> dict[str, JobDecl]:
    """All job handlers: the kernel's, then those of every enabled module (first one wins)."""
    out: dict[str, JobDecl] = dict(_KERNEL_JOBS)
    for module in runtime.registry.enabled():
        for decl in module.jobs:
            if decl.name in out:
                if out[decl.name] != decl:
                    log.error("job %r of module %r is declared twice; the first declaration wins",
                              decl.name, module.slug)
                continue
            out[decl.name] = decl
    _KNOWN.update(out)
    return out


def _lookup(runtime: Any, name: str) -> JobDecl | None:
    decl = _KERNEL_JOBS.get(name)
    if decl is not None:
        return decl
    for module in runtime.registry.enabled():
        for candidate in module.jobs:
            if candidate.name == name:
                return candidate
    return None


def schedule_decls(runtime: Any) -> list[ScheduleDecl]:
    return [*_KERNEL_SCHEDULES.values(), *(s for m in runtime.registry.enabled() for s in m.schedules)]


# --- enqueue and wake-up --------------------------------------------------------------------------

# Workers of this process, woken after a commit that enqueued a job.
_WORKERS: weakref.WeakSet[Worker] = weakref.WeakSet()


def _sync_session(session: AsyncSession | Session) -> Session:
    return session.sync_session if isinstance(session, AsyncSession) else session


def notify_workers() -> None:
    """Wake the workers of this process (they poll the table anyway; this only saves the wait)."""
    for worker in list(_WORKERS):
        worker.wake()


@event.listens_for(XSession, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(_WAKE_FLAG, False):
        notify_workers()


@event.listens_for(XSession, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_WAKE_FLAG, None)


async def _enqueue(session: AsyncSession, name: str, payload: dict[str, Any] | None, *,
                   run_at: dt.datetime | None, max_attempts: int | None,
                   dedupe_key: str | None) -> tuple[Job, bool]:
    if dedupe_key is not None:
        existing = await session.scalar(select(Job).where(Job.dedupe_key == dedupe_key))
        if existing is not None:
            return existing, False
    if max_attempts is None:
        decl = _KNOWN.get(name)
        max_attempts = decl.max_attempts if decl else DEFAULT_MAX_ATTEMPTS
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    now = utcnow()
    job = Job(id=uuid7(), name=name, payload=dict(payload or {}), status="queued", attempts=0,
              max_attempts=max_attempts, run_at=run_at or now, dedupe_key=dedupe_key, created_at=now)
    session.add(job)
    await session.flush()  # stamps the tenant; a racing duplicate dedupe_key fails here
    _sync_session(session).info[_WAKE_FLAG] = True
    return job, True


async def enqueue(session: AsyncSession, name: str, payload: dict[str, Any] | None = None, *,
                  run_at: dt.datetime | None = None, max_attempts: int | None = None,
                  dedupe_key: str | None = None) -> Job:
    """Add a job to the caller's transaction; it runs once (and only if) that transaction commits.

    The job belongs to the session's tenant (or the platform in a platform session).
    ``dedupe_key`` is unique across the whole table: a second enqueue with a key already present
    (and visible to the session) returns the existing job; a concurrent duplicate is refused by
    the unique constraint. Include the entity id in the key (``invoice-reminder:<id>``).
    """
    job, _created = await _enqueue(session, name, payload, run_at=run_at, max_attempts=max_attempts,
                                   dedupe_key=dedupe_key)
    return job


async def retry_job(session: AsyncSession, job_id: uuid.UUID) -> Job:
    """Put a dead job back in the queue with a fresh set of attempts."""
    job = await session.scalar(select(Job).where(Job.id == job_id))
    if job is None:
        raise NotFound("No such job.", code="not_found")
    if job.status != "dead":
        raise Conflict(f"Only dead jobs can be retried; this one is {job.status}.", code="job_not_dead",
                       job_status=job.status)
    job.status = "queued"
    job.attempts = 0
    job.run_at = utcnow()
    job.locked_by = None
    job.locked_until = None
    job.finished_at = None
    job.result = None
    await session.flush()
    _sync_session(session).info[_WAKE_FLAG] = True
    return job


# --- running ---------------------------------------------------------------------------------------


@dataclass
class JobContext:
    """What a handler gets: the job, a session bound to the job's tenant and progress reporting."""

    job_id: uuid.UUID
    name: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    tenant_id: uuid.UUID | None
    session: AsyncSession
    runtime: Any
    worker_id: str = ""
    # progress that could not be written yet (SQLite, see report_progress); written with the outcome
    unsaved_progress: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts

    async def report_progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Write ``Job.progress`` now, in its own short transaction, so that the UI can poll it.

        SQLite has a single writer: while this job's own session holds uncommitted writes, a
        second connection would wait for it until the busy timeout. Then the progress is kept and
        written by the next call that can write, or with the job's outcome (commit the session
        between batches to make progress visible at once on SQLite too).
        """
        progress: dict[str, Any] = {"done": done, "total": total, "message": message,
                                    "updated_at": utcnow().isoformat()}
        if total:
            progress["percent"] = round(100.0 * done / total, 1)
        if await self._session_holds_sqlite_write_lock():
            self.unsaved_progress = progress
            return
        async with self.runtime.db.platform_session() as session:
            await session.execute(
                update(Job).where(Job.id == self.job_id).values(progress=progress),
                execution_options={"synchronize_session": False},
            )
        self.unsaved_progress = None

    async def _session_holds_sqlite_write_lock(self) -> bool:
        if self.runtime.db.dialect != "sqlite" or not self.session.in_transaction():
            return False
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        # sqlite3/aiosqlite: a transaction is open only after a write (reads run outside one)
        return bool(getattr(raw.driver_connection, "in_transaction", False))


@dataclass(frozen=True)
class ClaimedJob:
    id: uuid.UUID
    name: str
    payload: dict[str, Any]
    tenant_id: uuid.UUID | None
    attempts: int
    max_attempts: int


def _error_text(exc: BaseException) -> str:
    head = f"{type(exc).__name__}: {exc}"
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-10))
    text = f"{head}\n\n{tb}"
    if len(text) > MAX_ERROR_CHARS:
        text = f"{head[:1000]}\n\n...{tb[-(MAX_ERROR_CHARS - 1010):]}"
    return text


def _json_result(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        value = {"value": value}
    return json.loads(json.dumps(value, default=str))


def _picked(runtime: Any, model: Any, pick: Select[Any]) -> ColumnElement[bool]:
    """The WHERE clause of a claiming UPDATE: ``model.id`` is one of the ids ``pick`` selects.

    On PostgreSQL the ids are locked with ``FOR UPDATE SKIP LOCKED`` in a MATERIALIZED CTE
    (``WITH picked AS MATERIALIZED (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED) UPDATE ... FROM
    picked``): evaluated exactly once. The shorter ``WHERE id IN (SELECT ... LIMIT n FOR UPDATE
    SKIP LOCKED)`` may be planned as a subplan that runs again for every row and then claims far
    more than ``n`` rows. SQLite runs the uncorrelated IN subquery once and serialises writers.
    """
    if runtime.db.dialect == "postgresql":
        picked = pick.with_for_update(skip_locked=True).cte(f"picked_{model.__tablename__}")
        picked = picked.prefix_with("MATERIALIZED")
        return model.id == picked.c.id
    return model.id.in_(pick.correlate(None).scalar_subquery())


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Claims due jobs and runs up to ``concurrency`` of them at once in this event loop.

    ``names`` restricts the worker to some job names (a dedicated worker for heavy jobs, or tests).
    """

    def __init__(self, runtime: Any, worker_id: str | None = None, concurrency: int | None = None,
                 poll_interval: float = 1.0, *, lease_seconds: float | None = None,
                 backoff_base: float = BACKOFF_BASE_SECONDS, backoff_cap: float = BACKOFF_CAP_SECONDS,
                 names: Iterable[str] | None = None,
                 shutdown_timeout: float = SHUTDOWN_GRACE_SECONDS) -> None:
        self.runtime = runtime
        self.worker_id = worker_id or default_worker_id()
        self.concurrency = max(1, concurrency or runtime.settings.worker_concurrency)
        self.poll_interval = poll_interval
        self.lease_seconds = float(lease_seconds or runtime.settings.job_lease_seconds)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.names = frozenset(names) if names is not None else None
        self.shutdown_timeout = shutdown_timeout
        self._running: set[asyncio.Task[None]] = set()
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        _WORKERS.add(self)

    # -- public ----------------------------------------------------------------------------------

    @property
    def running(self) -> int:
        return len(self._running)

    def wake(self) -> None:
        loop = self._loop
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if loop is None or loop is current:
            self._event.set()
            return
        try:
            loop.call_soon_threadsafe(self._event.set)
        except RuntimeError:  # the loop is closed
            pass

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before the next attempt after ``attempt`` failed (1-based)."""
        delay = self.backoff_base * (2 ** min(max(0, attempt - 1), 40))
        return min(self.backoff_cap, delay * random.uniform(0.9, 1.1))

    async def run_once(self) -> int:
        """Claim one batch (up to ``concurrency`` jobs), run it to the end and return its size."""
        self._loop = asyncio.get_running_loop()
        jobs = await self.claim(self.concurrency)
        if jobs:
            await asyncio.gather(*(self._execute(job) for job in jobs))
        return len(jobs)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then let running jobs finish (bounded by ``shutdown_timeout``)."""
        self._loop = asyncio.get_running_loop()
        log.info("job worker %s started (concurrency %d)", self.worker_id, self.concurrency)
        stop_wait = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                # Cleared before looking: a job finishing or an enqueue from now on wakes the wait below.
                self._event.clear()
                free = self.concurrency - len(self._running)
                if free > 0:
                    try:
                        for job in await self.claim(free):
                            self._start(job)
                    except Exception:
                        log.exception("job worker %s could not claim jobs", self.worker_id)
                wake_wait = asyncio.ensure_future(self._event.wait())
                try:
                    await asyncio.wait({wake_wait, stop_wait}, timeout=self.poll_interval,
                                       return_when=asyncio.FIRST_COMPLETED)
                finally:
                    wake_wait.cancel()
        finally:
            stop_wait.cancel()
            await self.drain(self.shutdown_timeout)
            log.info("job worker %s stopped", self.worker_id)

    async def drain(self, timeout: float) -> None:
        """Wait for running jobs; after ``timeout`` cancel the rest (they go back to the queue)."""
        if not self._running:
            return
        pending = set(self._running)
        _done, still = await asyncio.wait(pending, timeout=timeout)
        for task in still:
            task.cancel()
        if still:
            await asyncio.gather(*still, return_exceptions=True)

    # -- claiming --------------------------------------------------------------------------------

    async def claim(self, limit: int) -> list[ClaimedJob]:
        """Move up to ``limit`` due jobs (or jobs whose lease ran out) to ``running``; return them."""
        now = utcnow()
        due = or_(
            and_(Job.status == "queued", Job.run_at <= now),
            and_(Job.status == "running", Job.locked_until < now),
        )
        pick = select(Job.id).where(due)
        if self.names is not None:
            pick = pick.where(Job.name.in_(sorted(self.names)))
        pick = pick.order_by(Job.run_at).limit(limit)
        stmt = (
            update(Job)
            .where(_picked(self.runtime, Job, pick))
            .values(status="running", attempts=Job.attempts + 1, locked_by=self.worker_id,
                    locked_until=now + dt.timedelta(seconds=self.lease_seconds), started_at=now,
                    finished_at=None)
            .returning(Job.id, Job.name, Job.payload, Job.tenant_id, Job.attempts, Job.max_attempts)
        )
        async with self.runtime.db.platform_session() as session:
            rows = (await session.execute(stmt, execution_options={"synchronize_session": False})).all()
        return [ClaimedJob(id=r.id, name=r.name, payload=dict(r.payload or {}), tenant_id=r.tenant_id,
                           attempts=r.attempts, max_attempts=r.max_attempts) for r in rows]

    # -- executing -------------------------------------------------------------------------------

    def _start(self, job: ClaimedJob) -> None:
        task = asyncio.create_task(self._execute(job), name=f"job:{job.name}:{job.id}")
        self._running.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._running.discard(t)
            self._event.set()

        task.add_done_callback(done)

    def _mine(self, job: ClaimedJob) -> Any:
        """The row as this worker claimed it: a stolen lease (another attempt) no longer matches."""
        return and_(Job.id == job.id, Job.status == "running", Job.locked_by == self.worker_id,
                    Job.attempts == job.attempts)

    async def _execute(self, job: ClaimedJob) -> None:
        decl = _lookup(self.runtime, job.name)
        if decl is None:
            await self._finish(job, "dead", last_error=(
                f"no handler is registered for job {job.name!r} "
                "(is the module that declares it installed and enabled?)"))
            return
        db = self.runtime.db
        session = db.session(tenant_id=job.tenant_id) if job.tenant_id else db.session(platform=True)
        ctx = JobContext(job_id=job.id, name=job.name, payload=job.payload, attempt=job.attempts,
                         max_attempts=job.max_attempts, tenant_id=job.tenant_id, session=session,
                         runtime=self.runtime, worker_id=self.worker_id)
        heartbeat = asyncio.create_task(self._heartbeat(job))
        error: BaseException | None = None
        result: dict[str, Any] | None = None
        try:
            try:
                result = _json_result(await decl.handler(ctx))
                await session.commit()
            except Exception as exc:
                error = exc
                await session.rollback()
        except asyncio.CancelledError:
            heartbeat.cancel()
            await asyncio.shield(self._release(job, session))
            raise
        finally:
            heartbeat.cancel()
        await session.close()
        progress = ctx.unsaved_progress
        if error is None:
            await self._finish(job, "succeeded", result=result, progress=progress)
        elif job.attempts >= job.max_attempts:
            log.error("job %s (%s) failed for the last time (attempt %d): %s", job.name, job.id,
                      job.attempts, error, exc_info=error)
            await self._finish(job, "dead", last_error=_error_text(error), progress=progress)
        else:
            delay = self.backoff(job.attempts)
            log.warning("job %s (%s) failed (attempt %d of %d), retrying in %.1fs: %s", job.name, job.id,
                        job.attempts, job.max_attempts, delay, error)
            await self._finish(job, "queued", last_error=_error_text(error), progress=progress,
                               run_at=utcnow() + dt.timedelta(seconds=delay))

    async def _finish(self, job: ClaimedJob, status: str, *, result: dict[str, Any] | None = None,
                      last_error: str | None = None, run_at: dt.datetime | None = None,
                      progress: dict[str, Any] | None = None) -> None:
        now = utcnow()
        values: dict[str, Any] = {"status": status, "locked_by": None, "locked_until": None}
        if progress is not None:
            values["progress"] = progress
        if status == "succeeded":
            values.update(result=result, finished_at=now)
        elif status == "dead":
            values.update(last_error=last_error, finished_at=now)
        else:
            values.update(last_error=last_error, run_at=run_at)
        try:
            async with self.runtime.db.platform_session() as session:
                res = await session.execute(update(Job).where(self._mine(job)).values(**values),
                                            execution_options={"synchronize_session": False})
                updated = res.rowcount
        except Exception:
            log.exception("job %s (%s): recording the outcome %r failed; the lease will run out and the job "
                          "will run again", job.name, job.id, status)
            return
        if not updated:
            log.warning("job %s (%s): the lease was lost before the outcome %r could be recorded",
                        job.name, job.id, status)
            return
        JOBS_DONE.labels(name=job.name, outcome="retried" if status == "queued" else status).inc()

    async def _release(self, job: ClaimedJob, session: AsyncSession) -> None:
        """The worker is shutting down mid-job: roll back and hand the job back to the queue now."""
        try:
            await session.rollback()
            await session.close()
            async with self.runtime.db.platform_session() as s:
                await s.execute(update(Job).where(self._mine(job)).values(
                    status="queued", run_at=utcnow(), locked_by=None, locked_until=None,
                    attempts=Job.attempts - 1), execution_options={"synchronize_session": False})
        except Exception:
            log.exception("job %s (%s) could not be handed back; its lease will run out", job.name, job.id)

    async def _heartbeat(self, job: ClaimedJob) -> None:
        interval = max(self.lease_seconds / 3.0, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                async with self.runtime.db.platform_session() as session:
                    res = await session.execute(
                        update(Job).where(self._mine(job)).values(
                            locked_until=utcnow() + dt.timedelta(seconds=self.lease_seconds)),
                        execution_options={"synchronize_session": False},
                    )
                if not res.rowcount:
                    log.warning("job %s (%s): lease lost (another worker took it over)", job.name, job.id)
                    return
            except Exception:
                log.exception("job %s (%s): extending the lease failed", job.name, job.id)


# --- cron ------------------------------------------------------------------------------------------


def next_fire(cron: str, after: dt.datetime) -> dt.datetime:
    """The first slot of ``cron`` (UTC) strictly after ``after``."""
    return croniter(cron, after.astimezone(dt.UTC)).get_next(dt.datetime).astimezone(dt.UTC)


async def sync_schedules(runtime: Any) -> int:
    """Upsert the declared schedules into ``job_schedules``; returns how many are active.

    A changed cron expression recomputes ``next_run_at``; schedules no longer declared are
    deactivated; invalid cron expressions are logged and skipped.
    """
    decls: dict[str, ScheduleDecl] = {}
    for decl in schedule_decls(runtime):
        if not croniter.is_valid(decl.cron):
            log.error("schedule %r has an invalid cron expression %r; it is skipped", decl.name, decl.cron)
            continue
        if decl.name in decls:
            log.error("schedule %r is declared twice; the first declaration wins", decl.name)
            continue
        decls[decl.name] = decl
    for attempt in range(3):
        try:
            async with runtime.db.platform_session() as session:
                await _upsert_schedules(session, decls)
            return len(decls)
        except IntegrityError:  # another process inserted the same schedule at the same moment
            if attempt == 2:
                raise
    return len(decls)  # pragma: no cover


async def _upsert_schedules(session: AsyncSession, decls: dict[str, ScheduleDecl]) -> None:
    now = utcnow()
    existing = {row.name: row for row in await session.scalars(select(JobSchedule))}
    for name, decl in decls.items():
        row = existing.get(name)
        if row is None:
            session.add(JobSchedule(name=name, cron=decl.cron, job_name=decl.job, payload=dict(decl.payload),
                                    next_run_at=next_fire(decl.cron, now), is_active=True))
            continue
        if row.cron != decl.cron or not row.is_active:
            # a new expression, or back after a pause: start from now, do not fire missed slots
            row.cron = decl.cron
            row.next_run_at = next_fire(decl.cron, now)
            row.is_active = True
        if row.job_name != decl.job:
            row.job_name = decl.job
        if row.payload != decl.payload:
            row.payload = dict(decl.payload)
    for name, row in existing.items():
        if name not in decls and row.is_active:
            log.info("schedule %r is no longer declared; deactivated", name)
            row.is_active = False


class Scheduler:
    """Turns due cron schedules into jobs; any number of schedulers may run side by side."""

    def __init__(self, runtime: Any, interval: float = 10.0, batch: int = 100) -> None:
        self.runtime = runtime
        self.interval = interval
        self.batch = batch

    async def tick(self) -> int:
        """Claim the due schedules, enqueue one job per slot, advance them; returns jobs enqueued."""
        now = utcnow()
        pick = (
            select(JobSchedule.id)
            .where(JobSchedule.is_active.is_(True), JobSchedule.next_run_at <= now)
            .order_by(JobSchedule.next_run_at)
            .limit(self.batch)
        )
        # Writing first takes SQLite's write lock at once; a second scheduler waits, then finds
        # next_run_at already advanced. On PostgreSQL it skips the rows this one has locked.
        claim = (
            update(JobSchedule)
            .where(_picked(self.runtime, JobSchedule, pick))
            .values(last_run_at=now)
            .returning(JobSchedule.id, JobSchedule.name, JobSchedule.cron, JobSchedule.job_name,
                       JobSchedule.payload, JobSchedule.next_run_at)
        )
        created = 0
        async with self.runtime.db.platform_session() as session:
            rows = (await session.execute(claim, execution_options={"synchronize_session": False})).all()
            for row in rows:
                values: dict[str, Any]
                try:
                    values = {"next_run_at": next_fire(row.cron, max(now, row.next_run_at))}
                except Exception:
                    log.error("schedule %r has an invalid cron expression %r; deactivated",
                              row.name, row.cron)
                    values = {"is_active": False}
                await session.execute(
                    update(JobSchedule).where(JobSchedule.id == row.id).values(**values),
                    execution_options={"synchronize_session": False},
                )
                if "next_run_at" not in values:
                    continue
                _job, new = await _enqueue(session, row.job_name, dict(row.payload or {}), run_at=None,
                                           max_attempts=None,
                                           dedupe_key=f"cron:{row.name}:{row.next_run_at.isoformat()}")
                created += int(new)
        return created

    async def run_forever(self, stop: asyncio.Event) -> None:
        log.info("cron scheduler started")
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("cron scheduler tick failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
            except TimeoutError:
                pass
        log.info("cron scheduler stopped")


# --- process wiring --------------------------------------------------------------------------------


@dataclass
class JobService:
    """The worker and scheduler of one process, started by ``start_jobs`` or ``run_worker_process``."""

    worker: Worker
    scheduler: Scheduler
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> list[asyncio.Task[None]]:
        self.tasks = [
            asyncio.create_task(self.worker.run_forever(self.stop), name="xynap-job-worker"),
            asyncio.create_task(self.scheduler.run_forever(self.stop), name="xynap-cron-scheduler"),
        ]
        return self.tasks

    async def shutdown(self, timeout: float | None = None) -> None:
        """Stop claiming, let running jobs finish (bounded), then return."""
        self.stop.set()
        self.worker.wake()
        if self.tasks:
            grace = (timeout if timeout is not None else self.worker.shutdown_timeout) + 5.0
            await asyncio.wait(self.tasks, timeout=grace)


def _service(runtime: Any) -> JobService:
    return JobService(worker=Worker(runtime, concurrency=runtime.settings.worker_concurrency),
                      scheduler=Scheduler(runtime))


async def start_jobs(runtime: Any, run_worker: bool) -> None:
    """Build the job registry, sync cron schedules and, with ``run_worker``, start worker and scheduler."""
    runtime.extras["job_registry"] = job_registry(runtime)
    try:
        await sync_schedules(runtime)
    except Exception:
        log.exception("syncing cron schedules failed")
    if not run_worker:
        return
    service = _service(runtime)
    runtime.extras["jobs"] = service
    runtime.extras.setdefault("tasks", []).extend(service.start())
    runtime.extras.setdefault("stoppers", []).append(service.shutdown)


async def run_worker_process(runtime: Any) -> None:
    """``xynap worker``: run a worker and a scheduler until SIGTERM/SIGINT, then stop gracefully.

    Call it after ``start_runtime(runtime, background=False)`` and ``stop_runtime`` afterwards.
    """
    if "job_registry" not in runtime.extras:
        runtime.extras["job_registry"] = job_registry(runtime)
    service = _service(runtime)
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, service.stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on the main thread / Windows
            pass
    service.start()
    try:
        await service.stop.wait()
        log.info("stopping the job worker (waiting for running jobs)")
    finally:
        await service.shutdown()
        for task in service.tasks:
            task.cancel()
        await asyncio.gather(*service.tasks, return_exceptions=True)
        for sig in installed:
            loop.remove_signal_handler(sig)
