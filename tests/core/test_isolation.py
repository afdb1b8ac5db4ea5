"""Tenant isolation across every route, generated from the app's routes.

Every ``APIRoute`` under ``/api`` whose path addresses a record by id (``{<entity>_id}``) is
called, with every method it serves, by the administrator of tenant B using the ids of tenant A's
records. The answer must be 404 (problem+json with a ``code``): B must not even learn that the
record exists. A route added later is covered without a new test, as long as its path parameter
follows the naming convention and tenant A has a row of its entity (the demo data of the module
provides it; the test fails with "add demo data for <entity>" otherwise).

Path parameter ``{<entity>_id}`` → model: the mapped class whose entity name is ``<entity>``,
i.e. its ``__entity_name__`` or else its table name without a trailing "s" (as the audit log
names entities). For routes of a module (``/api/<slug>/...``) the module-qualified names
``<slug>.<entity>`` and ``<slug>_<entity>`` are tried first, so ``/api/example/items/{item_id}``
finds the table ``example_items``.

Routes that answer B's tenant admin with 403 ``platform_user_required`` belong to platform staff:
a reseller must get 404 for a customer created by another reseller, and any other platform route
must refuse a reseller (404 or 403 ``permission_denied``). Catalog-wide routes (global data, not
tenant data) are listed in ``GLOBAL_ROUTES`` and skipped; the list is checked so that a tenant
route cannot hide in it.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from tests.factories import TenantHandle, unique
from xynap.core.audit import entity_name
from xynap.core.db import Base
from xynap.platform.tenants.models import Tenant

# (method, path) → table of the global record it addresses. Only platform routes on data that
# belongs to no tenant may be listed here; the test checks both.
GLOBAL_ROUTES: dict[tuple[str, str], str] = {
    ("PATCH", "/api/modules/{module_id}"): "modules",
    ("PATCH", "/api/module-plans/{plan_id}"): "module_plans",
}

CUSTOMER_ENTITY = "customer"  # Tenant.__entity_name__: the tenant itself, as platform staff see it
PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z]+)?\}")
ID_SUFFIX = "_id"


# --- routes ---------------------------------------------------------------------------------------


def api_routes(app: Any) -> list[tuple[str, frozenset[str]]]:
    """(full path, methods) of every APIRoute of the app, including those of included routers."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are flattened into app.routes
        return [(r.path, frozenset(r.methods)) for r in app.routes if isinstance(r, APIRoute)]
    out = []
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, APIRoute):
            out.append((ctx.path, frozenset(ctx.methods or ())))
    return out


@dataclass(frozen=True)
class Target:
    method: str
    path: str
    id_params: tuple[str, ...]  # e.g. ("user_id",)
    module: str | None  # slug when the route belongs to a module (/api/<slug>/...)

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def id_targets(app: Any, module_slugs: set[str]) -> list[Target]:
    targets = []
    for path, methods in api_routes(app):
        if not path.startswith("/api/"):
            continue
        params = tuple(p for p in PARAM.findall(path) if p.endswith(ID_SUFFIX))
        if not params:
            continue
        segment = path.split("/")[2]
        module = segment if segment in module_slugs else None
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            targets.append(Target(method, path, params, module))
    return targets


# --- entities -------------------------------------------------------------------------------------


def entity_index() -> dict[str, list[type]]:
    index: dict[str, list[type]] = defaultdict(list)
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if hasattr(cls, "__tablename__"):
            index[entity_name(cls)].append(cls)
    return index


def model_for(param: str, target: Target, index: dict[str, list[type]]) -> type:
    entity = param.removesuffix(ID_SUFFIX)
    names = [f"{target.module}.{entity}", f"{target.module}_{entity}", entity] if target.module else [entity]
    for name in names:
        found = index.get(name, [])
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            pytest.fail(f"{target}: the entity {name!r} is ambiguous ({', '.join(c.__name__ for c in found)}); "
                        "give the models distinct __entity_name__ values")
    pytest.fail(f"{target}: no model for the path parameter {{{param}}} (tried the entity names "
                f"{', '.join(map(repr, names))}); name the parameter after the entity or set __entity_name__ "
                f"on the model")


def is_tenant_data(cls: type) -> bool:
    return cls is Tenant or "tenant_id" in cls.__table__.c


def snapshot_of(obj: Any) -> dict[str, Any]:
    return {col.key: getattr(obj, col.key) for col in obj.__mapper__.column_attrs}


# Direct inserts for kernel entities that demo data does not produce. A module provides rows of its
# own entities through its manifest's ``demo`` hook instead.
async def _fill_job(session: Any, tenant_id: uuid.UUID) -> None:
    from xynap.core.kernel_models import Job

    now = dt.datetime.now(dt.UTC)
    session.add(Job(name="isolation.probe", payload={"probe": True}, status="dead", attempts=1, max_attempts=1,
                    run_at=now, created_at=now, finished_at=now, last_error="probe"))


async def _fill_team(session: Any, tenant_id: uuid.UUID) -> None:
    from xynap.platform.users.models import Team

    session.add(Team(name=unique("Isolation team "), description="probe"))


async def _fill_user(session: Any, tenant_id: uuid.UUID) -> None:
    from xynap.platform.users.models import User

    session.add(User(email=f"{unique('probe')}@example.com", name="Probe", role="staff"))


FILLERS = {"job": _fill_job, "team": _fill_team, "user": _fill_user}


async def row_of_tenant(runtime: Any, tenant_id: uuid.UUID, cls: type, entity: str,
                        fillers: dict[str, Any] = FILLERS) -> uuid.UUID:
    """An id of a row of ``cls`` in the tenant, inserting one if a filler knows how."""
    if cls is Tenant:
        return tenant_id
    for attempt in range(2):
        async with runtime.db.tenant_session(tenant_id) as session:
            found = await session.scalar(select(cls.id).where(cls.tenant_id == tenant_id).order_by(cls.id).limit(1))
            if found is not None:
                return found
            if attempt or entity not in fillers:
                break
            await fillers[entity](session, tenant_id)
    pytest.fail(f"tenant A has no {entity!r} row (model {cls.__name__}, table {cls.__tablename__}), so the "
                f"isolation of its routes cannot be tested: add demo data for {entity} (a `demo` hook in the "
                "module's manifest, see xynap.platform.demo)")


# --- request bodies from the OpenAPI schema ---------------------------------------------------------


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**spec["components"]["schemas"][name], **rest}
    return schema


def _string(schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    by_format = {
        "email": "probe@example.com",
        "uuid": str(uuid.uuid4()),
        "date-time": dt.datetime.now(dt.UTC).isoformat(),
        "date": dt.date.today().isoformat(),
        "time": "12:00:00",
        "uri": "https://example.com/",
        "ipv4": "192.0.2.1",
        "binary": "x",
    }
    if fmt in by_format:
        return by_format[fmt]
    low, high = schema.get("minLength", 1), schema.get("maxLength", 64)
    candidates = ["x" * max(low, 1), "probe", "a" * max(low, 2), "probe-1", "x1", "1", "0"]
    pattern = schema.get("pattern")
    for value in candidates:
        value = value[:high] if len(value) > high else value
        if len(value) >= low and (pattern is None or re.search(pattern, value)):
            return value
    pytest.fail(f"cannot build a string for the schema {schema}; extend _string in {__name__}")


def _number(schema: dict[str, Any], integer: bool) -> int | float:
    value: float = 1
    if "minimum" in schema:
        value = schema["minimum"]
    elif "exclusiveMinimum" in schema:
        value = schema["exclusiveMinimum"] + 1
    if "maximum" in schema:
        value = min(value, schema["maximum"])
    elif "exclusiveMaximum" in schema:
        value = min(value, schema["exclusiveMaximum"] - 1)
    if "multipleOf" in schema:
        value = schema["multipleOf"]
    return int(value) if integer else value


def sample(schema: dict[str, Any], spec: dict[str, Any], *, version: int, name: str = "") -> Any:
    """A minimal valid value for a JSON schema: required properties only, the smallest allowed values."""
    schema = _resolve(schema, spec)
    if name == "version":
        return version
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [_resolve(o, spec) for o in schema[key]]
            usable = [o for o in options if o.get("type") != "null"] or options
            return sample(usable[0], spec, version=version, name=name)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part, spec))
        return sample(merged, spec, version=version, name=name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {key: sample(props.get(key, {}), spec, version=version, name=key) for key in schema.get("required", [])}
    if kind == "array":
        count = schema.get("minItems", 0)
        return [sample(schema.get("items", {}), spec, version=version) for _ in range(count)]
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        return _number(schema, integer=True)
    if kind == "number":
        return _number(schema, integer=False)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "x"  # any value is valid


def build_request(target: Target, spec: dict[str, Any], ids: dict[str, uuid.UUID],
                  version: int) -> tuple[str, dict[str, Any], Any]:
    """(url, query params, json body or None) for a call of ``target`` with the given ids."""
    operation = spec["paths"].get(target.path, {}).get(target.method.lower())

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in ids:
            return str(ids[name])
        params = (operation or {}).get("parameters", [])
        schema = next((p.get("schema", {}) for p in params if p["name"] == name and p["in"] == "path"), {})
        return str(sample(schema, spec, version=version, name=name))

    url = PARAM.sub(substitute, target.path)
    if operation is None:
        pytest.fail(f"{target} is hidden from the OpenAPI schema, so no valid request can be built for it; "
                    "publish it or extend this test")
    query = {p["name"]: sample(p.get("schema", {}), spec, version=version, name=p["name"])
             for p in operation.get("parameters", []) if p["in"] == "query" and p.get("required")}
    body = None
    content = (operation.get("requestBody") or {}).get("content", {})
    if content:
        if "application/json" not in content:
            pytest.fail(f"{target} takes {', '.join(content)}; extend this test to send such a body")
        body = sample(content["application/json"].get("schema", {}), spec, version=version)
    return url, query, body


# --- the test -------------------------------------------------------------------------------------


def _is_problem(resp: Any, status: int, code: str | None = None) -> bool:
    if resp.status_code != status or not resp.headers.get("content-type", "").startswith("application/problem+json"):
        return False
    payload = resp.json()
    return bool(payload.get("code")) and (code is None or payload["code"] == code)


def _describe(resp: Any) -> str:
    return f"{resp.status_code} {resp.text[:300]}"


@dataclass
class World:
    a: TenantHandle
    b: TenantHandle
    a_admin: Any
    b_admin: Any
    reseller_a: Any  # created tenant A
    reseller_other: Any
    rows: dict[type, uuid.UUID] = field(default_factory=dict)  # model → a row of tenant A
    before: dict[type, dict[str, Any]] = field(default_factory=dict)


async def _tenant_a(factory: Any, runtime: Any) -> tuple[TenantHandle, Any]:
    """Tenant A: the demo company (people, teams, every module booked, each with its demo data)."""
    from xynap.platform.demo import DEMO_PASSWORD, DEMO_PEOPLE, seed_demo

    slug = unique("iso-a")
    result = await seed_demo(runtime, slug=slug, strict=True)
    tenant = TenantHandle(id=result.tenant_id, slug=slug)
    missing = {m.slug for m in runtime.registry.bookable()} - set(result.modules)
    assert not missing, f"the demo tenant did not book {missing}: {result.problems}"
    admin = await factory.login(tenant, DEMO_PEOPLE[0].email, DEMO_PASSWORD)
    admin.user_id = result.users[DEMO_PEOPLE[0].key]
    return tenant, admin


async def _book_everything(runtime: Any, tenant_id: uuid.UUID) -> None:
    from xynap.platform.catalog.subscriptions import book_module

    for module in runtime.registry.bookable():  # dependency order
        assert module.plans, f"module {module.slug!r} has no plans and cannot be booked"
        async with runtime.db.tenant_session(tenant_id) as session:
            await book_module(session, runtime, tenant_id, module.slug, tier=module.plans[0].tier, activate=True)
    runtime.invalidate_tenant(tenant_id)


@pytest.fixture
async def world(factory, runtime) -> World:
    a, a_admin = await _tenant_a(factory, runtime)
    b = await factory.tenant()
    await _book_everything(runtime, b.id)
    b_admin = await factory.member(b, "admin")
    reseller_a = await factory.platform("reseller")
    reseller_other = await factory.platform("reseller")
    async with runtime.db.platform_session() as session:
        (await session.get(Tenant, a.id)).reseller_id = reseller_a.user_id
    runtime.invalidate_tenant(a.id)
    return World(a=a, b=b, a_admin=a_admin, b_admin=b_admin, reseller_a=reseller_a, reseller_other=reseller_other)


async def _snapshot(runtime: Any, cls: type, row_id: uuid.UUID) -> dict[str, Any] | None:
    async with runtime.db.platform_session() as session:
        obj = await session.get(cls, row_id, populate_existing=True)
        return snapshot_of(obj) if obj is not None else None


async def test_no_route_reaches_another_tenants_records(app, runtime, world: World):
    spec = app.openapi()
    index = entity_index()
    slugs = {m.slug for m in runtime.registry.enabled()}
    targets = id_targets(app, slugs)
    assert targets, "no route addresses a record by id: the route discovery is broken"
    assert any(t.module for t in targets), "no module route found: is the example module installed?"
    present = {t.key for t in targets}
    stale = sorted(set(GLOBAL_ROUTES) - present)
    assert not stale, f"GLOBAL_ROUTES lists routes that no longer exist: {stale}"

    failures: list[str] = []
    plan: list[tuple[Target, dict[str, uuid.UUID], type | None]] = []  # target, ids, model of the last id

    # 1. every id parameter → a row of tenant A (or a global row for GLOBAL_ROUTES)
    for target in targets:
        ids: dict[str, uuid.UUID] = {}
        last: type | None = None
        if target.key in GLOBAL_ROUTES:
            table = GLOBAL_ROUTES[target.key]
            cls = next((m.class_ for m in Base.registry.mappers if getattr(m.class_, "__tablename__", None) == table),
                       None)
            assert cls is not None, f"GLOBAL_ROUTES: {target} names an unknown table {table!r}"
            if is_tenant_data(cls):
                failures.append(f"{target} is in GLOBAL_ROUTES but its table {table!r} holds tenant data")
                continue
            async with runtime.db.platform_session() as session:
                row_id = await session.scalar(select(cls.id).order_by(cls.id).limit(1))
            assert row_id is not None, f"no row in {table} to call {target} with"
            ids = {target.id_params[-1]: row_id}
            plan.append((target, ids, None))
            continue
        for param in target.id_params:
            cls = model_for(param, target, index)
            if not is_tenant_data(cls):
                failures.append(f"{target}: {{{param}}} addresses {cls.__name__} (table {cls.__tablename__}), which "
                                "belongs to no tenant; if that is right, add the route to GLOBAL_ROUTES")
                break
            if cls not in world.rows:
                world.rows[cls] = await row_of_tenant(runtime, world.a.id, cls, entity_name(cls))
            ids[param] = world.rows[cls]
            last = cls
        else:
            plan.append((target, ids, last))

    for cls, row_id in world.rows.items():
        world.before[cls] = await _snapshot(runtime, cls, row_id)
        assert world.before[cls] is not None

    # 2. positive control: tenant A's admin (the reseller for customers) reads each record
    async def read_as_owner(target: Target, ids: dict[str, uuid.UUID], cls: type) -> Any:
        url, query, _ = build_request(target, spec, ids, 0)
        caller = world.reseller_a if cls is Tenant else world.a_admin
        return await caller.get(url, params=query)

    readers = [(t, ids, cls) for t, ids, cls in plan if t.method == "GET" and cls is not None]
    for target, ids, cls in readers:
        resp = await read_as_owner(target, ids, cls)
        if resp.status_code != 200:
            failures.append(f"positive control: {target} for tenant A's own record answered {_describe(resp)}")
    assert not failures, "\n".join(failures)

    # 3. tenant B's admin calls everything with A's ids
    platform_routes: list[tuple[Target, dict[str, uuid.UUID], type | None]] = []
    tenant_routes: list[Target] = []
    for target, ids, cls in plan:
        version = (world.before.get(cls) or {}).get("version") or 1
        url, query, body = build_request(target, spec, ids, version)
        kwargs = {"params": query} | ({"json": body} if body is not None else {})
        resp = await world.b_admin.request(target.method, url, **kwargs)
        if _is_problem(resp, 403, "platform_user_required"):
            platform_routes.append((target, ids, cls))
            continue
        if target.key in GLOBAL_ROUTES:
            failures.append(f"{target} is in GLOBAL_ROUTES but answers a tenant admin with {_describe(resp)}; "
                            "only platform routes may be listed there")
            continue
        tenant_routes.append(target)
        if not _is_problem(resp, 404):
            failures.append(f"{target} as tenant B's admin with tenant A's ids answered {_describe(resp)}; "
                            "expected 404 problem+json")

    # 4. platform routes: resellers see only the customers they created
    for target, ids, cls in platform_routes:
        if target.key in GLOBAL_ROUTES:
            continue
        version = (world.before.get(cls) or {}).get("version") or 1
        url, query, body = build_request(target, spec, ids, version)
        kwargs = {"params": query} | ({"json": body} if body is not None else {})
        resp = await world.reseller_other.request(target.method, url, **kwargs)
        if cls is Tenant:
            ok = _is_problem(resp, 404)
            expected = "404"
        else:
            ok = _is_problem(resp, 404) or _is_problem(resp, 403, "permission_denied")
            expected = "404 or 403 permission_denied"
        if not ok:
            failures.append(f"{target} as a reseller with another reseller's customer answered {_describe(resp)}; "
                            f"expected {expected}")

    # 5. tenant A's records are untouched
    for cls, row_id in world.rows.items():
        after = await _snapshot(runtime, cls, row_id)
        if after is None:
            failures.append(f"{cls.__name__} {row_id} of tenant A was deleted by another tenant's requests")
        elif after != world.before[cls]:
            changed = {k: (world.before[cls][k], v) for k, v in after.items() if world.before[cls].get(k) != v}
            failures.append(f"{cls.__name__} {row_id} of tenant A was changed by another tenant's requests: {changed}")
    for target, ids, cls in readers:
        resp = await read_as_owner(target, ids, cls)
        if resp.status_code != 200:
            failures.append(f"afterwards {target} for tenant A's own record answered {_describe(resp)}")
        elif "version" in resp.json() and resp.json()["version"] != world.before[cls].get("version"):
            failures.append(f"afterwards {target}: version {world.before[cls].get('version')} became "
                            f"{resp.json()['version']}")

    print(f"\nisolation: {len(tenant_routes)} tenant route calls answered 404; platform routes: "
          f"{', '.join(str(t) for t, _, _ in platform_routes)}; entities: "
          f"{', '.join(sorted(entity_name(c) for c in world.rows))}")
    assert not failures, "tenant isolation is broken:\n" + "\n".join(failures)
    assert tenant_routes, "no tenant route was checked"
    covered = {entity_name(cls) for cls in world.rows}
    assert {"user", "customer"} <= covered, covered


# --- the machinery itself ---------------------------------------------------------------------------


async def test_a_missing_row_names_the_demo_data_to_add(factory, runtime):
    from xynap.core.kernel_models import Job

    tenant = await factory.tenant()
    with pytest.raises(pytest.fail.Exception, match="add demo data for job"):
        await row_of_tenant(runtime, tenant.id, Job, "job", fillers={})
    job_id = await row_of_tenant(runtime, tenant.id, Job, "job")  # the kernel filler inserts one
    assert await row_of_tenant(runtime, tenant.id, Job, "job") == job_id  # and only once
    async with runtime.db.platform_session() as session:
        job = await session.get(Job, job_id)
    assert job.tenant_id == tenant.id and job.status == "dead"  # dead: no worker ever runs the probe


def test_sample_bodies_are_minimal_and_valid():
    spec = {"components": {"schemas": {
        "Thing": {"type": "object", "required": ["email", "version", "kind", "size", "tags", "ref", "when"],
                  "properties": {
                      "email": {"type": "string", "format": "email"},
                      "version": {"type": "integer"},
                      "kind": {"enum": ["b", "a"]},
                      "size": {"type": "integer", "minimum": 5, "maximum": 9},
                      "tags": {"type": "array", "items": {"type": "string", "minLength": 3}, "minItems": 1},
                      "ref": {"anyOf": [{"type": "null"}, {"type": "string", "format": "uuid"}]},
                      "when": {"type": "string", "format": "date-time"},
                      "optional": {"type": "string"},
                  }},
    }}}
    body = sample({"$ref": "#/components/schemas/Thing"}, spec, version=7)
    assert set(body) == {"email", "version", "kind", "size", "tags", "ref", "when"}
    assert body["email"] == "probe@example.com" and body["version"] == 7 and body["kind"] == "b"
    assert body["size"] == 5 and body["tags"] == ["xxx"]
    uuid.UUID(body["ref"])
    dt.datetime.fromisoformat(body["when"])
    assert sample({"type": "string", "pattern": r"^[a-z][a-z0-9_-]{1,49}$"}, spec, version=1) == "probe"
