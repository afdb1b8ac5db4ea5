"""Domain events: transactional outbox, in-process and Redis delivery, realtime hub and /api/ws."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from xynap.core.events import (
    DEAD_STREAM,
    STREAM,
    Event,
    EventBus,
    EventOptions,
    drain,
    event_service,
    json_safe,
    prune_dispatched,
    publish,
    start_events,
    stop_events,
)
from xynap.core.ids import uuid7
from xynap.core.kernel_models import OutboxEvent
from xynap.core.realtime import RealtimeHub, may_see
from xynap.core.security.permissions import Principal


def unique(prefix: str = "ev") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Bounded wait for something asynchronous to happen (never a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        await asyncio.sleep(0.01)


async def emit(db: Any, tenant_id: uuid.UUID | None, name: str, payload: dict[str, Any] | None = None,
               **kw: Any) -> uuid.UUID:
    """Publish one event in its own committed transaction (tenant or platform session)."""
    if tenant_id is None:
        async with db.platform_session() as session:
            return publish(session, name, payload or {}, **kw).id
    async with db.tenant_session(tenant_id) as session:
        return publish(session, name, payload or {}, **kw).id


async def outbox_row(db: Any, event_id: uuid.UUID) -> OutboxEvent | None:
    async with db.session(platform=True) as session:
        return await session.get(OutboxEvent, event_id)


def recorder(store: list[Event], prefix: str | None = None) -> Callable[[Event], Any]:
    async def handler(event: Event) -> None:
        if prefix is None or event.name.startswith(prefix):
            store.append(event)

    return handler


# --- fixtures ----------------------------------------------------------------------------------

FAST = dict(retry_base=0.05, retry_max=0.2, max_attempts=3, handler_timeout=5.0)


def _no_module_handlers() -> Any:
    """These nodes test the bus itself: installed modules' handlers (which would also process the
    leftover events of other tests, with database work) stay out of their way."""
    from xynap.core.modules import ModuleRegistry

    return ModuleRegistry([])


@pytest.fixture
async def node(settings, runtime):
    """A second runtime on the same database that runs the in-process dispatcher.

    Its safety-net poll is an hour long, so deliveries in these tests prove the after-commit wake-up.
    """
    from xynap.app import build_runtime

    rt = build_runtime(settings, db=runtime.db)
    rt.registry = _no_module_handlers()
    await start_events(rt, background=True, options=EventOptions(poll_interval=3600.0, **FAST))
    yield rt
    await stop_events(rt)


@pytest.fixture
async def redis_nodes(settings, runtime, redis_server):
    """Factory for runtimes that share the database and a Redis server (like nodes of a cluster)."""
    import redis.asyncio as aioredis

    from xynap.app import build_runtime

    nodes: list[Any] = []
    groups: list[str] = []
    admin = aioredis.from_url(redis_server.url, decode_responses=False)

    async def make(**overrides: Any) -> Any:
        options = dict(poll_interval=3600.0, claim_idle=0.3, reclaim_interval=0.1, read_block=0.2, **FAST)
        options.update(overrides)
        rt = build_runtime(settings.model_copy(update={"redis_url": redis_server.url}), db=runtime.db)
        rt.registry = _no_module_handlers()
        rt.redis = aioredis.from_url(redis_server.url, decode_responses=False)
        await start_events(rt, background=True, options=EventOptions(**options))
        nodes.append(rt)
        return rt

    make.admin = admin  # type: ignore[attr-defined]
    make.groups = groups  # type: ignore[attr-defined]
    yield make
    for rt in nodes:
        await stop_events(rt)
        await rt.redis.aclose()
    for group in groups:
        await admin.xgroup_destroy(STREAM, group)
    await admin.aclose()


@pytest.fixture
async def ws_app(settings, runtime):
    """An app whose runtime dispatches events in-process, so its hub sees them."""
    from xynap.app import build_runtime, create_app

    rt = build_runtime(settings.model_copy(update={"run_worker": True}), db=runtime.db)
    rt.extras["event_options"] = EventOptions(poll_interval=3600.0, **FAST)
    application = create_app(runtime=rt, background=True)
    async with LifespanManager(application):
        yield application


class WSClosed(Exception):
    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"websocket closed with {code} {reason}")
        self.code = code
        self.reason = reason


class AsgiWebSocket:
    """A minimal WebSocket client driving the ASGI app in this event loop (no threads)."""

    def __init__(self, app: Any, *, tenant: str | None = None, token: str | None = None,
                 subprotocols: list[str] | None = None) -> None:
        self.app = app
        self.query = urlencode({"token": token}) if token is not None else ""
        self.headers = [(b"host", b"testserver")]
        if tenant:
            self.headers.append((b"x-tenant", tenant.encode()))
        self.subprotocols = subprotocols or []
        self.subprotocol: str | None = None
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[Any] | None = None
        self._closed: WSClosed | None = None

    async def __aenter__(self) -> AsgiWebSocket:
        scope = {
            "type": "websocket", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "scheme": "ws", "server": ("testserver", 80), "client": ("127.0.0.1", 50000), "root_path": "",
            "path": "/api/ws", "raw_path": b"/api/ws", "query_string": self.query.encode(),
            "headers": self.headers, "subprotocols": self.subprotocols, "state": {}, "extensions": {},
        }
        await self._to_app.put({"type": "websocket.connect"})
        self._task = asyncio.create_task(self.app(scope, self._to_app.get, self._from_app.put))
        first = await self._next()
        if first["type"] == "websocket.accept":
            self.subprotocol = first.get("subprotocol")
        elif first["type"] == "websocket.close":
            self._closed = WSClosed(first.get("code", 1000), first.get("reason") or "")
        return self

    async def _next(self, timeout: float = 10.0) -> dict[str, Any]:
        return await asyncio.wait_for(self._from_app.get(), timeout)

    async def receive_json(self, timeout: float = 10.0) -> Any:
        if self._closed is not None:
            raise self._closed
        message = await self._next(timeout)
        if message["type"] == "websocket.close":
            self._closed = WSClosed(message.get("code", 1000), message.get("reason") or "")
            raise self._closed
        return json.loads(message.get("text") or message["bytes"])

    async def send_json(self, data: Any) -> None:
        await self._to_app.put({"type": "websocket.receive", "text": json.dumps(data)})

    async def __aexit__(self, *exc: object) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        assert self._task is not None
        await asyncio.wait_for(asyncio.gather(self._task, return_exceptions=True), 10)


# --- publishing and in-process delivery -----------------------------------------------------------


def test_json_safe_payloads():
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    ident = uuid.uuid4()
    out = json_safe({"id": ident, "at": when, "day": when.date(), "amount": decimal.Decimal("12.50"),
                     "tags": {"a"}, "nested": [(1, 2)], ident: "key"})
    assert out == {"id": str(ident), "at": "2024-05-01T12:30:00+00:00", "day": "2024-05-01",
                   "amount": "12.50", "tags": ["a"], "nested": [[1, 2]], str(ident): "key"}
    with pytest.raises(TypeError):
        json_safe({"x": object()})


def test_bus_patterns():
    bus = EventBus()

    async def h(event: Event) -> None:
        return None

    exact = bus.subscribe("crm.deal.created", h, "crm")
    deals = bus.subscribe("crm.deal.*", h, "crm")
    everything = bus.subscribe("*", h, "audit")
    assert bus.handlers_for("crm.deal.created") == [exact, deals, everything]
    assert bus.handlers_for("crm.deal.won") == [deals, everything]
    assert bus.handlers_for("crm.dealer.created") == [everything]
    assert bus.handlers_for("crm.deal.created", group="audit") == [everything]
    assert bus.groups() == ["crm", "audit"]
    bus.unsubscribe(deals)
    assert bus.handlers_for("crm.deal.won") == [everything]
    with pytest.raises(ValueError):
        bus.subscribe("crm.*.created", h, "crm")


async def test_commit_delivers_once_with_payload(node, factory):
    tenant = await factory.tenant()
    name = unique("commit.")
    got: list[Event] = []
    arrived = asyncio.Event()

    async def handler(event: Event) -> None:
        got.append(event)
        arrived.set()

    node.extras["event_bus"].subscribe(name, handler, "test")
    owner = uuid.uuid4()
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    payload = {"deal": owner, "amount": decimal.Decimal("9.90"), "at": when}
    event_id = await emit(node.db, tenant.id, name, payload, permission="crm.deal:read", owner_id=owner)
    await asyncio.wait_for(arrived.wait(), 10)  # the poll is an hour: only the after-commit wake-up gets here
    assert await drain(node)
    assert len(got) == 1
    event = got[0]
    assert event.id == event_id
    assert event.payload == {"deal": str(owner), "amount": "9.90", "at": when.isoformat()}
    assert (event.tenant_id, event.permission, event.owner_id) == (tenant.id, "crm.deal:read", owner)
    row = await outbox_row(node.db, event_id)
    assert row is not None and row.dispatched_at is not None
    assert row.attempts == 1 and row.last_error is None and row.tenant_id == tenant.id


async def test_rollback_delivers_nothing(node, factory):
    tenant = await factory.tenant()
    prefix = unique("rb.")
    got: list[Event] = []
    node.extras["event_bus"].subscribe(f"{prefix}.*", recorder(got), "test")
    async with node.db.session(tenant_id=tenant.id) as session:
        publish(session, f"{prefix}.lost", {"n": 1})
        await session.flush()
        await session.rollback()
    async with node.db.tenant_session(tenant.id) as session:  # a savepoint that is rolled back
        publish(session, f"{prefix}.kept", {"n": 2})
        async with session.begin_nested() as savepoint:
            publish(session, f"{prefix}.undone", {"n": 3})
            await savepoint.rollback()
    await wait_until(lambda: len(got) >= 1, what="delivery of the committed event")
    assert await drain(node)
    assert [e.name for e in got] == [f"{prefix}.kept"]
    async with node.db.session(platform=True) as session:
        stmt = select(OutboxEvent.name).where(OutboxEvent.name.like(f"{prefix}.%"))
        names = set(await session.scalars(stmt))
    assert names == {f"{prefix}.kept"}


async def test_savepoint_commit_waits_for_the_outer_commit(node, factory):
    tenant = await factory.tenant()
    name = unique("sp.")
    got: list[Event] = []
    node.extras["event_bus"].subscribe(name, recorder(got), "test")
    async with node.db.tenant_session(tenant.id) as session, session.begin_nested():
        publish(session, name, {})
    await wait_until(lambda: len(got) == 1, what="delivery after the outer commit")


async def test_failing_handler_is_retried_and_others_still_get_it(node, factory):
    tenant = await factory.tenant()
    name = unique("retry.")
    ok_calls: list[Event] = []
    flaky_calls: list[Event] = []

    async def flaky(event: Event) -> None:
        flaky_calls.append(event)
        if len(flaky_calls) == 1:
            raise RuntimeError("temporary outage")

    bus = node.extras["event_bus"]
    bus.subscribe(name, flaky, "flaky")
    bus.subscribe(name, recorder(ok_calls), "steady")
    event_id = await emit(node.db, tenant.id, name, {"x": 1})
    await wait_until(lambda: len(flaky_calls) == 2, what="the retry")
    assert await drain(node)
    assert [e.id for e in ok_calls] == [event_id]  # the handler that succeeded is not called again
    assert [e.id for e in flaky_calls] == [event_id, event_id]
    row = await outbox_row(node.db, event_id)
    assert row is not None and row.dispatched_at is not None
    assert row.attempts == 2 and "temporary outage" in (row.last_error or "")


async def test_failing_event_gives_up_and_prune_keeps_it(node, factory):
    tenant, other = await factory.tenant(), await factory.tenant()
    prefix = unique("dead.")
    calls: list[Event] = []

    async def broken(event: Event) -> None:
        calls.append(event)
        raise ValueError("boom")

    node.extras["event_bus"].subscribe(f"{prefix}.broken", broken, "test")
    dead_id = await emit(node.db, tenant.id, f"{prefix}.broken")
    ok_id = await emit(node.db, tenant.id, f"{prefix}.fine")
    other_id = await emit(node.db, other.id, f"{prefix}.fine")
    await wait_until(lambda: len(calls) == 3, what="three attempts")
    assert await drain(node)
    dead = await outbox_row(node.db, dead_id)
    assert dead is not None and dead.dispatched_at is None and dead.attempts == 3
    assert "boom" in (dead.last_error or "")
    assert len(calls) == 3

    async with node.db.tenant_session(tenant.id) as session:
        removed = await prune_dispatched(session, dt.timedelta(0))
    assert removed >= 1
    assert await outbox_row(node.db, ok_id) is None
    assert await outbox_row(node.db, dead_id) is not None  # undispatched rows stay for inspection
    assert await outbox_row(node.db, other_id) is not None  # a tenant session prunes only its tenant


async def test_pattern_subscriptions(node, factory):
    tenant = await factory.tenant()
    p = unique("pat")
    calls: dict[str, list[str]] = defaultdict(list)

    def rec(label: str) -> Callable[[Event], Any]:
        async def handler(event: Event) -> None:
            if event.name.startswith(p):
                calls[label].append(event.name)

        return handler

    bus = node.extras["event_bus"]
    bus.subscribe(f"{p}.deal.*", rec("deals"), "crm")
    bus.subscribe(f"{p}.deal.created", rec("created"), "mail")
    bus.subscribe(f"{p}.invoice.*", rec("invoices"), "billing")
    bus.subscribe("*", rec("all"), "audit")
    for name in ("deal.created", "deal.won", "invoice.paid", "dealer.signed"):
        await emit(node.db, tenant.id, f"{p}.{name}")
    assert await drain(node)
    await wait_until(lambda: len(calls["all"]) == 4, what="all four deliveries")
    assert calls["deals"] == [f"{p}.deal.created", f"{p}.deal.won"]
    assert calls["created"] == [f"{p}.deal.created"]
    assert calls["invoices"] == [f"{p}.invoice.paid"]
    assert calls["all"] == [f"{p}.{n}" for n in ("deal.created", "deal.won", "invoice.paid", "dealer.signed")]


async def test_handler_may_publish_follow_up_events(node, factory):
    tenant = await factory.tenant()
    p = unique("chain.")
    seconds: list[Event] = []

    async def first(event: Event) -> None:  # writes to the database while the dispatcher is busy
        async with node.db.tenant_session(event.tenant_id) as session:
            publish(session, f"{p}.second", {"from": event.id})

    bus = node.extras["event_bus"]
    bus.subscribe(f"{p}.first", first, "chain")
    bus.subscribe(f"{p}.second", recorder(seconds), "chain")
    first_id = await emit(node.db, tenant.id, f"{p}.first")
    await wait_until(lambda: len(seconds) == 1, what="the follow-up event")
    assert seconds[0].payload == {"from": str(first_id)}
    assert seconds[0].tenant_id == tenant.id


async def test_drain_works_without_a_running_dispatcher(settings, runtime, factory):
    from xynap.app import build_runtime

    rt = build_runtime(settings, db=runtime.db)  # nothing started: drain dispatches inline
    assert "event_bus" not in rt.extras
    tenant = await factory.tenant()
    name = unique("inline.")
    got: list[Event] = []
    event_service(rt).bus.subscribe(name, recorder(got), "test")
    event_id = await emit(runtime.db, tenant.id, name)
    assert await drain(rt)
    assert [e.id for e in got] == [event_id]


# --- Redis -------------------------------------------------------------------------------------


async def test_redis_two_consumers_in_one_group_handle_each_event_once(redis_nodes, factory):
    a, b = await redis_nodes(), await redis_nodes()
    tenant = await factory.tenant()
    prefix, group = unique("rq."), unique("grp")
    redis_nodes.groups.append(group)
    handled: list[tuple[str, uuid.UUID]] = []

    def handler(node_label: str) -> Callable[[Event], Any]:
        async def handle(event: Event) -> None:
            handled.append((node_label, event.id))

        return handle

    a.extras["event_bus"].subscribe(f"{prefix}.*", handler("a"), group)
    b.extras["event_bus"].subscribe(f"{prefix}.*", handler("b"), group)
    assert await a.extras["events"].ready() and await b.extras["events"].ready()

    ids = []
    async with a.db.tenant_session(tenant.id) as session:
        for i in range(20):
            ids.append(publish(session, f"{prefix}.n", {"i": i}).id)
    await wait_until(lambda: len(handled) >= 20, what="20 deliveries")
    assert await drain(a) and await drain(b)
    counts = Counter(event_id for _node, event_id in handled)
    assert set(counts) == set(ids)
    assert all(n == 1 for n in counts.values()), counts
    # and each outbox row went into the stream once, although both nodes dispatch
    entries = await redis_nodes.admin.xrevrange(STREAM, count=1000)
    ours = [json.loads(fields[b"event"])["id"] for _id, fields in entries
            if json.loads(fields[b"event"])["name"].startswith(prefix)]
    assert sorted(ours) == sorted(str(i) for i in ids)
    for event_id in ids:
        row = await outbox_row(a.db, event_id)
        assert row is not None and row.dispatched_at is not None and row.attempts == 1


async def test_redis_realtime_reaches_every_node_once(redis_nodes, factory):
    a, b = await redis_nodes(), await redis_nodes()
    tenant = await factory.tenant()
    prefix = unique("rt.")
    seen: dict[str, list[Event]] = {"a": [], "b": []}
    a.extras["event_bus"].add_local_listener(recorder(seen["a"], prefix))
    b.extras["event_bus"].add_local_listener(recorder(seen["b"], prefix))
    assert await a.extras["events"].ready() and await b.extras["events"].ready()

    first = await emit(a.db, tenant.id, f"{prefix}.first", {"n": 1})
    marker = await emit(b.db, tenant.id, f"{prefix}.marker")
    await wait_until(lambda: all(len(s) >= 2 for s in seen.values()), what="realtime fan-out")
    for events in seen.values():  # two dispatching nodes: the order across them is not guaranteed
        assert Counter(e.id for e in events) == Counter([first, marker])
        event = next(e for e in events if e.id == first)
        assert event.payload == {"n": 1} and event.tenant_id == tenant.id


async def test_redis_unacked_message_is_reclaimed_by_another_node(redis_nodes, factory):
    a, b = await redis_nodes(), await redis_nodes()
    tenant = await factory.tenant()
    name, group = unique("crash."), unique("grp")
    redis_nodes.groups.append(group)
    started = asyncio.Event()

    async def crashes(event: Event) -> None:
        started.set()
        await asyncio.Event().wait()  # hangs until the node dies: the message is never acknowledged

    a.extras["event_bus"].subscribe(name, crashes, group)
    assert await a.extras["events"].ready()
    event_id = await emit(a.db, tenant.id, name, {"x": 1})
    await asyncio.wait_for(started.wait(), 10)
    await stop_events(a)  # node a dies with the message pending

    got: list[Event] = []
    b.extras["event_bus"].subscribe(name, recorder(got), group)
    await wait_until(lambda: len(got) == 1, what="the takeover by node b")
    assert got[0].id == event_id and got[0].payload == {"x": 1}
    assert await drain(b)
    assert (await redis_nodes.admin.xpending(STREAM, group))["pending"] == 0


async def test_redis_poison_message_goes_to_the_dead_letter_stream(redis_nodes, factory):
    a = await redis_nodes(max_deliveries=2)
    tenant = await factory.tenant()
    name, group = unique("poison."), unique("grp")
    redis_nodes.groups.append(group)
    calls: list[Event] = []

    async def broken(event: Event) -> None:
        calls.append(event)
        raise RuntimeError("always")

    a.extras["event_bus"].subscribe(name, broken, group)
    assert await a.extras["events"].ready()
    event_id = await emit(a.db, tenant.id, name)
    admin = redis_nodes.admin

    async def dead_ids() -> list[str]:
        entries = await admin.xrevrange(DEAD_STREAM, count=200)
        return [json.loads(f[b"event"])["id"] for _i, f in entries if f[b"group"] == group.encode()]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while str(event_id) not in await dead_ids():
        assert loop.time() < deadline, "the message never reached the dead-letter stream"
        await asyncio.sleep(0.05)
    assert len(calls) == 2
    assert (await admin.xpending(STREAM, group))["pending"] == 0


# --- realtime hub ------------------------------------------------------------------------------


class FakeSocket:
    def __init__(self, *, blocked: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed: int | None = None
        self.gate = asyncio.Event()
        if not blocked:
            self.gate.set()

    async def send_text(self, text: str) -> None:
        await self.gate.wait()
        self.sent.append(json.loads(text))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = code


def principal(tenant_id: uuid.UUID, grants: dict[str, str], mates: tuple[uuid.UUID, ...] = ()) -> Principal:
    user_id = uuid.uuid4()
    return Principal(kind="tenant", user_id=user_id, tenant_id=tenant_id, role="staff",
                     email=f"{user_id}@x.test", grants=grants, team_member_ids=frozenset({user_id, *mates}))


def hub_event(tenant_id: uuid.UUID | None, permission: str | None = None,
              owner: uuid.UUID | None = None) -> Event:
    return Event(id=uuid7(), name="crm.deal.updated", payload={"n": 1}, tenant_id=tenant_id,
                 permission=permission, owner_id=owner)


async def test_hub_applies_tenant_and_record_scope():
    t1, t2 = uuid.uuid4(), uuid.uuid4()
    perm = "crm.deal:read"
    mate = uuid.uuid4()
    own = principal(t1, {perm: "own"})
    team = principal(t1, {perm: "team"}, mates=(mate,))
    everyone = principal(t1, {perm: "all"})
    none = principal(t1, {})
    stranger = principal(t2, {perm: "all"})
    hub = RealtimeHub()
    sockets = {}
    for label, p in (("own", own), ("team", team), ("all", everyone), ("none", none), ("stranger", stranger)):
        sockets[label] = FakeSocket()
        hub.connect(sockets[label], p, p.tenant_id)

    events = {
        "public": hub_event(t1),
        "owned_by_own": hub_event(t1, perm, own.user_id),
        "owned_by_mate": hub_event(t1, perm, mate),
        "owned_by_other": hub_event(t1, perm, uuid.uuid4()),
        "no_owner": hub_event(t1, perm, None),
        "other_tenant": hub_event(t2, None),
    }
    for event in events.values():
        await hub.deliver(event)
    final = hub_event(t1)
    await hub.deliver(final)
    await hub.deliver(hub_event(t2))
    await wait_until(lambda: all(s.sent and s.sent[-1]["type"] == "event" for s in sockets.values()) and all(
        s.sent[-1]["id"] == str(final.id) for label, s in sockets.items() if label != "stranger"))

    def received(label: str) -> set[str]:
        ids = {m["id"] for m in sockets[label].sent}
        return {k for k, e in events.items() if str(e.id) in ids}

    assert received("own") == {"public", "owned_by_own"}
    assert received("team") == {"public", "owned_by_mate"}
    assert received("all") == {"public", "owned_by_own", "owned_by_mate", "owned_by_other", "no_owner"}
    assert received("none") == {"public"}
    assert received("stranger") == {"other_tenant"}
    message = sockets["all"].sent[0]
    assert message == {"type": "event", "name": "crm.deal.updated", "payload": {"n": 1},
                       "id": str(events["public"].id), "created_at": events["public"].created_at.isoformat()}
    assert may_see(own, events["owned_by_own"]) and not may_see(own, events["owned_by_mate"])
    await hub.close()


async def test_hub_drops_a_slow_connection_without_holding_up_others():
    tenant = uuid.uuid4()
    hub = RealtimeHub(queue_size=2)
    slow, fast = FakeSocket(blocked=True), FakeSocket()
    hub.connect(slow, principal(tenant, {}), tenant)
    hub.connect(fast, principal(tenant, {}), tenant)
    events = [hub_event(tenant) for _ in range(10)]
    for event in events:
        await hub.deliver(event)
    await wait_until(lambda: len(fast.sent) == 10, what="the fast client's messages")
    assert [m["id"] for m in fast.sent] == [str(e.id) for e in events]
    assert [c.ws for c in hub.tenant_connections(tenant)] == [fast]
    slow.gate.set()  # the stuck send returns; the sender then closes the socket
    await wait_until(lambda: slow.closed is not None, what="the slow client's close")
    assert slow.closed == 1013
    assert len(slow.sent) <= 1
    await hub.close()
    assert len(hub) == 0


# --- /api/ws -----------------------------------------------------------------------------------


async def test_ws_rejects_missing_and_invalid_tokens(ws_app, factory):
    tenant, other = await factory.tenant(), await factory.tenant()
    stranger = await factory.member(other)
    for kwargs in ({}, {"token": "not-a-token"}, {"token": stranger.token}):
        async with AsgiWebSocket(ws_app, tenant=tenant.slug, **kwargs) as ws:
            with pytest.raises(WSClosed) as closed:
                await ws.receive_json()
            assert closed.value.code == 4401


async def test_ws_delivers_a_tenants_events_only_to_that_tenant(ws_app, factory, runtime):
    ta, tb = await factory.tenant(), await factory.tenant()
    alice, bob = await factory.member(ta), await factory.member(tb)
    prefix = unique("ws.")
    async with (
        AsgiWebSocket(ws_app, tenant=ta.slug, token=alice.token) as wa,
        AsgiWebSocket(ws_app, tenant=tb.slug, subprotocols=["bearer", bob.token]) as wb,
    ):
        assert wb.subprotocol == "bearer"
        assert await wa.receive_json() == {"type": "hello", "user_id": str(alice.user_id)}
        assert await wb.receive_json() == {"type": "hello", "user_id": str(bob.user_id)}
        await wa.send_json({"type": "ping"})
        assert await wa.receive_json() == {"type": "pong"}

        b_id = await emit(runtime.db, tb.id, f"{prefix}.b", {"secret": True})
        a_id = await emit(runtime.db, ta.id, f"{prefix}.a", {"x": 2})
        message = await wa.receive_json()  # b's event was committed first: had it leaked, it would be here
        assert message["type"] == "event"
        assert (message["id"], message["name"], message["payload"]) == (str(a_id), f"{prefix}.a", {"x": 2})
        assert (await wb.receive_json())["id"] == str(b_id)


async def test_ws_respects_permissions(ws_app, factory, runtime):
    tenant = await factory.tenant()
    admin, staff = await factory.member(tenant, "admin"), await factory.member(tenant, "staff")
    prefix = unique("perm.")
    async with (
        AsgiWebSocket(ws_app, tenant=tenant.slug, token=admin.token) as wa,
        AsgiWebSocket(ws_app, tenant=tenant.slug, token=staff.token) as ws,
    ):
        await wa.receive_json()
        await ws.receive_json()
        hidden = await emit(runtime.db, tenant.id, f"{prefix}.roles", permission="roles:read")
        shown = await emit(runtime.db, tenant.id, f"{prefix}.users", permission="users:read")
        assert [(await wa.receive_json())["id"] for _ in range(2)] == [str(hidden), str(shown)]
        assert (await ws.receive_json())["id"] == str(shown)  # staff lacks roles:read
