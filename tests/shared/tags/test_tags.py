"""Tags as their own component at /api/tags: usage counts per entity, unique names, deletion
removes the tag from every record, permissions; the old path under /api/contacts is gone."""

from __future__ import annotations

import pytest


@pytest.fixture
async def company(factory):
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    return tenant, admin


async def test_usage_counts_and_deletion(company, factory):
    tenant, admin = company
    vip = (await admin.post("/api/tags", json={"name": "VIP", "color": "#eab308"})).json()
    spare = (await admin.post("/api/tags", json={"name": "Leer"})).json()
    # every registered entity is counted (contacts here; modules add theirs, e.g. deals)
    assert vip["usage"]["contact"] == 0 and set(vip["usage"].values()) == {0} and vip["color"] == "#eab308"
    contacts = [(await admin.post("/api/contacts", json={"last_name": name})).json() for name in ("A", "B", "C")]
    for contact in contacts[:2]:
        resp = await admin.put(f"/api/contacts/{contact['id']}/tags", json={"tag_ids": [vip["id"]]})
        assert resp.status_code == 200

    listed = {t["name"]: t for t in (await admin.get("/api/tags")).json()}
    assert listed["VIP"]["usage"]["contact"] == 2 and listed["Leer"]["usage"]["contact"] == 0
    assert (await admin.get(f"/api/tags/{vip['id']}")).json()["usage"]["contact"] == 2
    resp = await admin.patch(f"/api/tags/{spare['id']}", json={"name": "vip"})
    assert resp.status_code == 409 and resp.json()["code"] == "tag_exists"
    resp = await admin.patch(f"/api/tags/{vip['id']}", json={"color": "#000000"})
    assert resp.status_code == 200 and resp.json()["usage"]["contact"] == 2

    # another company has its own tags, even with the same name
    other = await factory.member(await factory.tenant(modules=("example",)), "admin")
    assert (await other.post("/api/tags", json={"name": "VIP"})).status_code == 201
    assert [t["name"] for t in (await other.get("/api/tags")).json()] == ["VIP"]
    assert (await other.get(f"/api/tags/{vip['id']}")).status_code == 404

    assert (await admin.delete(f"/api/tags/{vip['id']}")).status_code == 204
    assert (await admin.get(f"/api/contacts/{contacts[0]['id']}")).json()["tags"] == []
    assert [t["name"] for t in (await admin.get("/api/tags")).json()] == ["Leer"]

    external = await factory.member(tenant, "external")
    assert (await external.get("/api/tags")).status_code == 200
    resp = await external.post("/api/tags", json={"name": "Neu"})
    assert resp.status_code == 403 and resp.json()["code"] == "permission_denied"
    assert (await admin.post("/api/tags", json={"name": "  "})).status_code == 422
    assert (await admin.get("/api/contacts/tags")).status_code != 200
