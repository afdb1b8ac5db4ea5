"""Context, SaaS sign-up, first-run setup, password reset, invitations, mail outbox, preferences."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from urllib.parse import urlparse

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select, update

from tests.conftest import BACKEND
from tests.factories import PASSWORD, unique


def _fragment_token(url: str, name: str) -> str:
    match = re.search(rf"#{name}=([A-Za-z0-9_\-]+)", url)
    assert match, url
    return match.group(1)


async def _outbox_link(session, subject_part: str, path: str) -> str:
    resp = await session.get("/api/mail/outbox")
    assert resp.status_code == 200, resp.text
    mails = [m for m in resp.json()["items"] if subject_part in m["subject"]]
    assert mails, resp.json()
    match = re.search(rf"https?://\S+/{path}#token=\S+", mails[0]["body_text"])
    assert match, mails[0]["body_text"]
    return match.group(0)


async def test_context_names_the_company_or_the_platform(factory, client):
    tenant = await factory.tenant(name="Bäckerei Schmidt")
    resp = await client.get("/api/context", headers={"X-Tenant": tenant.slug})
    body = resp.json()
    assert resp.status_code == 200
    assert body["kind"] == "tenant" and body["tenant"] == {"slug": tenant.slug, "name": "Bäckerei Schmidt",
                                                             "locale": "de"}
    platform = (await client.get("/api/context")).json()
    assert platform["kind"] == "platform" and platform["tenant"] is None
    assert platform["setup_required"] is False  # the test database already holds companies
    assert platform["signup_enabled"] is True


async def test_signup_creates_company_admin_and_hands_over_a_one_time_login(client, runtime):
    slug = unique("signup")
    resp = await client.post("/api/signup", json={
        "company": "Neue Firma GmbH", "slug": slug, "admin_name": "Nora Neu", "admin_email": f"{slug}@example.com",
        "password": PASSWORD, "locale": "en"}, headers={"Host": "localhost:8000"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    url = urlparse(body["login_url"])
    assert url.netloc == f"{slug}.localhost:8000" and url.path == "/welcome"
    handoff = _fragment_token(body["login_url"], "refresh_token")
    tokens = await client.post("/api/refresh", json={"refresh_token": handoff}, headers={"X-Tenant": slug})
    assert tokens.status_code == 200, tokens.text
    me = await client.get("/api/me", headers={"X-Tenant": slug,
                                                "Authorization": f"Bearer {tokens.json()['access_token']}"})
    assert me.json()["role"] == "admin" and me.json()["tenant"]["name"] == "Neue Firma GmbH"
    # the hand-over works once
    again = await client.post("/api/refresh", json={"refresh_token": handoff}, headers={"X-Tenant": slug})
    assert again.status_code == 401
    ctx = await client.get("/api/context", headers={"X-Tenant": slug})
    assert ctx.json()["tenant"]["locale"] == "en"
    login = await client.post("/api/login", json={"email": f"{slug}@example.com", "password": PASSWORD},
                              headers={"X-Tenant": slug})
    assert login.status_code == 200


async def test_signup_refuses_bad_input_and_writes_nothing(client, runtime, factory):
    from xynap.platform.tenants.models import Tenant

    existing = await factory.tenant()
    base = {"company": "X", "admin_name": "A", "admin_email": "a@example.com", "password": PASSWORD}
    taken = await client.post("/api/signup", json={**base, "slug": existing.slug})
    assert taken.status_code == 409 and taken.json()["code"] == "tenant_exists"
    slug = unique("short")
    short = await client.post("/api/signup", json={**base, "slug": slug, "password": "short"})
    assert short.status_code == 422 and short.json()["code"] == "password_too_short"
    bad = await client.post("/api/signup", json={**base, "slug": "Not A Slug!"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_slug"
    reserved = await client.post("/api/signup", json={**base, "slug": "platform"})
    assert reserved.status_code == 422 and reserved.json()["code"] == "slug_reserved"
    email = await client.post("/api/signup", json={**base, "slug": unique("e"), "admin_email": "nope"})
    assert email.status_code == 422 and email.json()["errors"][0]["field"] == "admin_email"
    on_tenant = await client.post("/api/signup", json={**base, "slug": unique("t")},
                                  headers={"X-Tenant": existing.slug})
    assert on_tenant.status_code == 400 and on_tenant.json()["code"] == "platform_host_required"
    async with runtime.db.platform_session() as session:
        assert not await session.scalar(select(func.count()).select_from(Tenant).where(Tenant.slug == slug))


async def test_signup_can_be_switched_off(client, runtime):
    from xynap.platform.settings.models import GlobalSetting

    async with runtime.db.platform_session() as session:
        session.add(GlobalSetting(key="platform.signup_enabled", value=False))
    try:
        resp = await client.post("/api/signup", json={
            "company": "X", "slug": unique("off"), "admin_name": "A", "admin_email": "a@example.com",
            "password": PASSWORD})
        assert resp.status_code == 403 and resp.json()["code"] == "signup_disabled"
        assert (await client.get("/api/context")).json()["signup_enabled"] is False
    finally:
        async with runtime.db.platform_session() as session:
            await session.delete(await session.get(GlobalSetting, "platform.signup_enabled"))


async def test_setup_is_closed_once_the_installation_has_companies(client):
    status = await client.get("/api/setup")
    assert status.status_code == 200 and status.json()["setup_required"] is False
    resp = await client.post("/api/setup", json={
        "company": "X", "slug": unique("s"), "admin_name": "A", "admin_email": "a@example.com", "password": PASSWORD})
    assert resp.status_code == 409 and resp.json()["code"] == "setup_done"


@pytest.fixture
async def fresh_install(request, settings, data_dir):
    """A second, empty installation on the same database engine as the suite."""
    from xynap.app import build_runtime, create_app
    from xynap.core.migrate import upgrade

    name = f"fresh_{uuid.uuid4().hex[:8]}"
    if BACKEND == "postgresql":
        url = request.getfixturevalue("pg_server").create_database(name)
    else:
        url = f"sqlite+aiosqlite:///{data_dir / (name + '.db')}"
    fresh = settings.model_copy(update={"database_url": url, "data_dir": data_dir / name})
    fresh.data_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade, fresh)
    runtime = build_runtime(fresh)
    app = create_app(runtime=runtime, background=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40001))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as c:
            yield c, runtime
    await runtime.db.dispose()


async def test_first_run_setup_creates_everything_once(fresh_install):
    client, runtime = fresh_install
    assert (await client.get("/api/context")).json()["setup_required"] is True
    status = (await client.get("/api/setup")).json()
    assert status["setup_required"] is True and status["database"]["ok"] is True
    assert "example" in {m["slug"] for m in status["modules"]}
    body = {"company": "Erste Firma", "slug": "erste", "admin_name": "Eva Erst", "admin_email": "eva@example.com",
            "password": PASSWORD, "modules": ["example"],
            "smtp": {"host": "mail.example.com", "port": 2525, "from": "Erste <no-reply@example.com>"}}
    unknown = await client.post("/api/setup", json={**body, "modules": ["nope"]})
    assert unknown.status_code == 422 and unknown.json()["code"] == "module_not_installed"
    resp = await client.post("/api/setup", json=body)
    assert resp.status_code == 201, resp.text
    assert urlparse(resp.json()["login_url"]).netloc == "erste.localhost:8000"
    login = await client.post("/api/login", json={"email": "eva@example.com", "password": PASSWORD},
                              headers={"X-Tenant": "erste"})
    token = login.json()["access_token"]
    me = (await client.get("/api/me", headers={"X-Tenant": "erste", "Authorization": f"Bearer {token}"})).json()
    assert me["tenant"]["modules"] == {"example": "write"}
    owner = await client.post("/api/login", json={"email": "eva@example.com", "password": PASSWORD})
    assert owner.status_code == 200  # the platform console login
    settings = await client.get("/api/platform/settings",
                                headers={"Authorization": f"Bearer {owner.json()['access_token']}"})
    values = {s["key"]: s["value"] for s in settings.json()}
    assert values["smtp.host"] == "mail.example.com" and values["smtp.port"] == 2525
    again = await client.post("/api/setup", json={**body, "slug": "zweite"})
    assert again.status_code == 409 and again.json()["code"] == "setup_done"


async def test_password_reset_through_the_outbox(factory, client, runtime):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    user = await factory.user(tenant, role="staff")
    old = await factory.login(tenant, user.email)
    resp = await client.post("/api/password-reset", json={"email": user.email.upper()},
                             headers={"X-Tenant": tenant.slug})
    assert resp.status_code == 202
    nobody = await client.post("/api/password-reset", json={"email": "nobody@example.com"},
                               headers={"X-Tenant": tenant.slug})
    assert nobody.status_code == 202
    link = await _outbox_link(admin, "Passwort", "reset-password")
    token = _fragment_token(link, "token")
    elsewhere = await factory.tenant()
    wrong_host = await client.post("/api/password-reset/confirm", json={"token": token, "password": "new-password-1"},
                                   headers={"X-Tenant": elsewhere.slug})
    assert wrong_host.status_code == 400 and wrong_host.json()["code"] == "token_invalid"
    short = await client.post("/api/password-reset/confirm", json={"token": token, "password": "x"},
                              headers={"X-Tenant": tenant.slug})
    assert short.status_code == 422 and short.json()["code"] == "password_too_short"
    ok = await client.post("/api/password-reset/confirm", json={"token": token, "password": "new-password-1"},
                           headers={"X-Tenant": tenant.slug})
    assert ok.status_code == 204, ok.text
    reused = await client.post("/api/password-reset/confirm", json={"token": token, "password": "new-password-2"},
                               headers={"X-Tenant": tenant.slug})
    assert reused.json()["code"] == "token_invalid"
    assert (await client.post("/api/login", json={"email": user.email, "password": "new-password-1"},
                              headers={"X-Tenant": tenant.slug})).status_code == 200
    assert (await client.post("/api/login", json={"email": user.email, "password": PASSWORD},
                              headers={"X-Tenant": tenant.slug})).status_code == 401
    # the reset ended the sessions that existed before it
    stale = await client.post("/api/refresh", json={"refresh_token": old.refresh_token},
                              headers={"X-Tenant": tenant.slug})
    assert stale.status_code == 401


async def test_an_expired_reset_link_says_so(factory, client, runtime):
    from xynap.platform.onboarding.models import ActionToken

    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    await client.post("/api/password-reset", json={"email": (await factory.user(tenant)).email},
                      headers={"X-Tenant": tenant.slug})
    token = _fragment_token(await _outbox_link(admin, "Passwort", "reset-password"), "token")
    from xynap.core.security.tokens import hash_refresh_secret

    async with runtime.db.platform_session() as session:
        await session.execute(update(ActionToken).where(ActionToken.token_hash == hash_refresh_secret(token))
                              .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    resp = await client.post("/api/password-reset/confirm", json={"token": token, "password": "new-password-1"},
                             headers={"X-Tenant": tenant.slug})
    assert resp.status_code == 400 and resp.json()["code"] == "token_expired"


async def test_invitation_lets_a_new_user_choose_a_password(factory, client):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    email = f"{unique('inv')}@example.com"
    created = await admin.post("/api/users", json={"email": email, "name": "Ina Neu", "role": "staff"})
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert (await admin.post(f"/api/users/{user_id}/invite")).status_code == 202
    token = _fragment_token(await _outbox_link(admin, "Einladung", "accept-invite"), "token")
    resp = await client.post("/api/password-reset/confirm", json={"token": token, "password": "chosen-password-1"},
                             headers={"X-Tenant": tenant.slug})
    assert resp.status_code == 204
    login = await client.post("/api/login", json={"email": email, "password": "chosen-password-1"},
                              headers={"X-Tenant": tenant.slug})
    assert login.status_code == 200
    staff = await factory.member(tenant, "staff")
    assert (await staff.post(f"/api/users/{user_id}/invite")).json()["code"] == "permission_denied"
    assert (await staff.get("/api/mail/outbox")).json()["code"] == "permission_denied"


async def test_preferences_follow_the_user(factory):
    tenant = await factory.tenant()
    alice = await factory.member(tenant, "staff")
    assert (await alice.get("/api/me/preferences")).json() == {"data": {}}
    layout = {"dashboard": {"widgets": ["core.team", "core.modules"]}, "theme": "dark"}
    assert (await alice.put("/api/me/preferences", json={"data": layout})).status_code == 200
    assert (await alice.get("/api/me/preferences")).json() == {"data": layout}
    bob = await factory.member(tenant, "staff")
    assert (await bob.get("/api/me/preferences")).json() == {"data": {}}
    huge = await alice.put("/api/me/preferences", json={"data": {"x": "y" * 70_000}})
    assert huge.status_code == 422 and huge.json()["errors"][0]["field"] == "data"


async def test_me_tells_the_users_language(factory):
    from xynap.platform.users.models import User

    tenant = await factory.tenant()
    session = await factory.member(tenant, "staff")
    assert (await session.get("/api/me")).json()["locale"] == "de"
    async with factory.runtime.db.tenant_session(tenant.id) as db:
        user = await db.get(User, session.user_id)
        user.locale = "en"
    assert (await session.get("/api/me")).json()["locale"] == "en"
