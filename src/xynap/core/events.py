"""Placeholder until the outbox dispatcher lands (being written now)."""


async def start_events(runtime) -> None:
    return None
