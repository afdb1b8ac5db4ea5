"""Mail delivery through a real SMTP server: a throwaway Postfix (tests/servers.py) on a loopback port.

The platform keeps every mail in ``mail_messages``; with SMTP configured the job
``platform.mail.deliver`` hands it to the server. These tests point the global SMTP settings at
the Postfix (or at a closed port) and restore the previous settings afterwards, so every other
test keeps the outbox-only path. With CI set a missing Postfix is a failure, not a skip.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import delete, select

from tests.factories import unique
from tests.servers import MissingBinaryError, PostfixServer, ServerError, free_port
from xynap.core.jobs import Worker, enqueue
from xynap.core.kernel_models import Job
from xynap.platform.mail.models import MailMessage
from xynap.platform.mail.service import DELIVER_JOB
from xynap.platform.settings.models import GlobalSetting

SENDER = "XyNaP Test <noreply@xynap.test>"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def postfix() -> Iterator[PostfixServer]:
    server = PostfixServer()
    try:
        server.start()
    except MissingBinaryError as exc:
        if _in_ci():
            raise
        pytest.skip(f"{exc} (set CI=true to turn this skip into a failure)")
    except ServerError as exc:
        if _in_ci() or os.geteuid() == 0:
            raise
        pytest.skip(f"Postfix could not be started without root: {exc}")
    try:
        yield server
    finally:
        server.stop()


@asynccontextmanager
async def smtp_settings(runtime: Any, values: dict[str, Any]) -> AsyncIterator[None]:
    """Replace the global ``smtp.*`` settings by ``values``; put the previous ones back afterwards."""
    smtp_keys = GlobalSetting.key.like("smtp.%")
    async with runtime.db.platform_session() as session:
        saved = {s.key: s.value for s in await session.scalars(select(GlobalSetting).where(smtp_keys))}
        await session.execute(delete(GlobalSetting).where(smtp_keys))
        session.add_all(GlobalSetting(key=key, value=value) for key, value in values.items())
    try:
        yield
    finally:
        async with runtime.db.platform_session() as session:
            await session.execute(delete(GlobalSetting).where(smtp_keys))
            session.add_all(GlobalSetting(key=key, value=value) for key, value in saved.items())


async def _request_reset(factory: Any, client: Any, local_part: str) -> tuple[Any, Any]:
    tenant = await factory.tenant(name="Mailtest GmbH")
    user = await factory.user(tenant, role="staff", email=f"{local_part}@{PostfixServer.DOMAIN}",
                              name="Mira Mailtest")
    resp = await client.post("/api/password-reset", json={"email": user.email},
                             headers={"X-Tenant": tenant.slug})
    assert resp.status_code == 202, resp.text
    return tenant, user


async def _mail_and_job(runtime: Any, tenant_id: uuid.UUID, to: str) -> tuple[MailMessage, Job]:
    async with runtime.db.platform_session() as session:
        mails = list(await session.scalars(select(MailMessage).where(MailMessage.to == to)))
        assert len(mails) == 1, [m.subject for m in mails]
        jobs = [job for job in await session.scalars(
            select(Job).where(Job.name == DELIVER_JOB, Job.tenant_id == tenant_id))
            if job.payload.get("mail_id") == str(mails[0].id)]
        assert len(jobs) == 1, "sending the mail enqueued no (or more than one) delivery job"
        return mails[0], jobs[0]


async def _job(runtime: Any, job_id: uuid.UUID) -> Job:
    async with runtime.db.platform_session() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        return job


async def _run_until_attempted(runtime: Any, job_id: uuid.UUID, timeout: float = 30.0) -> Job:
    """Run a mail worker until our job has had one attempt (other queued mail jobs may run too)."""
    worker = Worker(runtime, names=[DELIVER_JOB])
    deadline = time.monotonic() + timeout
    while True:
        ran = await worker.run_once()
        job = await _job(runtime, job_id)
        if job.attempts >= 1 and job.status != "running":
            return job
        assert time.monotonic() < deadline, f"the delivery job did not run within {timeout}s: {job.status}"
        if not ran:
            await asyncio.sleep(0.05)


async def test_password_reset_mail_is_delivered_by_postfix(postfix, runtime, client, factory):
    local_part = unique("reset.")
    async with smtp_settings(runtime, {"smtp.host": postfix.host, "smtp.port": postfix.port,
                                       "smtp.from": SENDER}):
        tenant, user = await _request_reset(factory, client, local_part)
        mail, job = await _mail_and_job(runtime, tenant.id, user.email)
        assert mail.delivered_at is None and job.status == "queued"

        job = await _run_until_attempted(runtime, job.id)
        assert job.status == "succeeded", f"{job.last_error}\n--- mail log ---\n{postfix.read_log()}"
        assert job.result == {"delivered": True}

        delivered = postfix.wait_for_mail(local_part, timeout=15)
    assert len(delivered) == 1
    message = delivered[0]
    assert message["To"] == user.email
    assert message["From"] == SENDER
    assert message["Subject"] == "Mailtest GmbH: Passwort zurücksetzen / reset your password"
    body = message.get_content()
    assert "Hallo Mira Mailtest" in body
    link = re.search(r"https?://\S+/reset-password#token=[A-Za-z0-9_\-]+", body)
    assert link, body
    assert link.group(0) in mail.body_text  # the outbox copy and the delivered mail carry the same link

    async with runtime.db.platform_session() as session:
        stored = await session.get(MailMessage, mail.id)
        assert stored is not None
        assert stored.delivered_at is not None and stored.last_error is None

    # jobs run at least once: delivering the same mail again sends nothing
    async with runtime.db.tenant_session(tenant.id) as session:
        again = await enqueue(session, DELIVER_JOB, {"mail_id": str(mail.id)})
    again = await _run_until_attempted(runtime, again.id)
    assert again.status == "succeeded" and again.result == {"skipped": True}
    await asyncio.sleep(0.5)
    assert len(postfix.messages(local_part)) == 1


async def test_unreachable_smtp_server_leaves_the_mail_in_the_outbox_for_a_retry(runtime, client, factory):
    closed_port = free_port()  # nothing listens here
    job_id: uuid.UUID | None = None
    try:
        async with smtp_settings(runtime, {"smtp.host": "127.0.0.1", "smtp.port": closed_port,
                                           "smtp.from": SENDER}):
            tenant, user = await _request_reset(factory, client, unique("unreachable."))
            mail, job = await _mail_and_job(runtime, tenant.id, user.email)
            job_id = job.id
            job = await _run_until_attempted(runtime, job.id)
        assert job.status == "queued", "a failed delivery must stay retryable"
        assert job.attempts == 1 and job.max_attempts == 8
        assert job.last_error and "ConnectionRefusedError" in job.last_error
        assert job.run_at > job.started_at  # retried later, with backoff
        assert job.finished_at is None

        async with runtime.db.platform_session() as session:
            stored = await session.get(MailMessage, mail.id)
            assert stored is not None
            assert stored.delivered_at is None
            assert stored.body_text == mail.body_text  # still readable in the outbox
    finally:
        if job_id is not None:  # no retry of this job may reach a later test's SMTP settings
            async with runtime.db.platform_session() as session:
                await session.execute(delete(Job).where(Job.id == job_id))


async def test_a_failed_delivery_records_its_error_on_the_mail(runtime, client, factory):
    job_id: uuid.UUID | None = None
    try:
        async with smtp_settings(runtime, {"smtp.host": "127.0.0.1", "smtp.port": free_port(),
                                           "smtp.from": SENDER}):
            tenant, user = await _request_reset(factory, client, unique("unreachable."))
            mail, job = await _mail_and_job(runtime, tenant.id, user.email)
            job_id = job.id
            job = await _run_until_attempted(runtime, job.id)
        assert job.status == "queued"
        async with runtime.db.platform_session() as session:
            stored = await session.get(MailMessage, mail.id)
            assert stored is not None and stored.delivered_at is None
            assert stored.last_error and "ConnectionRefusedError" in stored.last_error
    finally:
        if job_id is not None:
            async with runtime.db.platform_session() as session:
                await session.execute(delete(Job).where(Job.id == job_id))
