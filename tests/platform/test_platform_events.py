"""The platform publishes domain events for what people change, so screens update live."""

from sqlalchemy import select

from tests.factories import unique
from xynap.core.kernel_models import OutboxEvent


async def _events(runtime, tenant_id, prefix):
    async with runtime.db.tenant_session(tenant_id) as session:
        rows = await session.scalars(select(OutboxEvent).where(OutboxEvent.name.startswith(prefix))
                                     .order_by(OutboxEvent.created_at))
        return [(e.name, e.payload, e.permission) for e in rows]


async def test_user_team_role_and_booking_changes_are_published(factory, runtime):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    created = await admin.post("/api/users", json={"email": f"{unique('ev')}@example.com", "name": "Eva",
                                                   "role": "staff"})
    user = created.json()
    await admin.patch(f"/api/users/{user['id']}", json={"version": user["version"], "name": "Eva E."})
    team = (await admin.post("/api/teams", json={"name": "Vertrieb", "member_ids": [user["id"]]})).json()
    roles = (await admin.get("/api/roles")).json()
    staff = next(r for r in roles if r["name"] == "staff")
    await admin.patch(f"/api/roles/{staff['id']}", json={"version": staff["version"],
                                                         "grants": {"users:create": "all"}})
    sub = (await admin.post("/api/subscriptions", json={"module": "example", "plan": "starter"})).json()
    await admin.post(f"/api/subscriptions/{sub['id']}/activate")

    users = await _events(runtime, tenant.id, "user.")
    assert [n for n, _, _ in users] == ["user.created", "user.updated"]
    assert users[1][1]["name"] == "Eva E." and users[1][2] == "users:read"
    teams = await _events(runtime, tenant.id, "team.")
    assert {n for n, _, _ in teams} == {"team.created", "team.members_changed"}
    assert next(p for n, p, _ in teams if n == "team.members_changed")["member_ids"] == [user["id"]]
    assert [n for n, _, _ in await _events(runtime, tenant.id, "role.")] == ["role.updated"]
    subs = await _events(runtime, tenant.id, "subscription.")
    assert [(n, p["module"], p["status"]) for n, p, _ in subs] == [
        ("subscription.booked", "example", "pending"), ("subscription.activated", "example", "active")]
    assert all(perm is None for _, _, perm in subs)  # everyone's menu changes
    team_id = team["id"]
    await admin.delete(f"/api/teams/{team_id}")
    assert "team.deleted" in [n for n, _, _ in await _events(runtime, tenant.id, "team.")]
