"""Login, tokens, refresh rotation with reuse detection, logout, rate limits and tenant routing."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import httpx
import jwt

from tests.factories import PASSWORD, unique


def assert_problem(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["code"] == code, body
    assert body["status"] == status
    return body


async def login(client: httpx.AsyncClient, tenant, email: str, password: str = PASSWORD, **headers: str):
    if tenant is not None:
        headers.setdefault("X-Tenant", tenant.slug)
    return await client.post("/api/login", json={"email": email, "password": password}, headers=headers)


def bearer(token: str, tenant=None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if tenant is not None:
        headers["X-Tenant"] = tenant.slug
    return headers


# --- login -------------------------------------------------------------------------------------------


async def test_login_returns_token_pair(factory, client):
    tenant = await factory.tenant()
    user = await factory.user(tenant, role="staff")
    resp = await login(client, tenant, user.email)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    me = await client.get("/api/me", headers=bearer(body["access_token"], tenant))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(user.id)
    assert me.json()["kind"] == "tenant"


async def test_wrong_password_and_unknown_email_look_the_same(factory, client):
    tenant = await factory.tenant()
    user = await factory.user(tenant)
    wrong = assert_problem(await login(client, tenant, user.email, "not-the-password"), 401, "invalid_credentials")
    unknown = assert_problem(await login(client, tenant, "nobody@example.com"), 401, "invalid_credentials")
    assert wrong["detail"] == unknown["detail"]


async def test_email_is_case_insensitive(factory, client):
    tenant = await factory.tenant()
    user = await factory.user(tenant, email=f"{unique('Mixed')}@Example.COM")
    resp = await login(client, tenant, "  " + user.email.upper() + " ")
    assert resp.status_code == 200, resp.text


async def test_inactive_user_cannot_log_in(factory, client):
    tenant = await factory.tenant()
    user = await factory.user(tenant, active=False)
    assert_problem(await login(client, tenant, user.email), 403, "user_inactive")
    # a wrong password does not reveal that the account exists but is inactive
    assert_problem(await login(client, tenant, user.email, "wrong-password"), 401, "invalid_credentials")


async def test_user_of_another_tenant_cannot_log_in_here(factory, client):
    a, b = await factory.tenant(), await factory.tenant()
    user = await factory.user(a)
    assert_problem(await login(client, b, user.email), 401, "invalid_credentials")


async def test_rate_limit_per_account(factory, client, runtime):
    tenant = await factory.tenant()
    user = await factory.user(tenant)
    limit = runtime.settings.login_max_failures_per_account
    for _ in range(limit):
        assert_problem(await login(client, tenant, user.email, "wrong-password"), 401, "invalid_credentials")
    resp = await login(client, tenant, user.email)  # even the right password is refused now
    assert_problem(resp, 429, "login_rate_limited")
    assert int(resp.headers["retry-after"]) > 0
    # other accounts of the same tenant are not affected
    other = await factory.user(tenant)
    assert (await login(client, tenant, other.email)).status_code == 200


async def test_successful_login_resets_the_account_counter(factory, client, runtime):
    tenant = await factory.tenant()
    user = await factory.user(tenant)
    limit = runtime.settings.login_max_failures_per_account
    for _ in range(limit - 1):
        assert_problem(await login(client, tenant, user.email, "wrong-password"), 401, "invalid_credentials")
    assert (await login(client, tenant, user.email)).status_code == 200
    for _ in range(limit - 1):
        assert_problem(await login(client, tenant, user.email, "wrong-password"), 401, "invalid_credentials")
    assert (await login(client, tenant, user.email)).status_code == 200


async def test_rate_limit_per_ip(factory, app, runtime):
    tenant = await factory.tenant()
    user = await factory.user(tenant)
    ip = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    transport = httpx.ASGITransport(app=app, client=(ip, 1234))
    saved = runtime.settings.login_max_failures_per_ip
    runtime.settings.login_max_failures_per_ip = 3
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as own:
            for n in range(3):  # different (unknown) accounts: only the IP counter adds up
                assert_problem(await login(own, tenant, f"ghost{n}@example.com", "x"), 401, "invalid_credentials")
            resp = await login(own, tenant, user.email)
            assert_problem(resp, 429, "login_rate_limited")
            assert "retry-after" in resp.headers
    finally:
        runtime.settings.login_max_failures_per_ip = saved
    # the account itself is not locked: from another address it still logs in
    assert (await login(factory.client, tenant, user.email)).status_code == 200


# --- tokens ------------------------------------------------------------------------------------------


async def test_refresh_rotates_and_spends_the_old_token(factory, client):
    tenant = await factory.tenant()
    session = await factory.member(tenant, "staff")
    resp = await client.post("/api/refresh", json={"refresh_token": session.refresh_token},
                             headers={"X-Tenant": tenant.slug})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["refresh_token"] != session.refresh_token
    me = await client.get("/api/me", headers=bearer(body["access_token"], tenant))
    assert me.status_code == 200
    # the new refresh token works once more
    again = await client.post("/api/refresh", json={"refresh_token": body["refresh_token"]},
                              headers={"X-Tenant": tenant.slug})
    assert again.status_code == 200, again.text


async def test_refresh_reuse_revokes_the_whole_family(factory, client):
    tenant = await factory.tenant()
    session = await factory.member(tenant, "staff")
    headers = {"X-Tenant": tenant.slug}
    first = await client.post("/api/refresh", json={"refresh_token": session.refresh_token}, headers=headers)
    assert first.status_code == 200, first.text
    newer = first.json()["refresh_token"]
    # the spent token comes back from another client (a thief's copy): refused, and the session ends
    reused = await client.post("/api/refresh", json={"refresh_token": session.refresh_token},
                               headers={**headers, "User-Agent": "curl/8.0"})
    assert_problem(reused, 401, "refresh_reused")
    assert_problem(await client.post("/api/refresh", json={"refresh_token": newer}, headers=headers),
                   401, "refresh_revoked")
    # another login of the same user is not affected
    other = await factory.login(tenant, (await client.get("/api/me", headers=session.headers)).json()["email"])
    ok = await client.post("/api/refresh", json={"refresh_token": other.refresh_token}, headers=headers)
    assert ok.status_code == 200, ok.text


async def test_a_lost_refresh_answer_does_not_end_the_login(factory, client, runtime):
    """A browser reloading mid-refresh sends its spent token again: the same client gets fresh tokens
    within the grace period; the same replay later ends the login like any other reuse."""
    from sqlalchemy import update

    from xynap.core.db import utcnow
    from xynap.core.security.tokens import hash_refresh_secret
    from xynap.platform.auth.models import RefreshToken

    tenant = await factory.tenant()
    session = await factory.member(tenant, "staff")
    headers = {"X-Tenant": tenant.slug, "User-Agent": "Mozilla/5.0 (X11) Firefox/140.0"}
    first = await client.post("/api/refresh", json={"refresh_token": session.refresh_token}, headers=headers)
    assert first.status_code == 200, first.text
    # the answer never reached the page; it sends the spent token again
    again = await client.post("/api/refresh", json={"refresh_token": session.refresh_token}, headers=headers)
    assert again.status_code == 200, again.text
    renewed = again.json()
    assert renewed["refresh_token"] not in (session.refresh_token, first.json()["refresh_token"])
    assert (await client.get("/api/me", headers={"Authorization": f"Bearer {renewed['access_token']}",
                                                  "X-Tenant": tenant.slug})).status_code == 200
    # the renewed token rotates on as usual
    onward = await client.post("/api/refresh", json={"refresh_token": renewed["refresh_token"]}, headers=headers)
    assert onward.status_code == 200, onward.text

    # after the grace period the same replay is theft: the whole login ends
    async with runtime.db.session(platform=True) as db:
        await db.execute(update(RefreshToken).where(
            RefreshToken.token_hash == hash_refresh_secret(session.refresh_token))
            .values(used_at=utcnow() - dt.timedelta(seconds=runtime.settings.refresh_reuse_grace_seconds + 5)))
        await db.commit()
    late = await client.post("/api/refresh", json={"refresh_token": session.refresh_token}, headers=headers)
    assert_problem(late, 401, "refresh_reused")
    latest = onward.json()["refresh_token"]
    assert_problem(await client.post("/api/refresh", json={"refresh_token": latest}, headers=headers),
                   401, "refresh_revoked")


async def test_refresh_token_of_another_tenant_is_refused(factory, client):
    a, b = await factory.tenant(), await factory.tenant()
    session = await factory.member(a)
    resp = await client.post("/api/refresh", json={"refresh_token": session.refresh_token},
                             headers={"X-Tenant": b.slug})
    assert_problem(resp, 401, "refresh_invalid")
    garbage = await client.post("/api/refresh", json={"refresh_token": "x" * 40}, headers={"X-Tenant": a.slug})
    assert_problem(garbage, 401, "refresh_invalid")


async def test_logout_revokes_the_refresh_tokens(factory, client):
    tenant = await factory.tenant()
    session = await factory.member(tenant, "staff")
    resp = await session.post("/api/logout", json={})
    assert resp.status_code == 204, resp.text
    refreshed = await client.post("/api/refresh", json={"refresh_token": session.refresh_token},
                                  headers={"X-Tenant": tenant.slug})
    assert_problem(refreshed, 401, "refresh_revoked")


async def test_logout_needs_a_login(factory, client):
    tenant = await factory.tenant()
    assert_problem(await client.post("/api/logout", json={}, headers={"X-Tenant": tenant.slug}),
                   401, "not_authenticated")


def _token(runtime, *, user_id, tenant_id, exp_delta: int, key: str | None = None, kind: str = "tenant") -> str:
    now = int(time.time())
    claims = {"iss": "xynap", "sub": str(user_id), "knd": kind, "tid": str(tenant_id) if tenant_id else None,
              "rol": "admin", "fam": str(uuid.uuid4()), "iat": now - 3600, "exp": now + exp_delta}
    return jwt.encode(claims, key or runtime.settings.effective_secret_key, algorithm="HS256")


async def test_expired_access_token(factory, client, runtime):
    tenant = await factory.tenant()
    user = await factory.user(tenant)
    token = _token(runtime, user_id=user.id, tenant_id=tenant.id, exp_delta=-60)
    assert_problem(await client.get("/api/me", headers=bearer(token, tenant)), 401, "token_expired")
    fresh = _token(runtime, user_id=user.id, tenant_id=tenant.id, exp_delta=600)
    assert (await client.get("/api/me", headers=bearer(fresh, tenant))).status_code == 200


async def test_forged_and_garbage_tokens(factory, client, runtime):
    tenant = await factory.tenant()
    user = await factory.user(tenant)
    forged = _token(runtime, user_id=user.id, tenant_id=tenant.id, exp_delta=600,
                    key="some-other-key-that-is-long-enough-0123456789-abcdef")
    assert_problem(await client.get("/api/me", headers=bearer(forged, tenant)), 401, "token_invalid")
    assert_problem(await client.get("/api/me", headers=bearer("not.a.jwt", tenant)), 401, "token_invalid")
    unsigned = jwt.encode({"iss": "xynap", "sub": str(user.id), "exp": int(time.time()) + 60}, None,
                          algorithm="none")
    assert_problem(await client.get("/api/me", headers=bearer(unsigned, tenant)), 401, "token_invalid")
    resp = await client.get("/api/me", headers={"X-Tenant": tenant.slug})
    assert_problem(resp, 401, "not_authenticated")
    assert resp.headers.get("www-authenticate") == "Bearer"


async def test_token_of_another_tenant(factory, client):
    a, b = await factory.tenant(), await factory.tenant()
    session = await factory.member(a)
    resp = await client.get("/api/me", headers={"Authorization": f"Bearer {session.token}", "X-Tenant": b.slug})
    assert_problem(resp, 401, "token_tenant_mismatch")
    # a tenant token on the platform host is not a platform login either
    assert_problem(await client.get("/api/me", headers={"Authorization": f"Bearer {session.token}"}),
                   401, "token_tenant_mismatch")


async def test_unknown_and_suspended_tenant(factory, client):
    assert_problem(await client.post("/api/login", json={"email": "a@example.com", "password": "x"},
                                     headers={"X-Tenant": unique("nope")}), 404, "tenant_not_found")
    tenant = await factory.tenant(status="suspended")
    user = await factory.user(tenant)
    assert_problem(await login(client, tenant, user.email), 403, "tenant_suspended")
    cancelled = await factory.tenant(status="cancelled")
    assert_problem(await client.get("/api/me", headers={"X-Tenant": cancelled.slug}), 403, "tenant_cancelled")


async def test_platform_login_on_the_platform_host(factory, client):
    staff = await factory.platform_user(role="admin")
    resp = await login(client, None, staff.email)
    assert resp.status_code == 200, resp.text
    token = resp.json()["access_token"]
    me = await client.get("/api/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["kind"] == "platform" and me.json()["tenant"] is None
    # a platform token is not valid on a tenant's address
    tenant = await factory.tenant()
    assert_problem(await client.get("/api/me", headers=bearer(token, tenant)), 401, "token_tenant_mismatch")
    # a tenant user's credentials do not work on the platform host
    user = await factory.user(tenant)
    assert_problem(await login(client, None, user.email), 401, "invalid_credentials")
    # platform refresh works on the platform host
    refreshed = await client.post("/api/refresh", json={"refresh_token": resp.json()["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text


async def test_host_name_resolves_the_tenant(factory, client):
    tenant = await factory.tenant()
    user = await factory.user(tenant)
    host = {"Host": f"{tenant.slug}.localhost"}
    resp = await client.post("/api/login", json={"email": user.email, "password": PASSWORD}, headers=host)
    assert resp.status_code == 200, resp.text
    me = await client.get("/api/me", headers={**host, "Authorization": f"Bearer {resp.json()['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["tenant"]["slug"] == tenant.slug
    assert me.json()["tenant"]["id"] == str(tenant.id)
    # with a port and upper case too
    upper = {"Host": f"{tenant.slug.upper()}.LOCALHOST:8000",
             "Authorization": f"Bearer {resp.json()['access_token']}"}
    assert (await client.get("/api/me", headers=upper)).status_code == 200
    assert_problem(await client.get("/api/me", headers={"Host": f"{unique('ghost')}.localhost"}),
                   404, "tenant_not_found")


async def test_logins_are_audited(factory, client):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    user = await factory.user(tenant, role="staff")
    assert (await login(client, tenant, user.email)).status_code == 200
    assert_problem(await login(client, tenant, user.email, "wrong-password"), 401, "invalid_credentials")
    resp = await admin.get("/api/audit", params={"action": "auth.", "limit": 200})
    assert resp.status_code == 200, resp.text
    rows = [r for r in resp.json()["items"] if r["actor_email"] == user.email]
    actions = sorted(r["action"] for r in rows)
    assert actions == ["auth.login", "auth.login_failed"], rows
    ok = next(r for r in rows if r["action"] == "auth.login")
    assert ok["actor_id"] == str(user.id) and ok["actor_kind"] == "tenant"
    assert ok["tenant_id"] == str(tenant.id) and ok["status_code"] == 200
    failed = next(r for r in rows if r["action"] == "auth.login_failed")
    assert failed["status_code"] == 401 and failed["ip"] == "127.0.0.1"
    # the failed login left exactly one audit row (no extra http.post fallback row)
    fallback = await admin.get("/api/audit", params={"action": "http.post", "limit": 200})
    assert not [r for r in fallback.json()["items"] if r["changes"].get("path") == "/api/login"]


async def test_stale_bearer_does_not_block_login_or_refresh(factory, client, runtime):
    """Clients often keep sending the expired access token; login and refresh do not need it."""
    tenant = await factory.tenant()
    user = await factory.user(tenant)
    staff = await factory.platform_user(role="staff")
    expired = _token(runtime, user_id=staff.id, tenant_id=None, exp_delta=-60, kind="platform")
    for stale in (expired, "garbage"):
        for who, where in ((staff.email, None), (user.email, tenant)):
            headers = {"Authorization": f"Bearer {stale}"}
            if where is not None:
                headers["X-Tenant"] = where.slug
            resp = await client.post("/api/login", json={"email": who, "password": PASSWORD}, headers=headers)
            assert resp.status_code == 200, (who, resp.text)
            refreshed = await client.post("/api/refresh", json={"refresh_token": resp.json()["refresh_token"]},
                                          headers=headers)
            assert refreshed.status_code == 200, (who, refreshed.text)
    # endpoints that need a login still refuse the stale token with the precise reason
    assert_problem(await client.get("/api/me", headers={"Authorization": f"Bearer {expired}"}), 401, "token_expired")
