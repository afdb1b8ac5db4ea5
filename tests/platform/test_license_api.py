async def test_console_shows_the_licence_state(factory, client):
    admin = await factory.platform("admin")
    resp = await admin.get("/api/platform/license")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["mode"] == "saas" and body["state"] in {"missing", "valid", "malformed", "expired", "tampered"}
    tenant = await factory.tenant()
    tenant_admin = await factory.member(tenant, "admin")
    denied = await tenant_admin.get("/api/platform/license")
    assert denied.status_code == 403 and denied.json()["code"] == "platform_user_required"
    reseller = await factory.platform("reseller")
    assert (await reseller.get("/api/platform/license")).json()["code"] == "permission_denied"


async def test_the_platform_prunes_dispatched_events_daily(runtime):
    from sqlalchemy import select

    from xynap.core.jobs import job_registry, sync_schedules
    from xynap.core.kernel_models import JobSchedule

    assert "platform.events.prune" in job_registry(runtime)
    await sync_schedules(runtime)
    async with runtime.db.platform_session() as session:
        schedule = await session.scalar(select(JobSchedule).where(JobSchedule.name == "platform.events.prune.daily"))
    assert schedule is not None and schedule.cron == "17 3 * * *" and schedule.is_active
