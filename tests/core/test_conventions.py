"""API conventions: problem+json errors, body limits, validation, OpenAPI, operations endpoints,
request ids, and a route-table fuzz that guards "bad input never produces a 500"."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.factories import unique

PROBLEM_KEYS = {"type", "title", "status", "code", "detail"}


def assert_problem(resp: httpx.Response, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status
    assert body["type"].endswith("/" + body["code"])
    assert isinstance(body["title"], str) and isinstance(body["detail"], str) and body["detail"]
    if code is not None:
        assert body["code"] == code, body
    return body


def fields_of(body: dict) -> set[str]:
    return {e["field"] for e in body.get("errors") or []}


# --- errors -------------------------------------------------------------------------------------------


async def test_errors_are_problem_json(factory, client):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    assert_problem(await client.get("/api/me", headers={"X-Tenant": tenant.slug}), 401, "not_authenticated")
    assert_problem(await admin.get(f"/api/users/{uuid.uuid4()}"), 404, "user_not_found")
    body = assert_problem(await admin.get("/api/users/not-a-uuid"), 422, "validation_error")
    assert fields_of(body) == {"user_id"}
    assert body["errors"][0]["in"] == "path"
    body = assert_problem(await admin.post("/api/users", json={"name": "x"}), 422, "validation_error")
    assert fields_of(body) == {"email"} and body["errors"][0]["in"] == "body"
    assert body["instance"] == "/api/users" and body["request_id"]


async def test_invalid_json_body(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    for raw in (b"{not json", b'{"email": ', b"\xff\xfe", b""):
        resp = await admin.post("/api/users", content=raw, headers={"Content-Type": "application/json"})
        if raw:
            assert_problem(resp, 400, "invalid_json")
        else:  # no body at all is a missing body, not broken JSON
            assert_problem(resp, 422, "validation_error")
    # a body that is JSON but not an object
    assert_problem(await admin.post("/api/users", json=[1, 2]), 422, "validation_error")
    # a deeply nested body does not take the server down
    deep = b"[" * 50_000 + b"]" * 50_000
    resp = await admin.post("/api/users", content=deep, headers={"Content-Type": "application/json"})
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")


@pytest.fixture
def small_body_limit(runtime):
    saved = runtime.settings.max_body_bytes
    runtime.settings.max_body_bytes = 1000
    try:
        yield 1000
    finally:
        runtime.settings.max_body_bytes = saved


async def test_oversized_body_with_content_length(factory, small_body_limit):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    big = {"email": "a@example.com", "name": "x" * (small_body_limit + 10)}
    resp = await admin.post("/api/users", json=big)
    assert_problem(resp, 413, "payload_too_large")
    assert "x-request-id" in resp.headers
    # just under the limit is fine (fails validation instead)
    small = await admin.post("/api/users", json={"email": "bad", "name": "x" * 100})
    assert_problem(small, 422, "validation_error")


async def test_file_uploads_have_their_own_larger_limit(runtime, factory, small_body_limit):
    """A multipart upload over the JSON body limit passes the middleware (it is streamed to disk by its
    handler); over ``max_upload_bytes`` it gets the same 413."""
    tenant = await factory.tenant(modules=("example",))
    admin = await factory.member(tenant, "admin")
    csv = ("Vorname;Nachname\n" + "Anna;Becker\n" * 200).encode()  # ~2.4 kB > the 1,000-byte body limit
    resp = await admin.post("/api/contacts/imports", files={"file": ("people.csv", csv, "text/csv")})
    assert resp.status_code == 201, resp.text
    saved = runtime.settings.max_upload_bytes
    runtime.settings.max_upload_bytes = 1000
    try:
        resp = await admin.post("/api/contacts/imports", files={"file": ("people.csv", csv, "text/csv")})
        assert_problem(resp, 413, "payload_too_large")
    finally:
        runtime.settings.max_upload_bytes = saved


async def test_oversized_chunked_body(factory, small_body_limit):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"email": "a@example.com", "name": "'
        for _ in range(20):
            yield b"x" * 200
        yield b'"}'

    resp = await admin.post("/api/users", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in resp.request.headers
    assert resp.request.headers.get("transfer-encoding") == "chunked"
    assert_problem(resp, 413, "payload_too_large")


async def test_bad_content_length_header(factory, client):
    tenant = await factory.tenant()
    resp = await client.post("/api/login", content=b"{}", headers={"X-Tenant": tenant.slug, "Content-Length": "abc"})
    assert 400 <= resp.status_code < 500
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_unknown_route_and_method(factory, client):
    assert_problem(await client.get("/api/does-not-exist"), 404, "not_found")
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    assert_problem(await admin.get("/api/nothing/here"), 404, "not_found")
    resp = await admin.request("PUT", "/api/users")
    assert_problem(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers.get("allow", "")


async def test_unknown_route_with_other_methods(client):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        body = assert_problem(await client.request(method, "/api/does-not-exist"), 404, "not_found")
        assert body["request_id"] and body["instance"] == "/api/does-not-exist"
    body = assert_problem(await client.get("/api/does-not-exist"), 404, "not_found")
    assert body["request_id"] and body["instance"] == "/api/does-not-exist"


async def test_nul_characters_never_crash(factory):
    """PostgreSQL stores no NUL character: such input is refused with 422 there (SQLite keeps it)."""
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    version = (await admin.get(f"/api/users/{admin.user_id}")).json()["version"]
    for resp in (await admin.post("/api/teams", json={"name": "a\x00b"}),
                 await admin.get("/api/users", params={"q": "\x00"}),
                 await admin.put("/api/settings/company.locale", json={"value": "d\x00e"}),
                 await admin.patch(f"/api/users/{admin.user_id}", json={"version": version, "name": "\x00"})):
        assert resp.status_code in (200, 201, 422), resp.text
        if resp.status_code == 422:
            assert_problem(resp, 422, "invalid_value")


async def test_query_validation(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    body = assert_problem(await admin.get("/api/users", params={"limit": 0}), 422, "validation_error")
    assert fields_of(body) == {"limit"} and body["errors"][0]["in"] == "query"
    assert_problem(await admin.get("/api/users", params={"limit": 201}), 422, "validation_error")
    assert_problem(await admin.get("/api/users", params={"limit": "ten"}), 422, "validation_error")
    body = assert_problem(await admin.get("/api/users", params={"cursor": "!!!not-a-cursor"}), 422, "invalid_cursor")
    assert fields_of(body) == {"cursor"}
    body = assert_problem(await admin.get("/api/users", params={"sort": "-password_hash"}), 422, "invalid_sort")
    assert fields_of(body) == {"sort"}
    assert_problem(await admin.get("/api/users", params={"is_active": "maybe"}), 422, "validation_error")


def _cursor(value: Any, row_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, row_id]).encode()).decode().rstrip("=")


async def test_crafted_cursors_are_refused_not_crashing(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    for _ in range(3):
        await factory.user(tenant)
    first = (await admin.get("/api/users", params={"limit": 1, "sort": "created_at"})).json()
    rid = str(uuid.uuid4())
    crafted = [
        (first["next_cursor"], "name"),  # a cursor of another sort order
        (_cursor(12345, rid), "name"),
        (_cursor({"dt": "2024-01-01T00:00:00"}, rid), "created_at"),  # naive datetime
        (_cursor({"dt": "9999-12-31T23:59:59-14:00"}, rid), "created_at"),
        (_cursor({"u": "zzz"}, rid), "name"),
        (_cursor("abc", "not-a-uuid"), "name"),
        (_cursor([1, 2], rid), "email"),
        (base64.urlsafe_b64encode(b"[1]").decode(), "name"),
        (base64.urlsafe_b64encode(b"null").decode(), "name"),
    ]
    for cursor, sort in crafted:
        resp = await admin.get("/api/users", params={"limit": 1, "sort": sort, "cursor": cursor})
        assert_problem(resp, 422, "invalid_cursor")
    # a real cursor still works
    ok = await admin.get("/api/users", params={"limit": 1, "sort": "created_at", "cursor": first["next_cursor"]})
    assert ok.status_code == 200 and len(ok.json()["items"]) == 1


async def test_query_datetimes(factory):
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    for value in ("2024-01-01T00:00:00", "2024-01-01", "2024-01-01T00:00:00+02:00"):
        resp = await admin.get("/api/audit", params={"since": value})
        assert resp.status_code == 200, (value, resp.text)
    for value in ("9999-12-31T23:59:59-14:00", "yesterday", "0001-01-01T00:00:00+14:00"):
        resp = await admin.get("/api/audit", params={"until": value})
        assert_problem(resp, 422)


# --- documentation and operations ------------------------------------------------------------------------


async def test_openapi_and_docs(client):
    resp = await client.get("/api/openapi.json")
    assert resp.status_code == 200
    spec = resp.json()
    assert spec["openapi"].startswith("3.1.")
    assert "/api/login" in spec["paths"] and "/api/users/{user_id}" in spec["paths"]
    docs = await client.get("/api/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]


async def test_health_ready_metrics(client):
    health = await client.get("/api/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ready = await client.get("/api/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"] == "ok"
    # operations endpoints need no tenant, even with an unknown one named
    assert (await client.get("/api/health", headers={"X-Tenant": unique("ghost")})).status_code == 200
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "xynap_http_requests_total" in metrics.text
    assert 'route="/api/health"' in metrics.text


async def test_request_ids(factory, client):
    resp = await client.get("/api/health")
    generated = resp.headers["x-request-id"]
    assert len(generated) >= 16
    assert (await client.get("/api/health")).headers["x-request-id"] != generated
    echoed = await client.get("/api/health", headers={"X-Request-ID": "abc-123_XYZ.7"})
    assert echoed.headers["x-request-id"] == "abc-123_XYZ.7"
    # errors carry it too, in the header and in the body
    err = await client.get("/api/me", headers={"X-Request-ID": "err-id-1"})
    assert err.status_code == 401
    assert err.headers["x-request-id"] == "err-id-1" and err.json()["request_id"] == "err-id-1"
    # an unusable id (too long, odd characters) is replaced, and does not break audited writes
    tenant = await factory.tenant()
    admin = await factory.member(tenant, "admin")
    for bad in ("x" * 500, "a b\tc", "ü-id"):
        resp = await admin.put("/api/settings/company.locale", json={"value": "en"},
                               headers={"X-Request-ID": bad.encode()})
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-request-id"] and len(resp.headers["x-request-id"]) <= 64


# --- fuzz: every route, malformed input, never a 5xx -----------------------------------------------------

WRONG_TYPES: list[Any] = [None, [], {"a": {"b": [1]}}, True, 10**20, -1, 1.5e300, "x" * 3000]
ODD_STRINGS = ["\x00", "a\x00b", "%_\\", "\\", "'; drop table users; --", "😀é" * 5, " ", "\u202e\ufeff"]
ODD_INTS = [0, -1, 2**31, 2**63, -(2**63) - 1, 10**30]
PATH_VALUES = ["not-a-uuid", "0", "%00", "x" * 300, "😀", "00000000-0000-0000-0000-000000000000"]
QUERY_VALUES = ["", "abc", "-1", "0", "99999999999999999999", "1e309", "nan", "true", "\x00", "%_\\", "x" * 5000,
                "2024-13-45T99:99:99", "9999-12-31T23:59:59-14:00", "2024-01-01T00:00:00", str(uuid.uuid4())]

PLATFORM_ROUTES = ("/api/customers", "/api/platform/", "/api/module-plans/", "/api/modules/")


class SchemaTool:
    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.counter = 0

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            name = schema["$ref"].split("/")[-1]
            schema = self.spec["components"]["schemas"][name]
        return schema

    def valid(self, schema: dict, name: str = "") -> Any:
        schema = self.resolve(schema)
        if "anyOf" in schema:
            options = [s for s in schema["anyOf"] if self.resolve(s).get("type") != "null"]
            return self.valid(options[0], name) if options else None
        if "enum" in schema:
            return schema["enum"][0]
        if "const" in schema:
            return schema["const"]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return {key: self.valid(sub, key) for key, sub in schema.get("properties", {}).items()}
        if kind == "array":
            return []
        if kind == "boolean":
            return False
        if kind in ("integer", "number"):
            return max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
        if kind == "string":
            self.counter += 1
            fmt = schema.get("format")
            if fmt == "email" or "email" in name:
                return f"fuzz{self.counter}-{uuid.uuid4().hex[:6]}@example.com"
            if fmt == "uuid":
                return str(uuid.uuid4())
            if fmt == "date-time":
                return "2024-01-01T00:00:00Z"
            if "pattern" in schema and "a-z" in schema["pattern"]:
                return f"fz{self.counter}"
            return ("fuzz" + str(self.counter) + "x" * schema.get("minLength", 1))[: schema.get("maxLength", 10**6)]
        return "fuzz"

    def body_variants(self, schema: dict) -> list[tuple[str, Any]]:
        """(label, json value or raw bytes) pairs: structural junk, then one odd field at a time."""
        base = self.valid(schema)
        out: list[tuple[str, Any]] = [("null", None), ("list", []), ("string", "x"), ("number", 7), ("empty", {}),
                                      ("raw", b"{\"unterminated"), ("base", base)]
        props = self.resolve(schema).get("properties", {})
        for key, sub in props.items():
            sub = self.resolve(sub)
            kinds = {self.resolve(s).get("type") for s in sub.get("anyOf", [sub])}
            values = list(WRONG_TYPES)
            if "string" in kinds:
                values += ODD_STRINGS
                if "maxLength" in sub:
                    values.append("é" * sub["maxLength"])
            if kinds & {"integer", "number"}:
                values += ODD_INTS
            for value in values:
                out.append((f"{key}={str(value)[:20]!r}", {**self.valid(schema), key: value}))
        out.append(("extra", {**self.valid(schema), "unexpected": "field", "__proto__": {}}))
        return out


@pytest.fixture
async def fuzz_world(factory, runtime):
    """A tenant with one of everything, its admin, and a platform admin."""
    modules = ("example",) if runtime.registry.get("example") is not None else ()
    tenant = await factory.tenant(modules=modules, user_limit=1000)
    admin = await factory.member(tenant, "admin")
    staff = await factory.user(tenant, role="staff")
    team = (await admin.post("/api/teams", json={"name": "Fuzz", "member_ids": [str(staff.id)]})).json()
    role = (await admin.post("/api/roles", json={"name": "fuzzer", "label": "Fuzzer"})).json()
    subs = (await admin.get("/api/subscriptions")).json()
    ids: dict[str, str] = {"user_id": str(staff.id), "team_id": team["id"], "role_id": role["id"],
                           "key": "company.timezone"}
    if subs:
        ids["subscription_id"] = subs[0]["id"]
    if modules:
        item = await admin.post("/api/example/items", json={"title": "fuzz"})
        ids["item_id"] = item.json()["id"]
    customer = await factory.tenant()
    platform = await factory.platform("admin")
    return {"admin": admin, "platform": platform, "ids": ids, "platform_ids": {"customer_id": str(customer.id)}}


def _fill(path: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        path = path.replace("{" + key + "}", value)
    return path


async def test_fuzz_never_5xx(client, fuzz_world, caplog):
    caplog.set_level(logging.ERROR)
    spec = (await client.get("/api/openapi.json")).json()
    tool = SchemaTool(spec)
    failures: list[str] = []
    count = 0

    async def send(session, method: str, url: str, label: str, **kw: Any) -> None:
        nonlocal count
        count += 1
        try:
            resp = await session.request(method, url, **kw)
        except Exception as exc:  # an exception escaping the app is as bad as a 500
            failures.append(f"{method} {url} [{label}]: raised {exc!r}")
            return
        if resp.status_code >= 500:
            failures.append(f"{method} {url} [{label}]: {resp.status_code} {resp.text[:300]}")
        elif resp.status_code >= 400 and not resp.headers.get("content-type", "").startswith(
                "application/problem+json"):
            failures.append(f"{method} {url} [{label}]: {resp.status_code} is not problem+json")

    operations = [(path, method.upper(), op) for path, ops in spec["paths"].items() for method, op in ops.items()]
    # the logout ends the fuzzing admin's refresh family: run it last
    operations.sort(key=lambda o: o[0] == "/api/logout")
    for path, method, op in operations:
        platform_route = path.startswith(PLATFORM_ROUTES)
        session = fuzz_world["platform"] if platform_route else fuzz_world["admin"]
        real = fuzz_world["platform_ids"] if platform_route else fuzz_world["ids"]
        params = op.get("parameters", [])
        path_names = [p["name"] for p in params if p["in"] == "path"]
        query = [p for p in params if p["in"] == "query"]

        # path parameters: malformed, unknown, and (where harmless) real ids
        urls = []
        if path_names:
            for value in PATH_VALUES + [str(uuid.uuid4())]:
                urls.append(_fill(path, {n: value for n in path_names}))
            if all(n in real for n in path_names):
                urls.append(_fill(path, real))
        else:
            urls.append(path)
        good_url = urls[-1]
        for url in urls[:-1]:
            await send(session, method, url, "path")

        # query parameters: one odd value at a time
        for param in query:
            for value in QUERY_VALUES:
                await send(session, method, good_url, f"{param['name']}={value[:20]!r}",
                           params={param["name"]: value})
        if query:
            await send(session, method, good_url, "all-odd", params={p["name"]: "\x00%" for p in query})

        # bodies
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if body is not None:
            for label, value in tool.body_variants(body):
                if isinstance(value, bytes):
                    await send(session, method, good_url, label, content=value,
                               headers={"Content-Type": "application/json"})
                else:
                    await send(session, method, good_url, label, json=value)
            await send(session, method, good_url, "form", content=b"a=1&b=2",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
            await send(session, method, good_url, "text", content=b"hello", headers={"Content-Type": "text/plain"})
        else:
            await send(session, method, good_url, "plain")
            await send(session, method, good_url, "unexpected-body", json={"surprise": [None] * 100})
        # the other kind of caller, and nobody at all
        other = fuzz_world["admin"] if platform_route else fuzz_world["platform"]
        await send(other, method, good_url, "other-caller")
        await send(client, method, good_url, "anonymous")
        await send(client, method, good_url, "garbage-token", headers={"Authorization": "Bearer a.b.c"})

    assert count > 500
    assert not failures, f"{len(failures)} of {count} requests failed:\n" + "\n".join(failures[:60])
    # nothing failed quietly either (e.g. the audit row of a refused request)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("xynap")]
    assert not errors, "\n".join(errors[:30])
