async def test_login_and_me(factory, client):
    tenant = await factory.tenant()
    alice = await factory.member(tenant, role="admin")
    resp = await alice.get("/api/me")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["tenant"]["slug"] == tenant.slug
    assert body["permissions"]["users:read"] == "all"
