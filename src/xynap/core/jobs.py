"""Placeholder until the job worker lands (being written now)."""


async def start_jobs(runtime, run_worker: bool) -> None:
    return None
