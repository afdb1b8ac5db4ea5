"""Sending mail: every message is stored (the outbox) and, when SMTP is configured, delivered by a job."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from xynap.core.db import utcnow
from xynap.core.jobs import JobContext, enqueue, register_job
from xynap.core.modules import JobDecl
from xynap.platform.mail.models import MailMessage
from xynap.platform.settings.models import GlobalSetting

DELIVER_JOB = "platform.mail.deliver"


async def smtp_config(session: AsyncSession, settings: Any) -> dict[str, Any] | None:
    """Platform settings (console) win over the environment; no host means: keep mails in the outbox."""
    rows = await session.scalars(select(GlobalSetting).where(GlobalSetting.key.like("smtp.%")))
    stored = {s.key: s.value for s in rows}
    host = stored.get("smtp.host") or settings.smtp_host
    if not host:
        return None
    return {
        "host": host,
        "port": int(stored.get("smtp.port") or settings.smtp_port),
        "user": stored.get("smtp.user") or settings.smtp_user,
        "password": stored.get("smtp.password") or settings.smtp_password,
        "from": stored.get("smtp.from") or settings.smtp_from,
    }


async def send_mail(session: AsyncSession, runtime: Any, *, to: str, subject: str, body: str,
                    purpose: str = "notification") -> MailMessage:
    """Store the mail in the caller's transaction and, if SMTP is configured, enqueue its delivery."""
    message = MailMessage(to=to, subject=subject, body_text=body, purpose=purpose)
    session.add(message)
    await session.flush()
    if await smtp_config(session, runtime.settings) is not None:
        await enqueue(session, DELIVER_JOB, {"mail_id": str(message.id)}, max_attempts=8)
    return message


def _deliver_sync(config: dict[str, Any], message: MailMessage) -> None:
    mail = EmailMessage()
    mail["From"] = config["from"]
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail.set_content(message.body_text)
    with smtplib.SMTP(config["host"], config["port"], timeout=30) as smtp:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if config.get("user"):
            smtp.login(config["user"], config.get("password") or "")
        smtp.send_message(mail)


async def deliver(ctx: JobContext) -> dict[str, Any]:
    import uuid

    message = await ctx.session.get(MailMessage, uuid.UUID(ctx.payload["mail_id"]))
    if message is None or message.delivered_at is not None:  # idempotent: at-least-once delivery of jobs
        return {"skipped": True}
    config = await smtp_config(ctx.session, ctx.runtime.settings)
    if config is None:
        return {"stored": True}
    try:
        await asyncio.to_thread(_deliver_sync, config, message)
    except Exception as exc:
        # The job's own transaction is rolled back on failure: keep the reason on the mail anyway,
        # in a transaction of its own, so the outbox shows why it is still undelivered.
        from sqlalchemy import update

        async with ctx.runtime.db.platform_session() as session:
            await session.execute(update(MailMessage).where(MailMessage.id == message.id)
                                  .values(last_error=f"{type(exc).__name__}: {exc}"[:1000]))
        raise
    message.delivered_at = utcnow()
    message.last_error = None
    return {"delivered": True}


register_job(JobDecl(DELIVER_JOB, deliver, max_attempts=8))
