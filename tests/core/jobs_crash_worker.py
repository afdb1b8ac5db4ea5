"""A job worker in its own process, for the crash test in test_jobs.py (the test kills it with SIGKILL).

Usage: python jobs_crash_worker.py <job name> <worker id> <lease seconds>

The database and the rest of the settings come from the XYNAP_* environment that the test
session set up. The handler reports progress (so the test knows it is running) and then
sleeps far longer than any test waits.
"""

from __future__ import annotations

import asyncio
import sys


async def main(job_name: str, worker_id: str, lease_seconds: float) -> None:
    from xynap.app import build_runtime
    from xynap.core.config import get_settings
    from xynap.core.jobs import JobContext, Worker, register_job
    from xynap.core.modules import JobDecl

    async def slow(ctx: JobContext) -> dict:
        await ctx.report_progress(0, 1, "started in the doomed worker")
        await asyncio.sleep(3600)
        return {"finished_by": "doomed"}

    register_job(JobDecl(job_name, slow))
    runtime = build_runtime(get_settings())
    worker = Worker(runtime, worker_id, concurrency=1, poll_interval=0.05, lease_seconds=lease_seconds,
                    names=[job_name])
    try:
        await worker.run_forever(asyncio.Event())
    finally:
        await runtime.db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
