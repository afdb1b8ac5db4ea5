"""Domain events: a transactional outbox, in-process subscribers and, with Redis, streams across nodes.

Publishing: ``publish(session, "crm.deal.created", {...})`` adds an ``OutboxEvent`` row to the
caller's session, so the event exists exactly when the change that caused it is committed. The
session is marked, and an ``after_commit`` listener wakes the local dispatcher at once; a slow
poll (1 s) picks up events committed by processes without a dispatcher.

Dispatching: the ``Dispatcher`` claims undispatched rows oldest first in a platform session
(PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so several nodes never hand out one row twice; SQLite:
one dispatcher at a time per process, which is all SQLite supports anyway).

* Without Redis it calls every matching in-process handler, then the local listeners (the
  realtime hub), then marks the row dispatched. A failing handler is logged and recorded on
  the row (``attempts``, ``last_error``); the event is retried with exponential backoff, up to
  ``max_attempts``, and handlers that already succeeded are not called again by this process.
* With Redis it appends the event to the stream ``xynap:events``, marks the row dispatched and
  publishes it on ``xynap:realtime``. Each handler group (the module slug) is a consumer group
  on the stream; every node runs one consumer per group, named after the node, which calls the
  group's handlers and acknowledges on success. Messages left unacknowledged (a failing handler,
  a crashed node) are taken over with ``XAUTOCLAIM`` after ``claim_idle`` seconds and handed to a
  dead-letter stream after ``max_deliveries``. Every node subscribes to ``xynap:realtime`` and
  feeds its own hub, so each hub sees each event once.

Delivery is at least once: handlers must be idempotent (use ``event.id`` to deduplicate).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import decimal
import enum
import inspect
import json
import logging
import math
import os
import secrets
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from xynap.core.db import Database, XSession, utcnow
from xynap.core.ids import uuid7
from xynap.core.kernel_models import OutboxEvent
from xynap.core.observability import EVENTS_DISPATCHED
from xynap.core.realtime import RealtimeHub

log = logging.getLogger("xynap.events")

STREAM = "xynap:events"
DEAD_STREAM = "xynap:events:dead"
REALTIME_CHANNEL = "xynap:realtime"
WAKE_CHANNEL = "xynap:events:wake"
_PENDING_FLAG = "xynap_events_pending"
_MAX_ERROR_CHARS = 4000
_MAX_REMEMBERED = 10_000

Handler = Callable[["Event"], Awaitable[Any]]
Listener = Callable[["Event"], Any]


# --- the event ---------------------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """``value`` with UUIDs, datetimes, decimals, enums, sets and models turned into JSON types."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("event payloads cannot hold NaN or infinite numbers")
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, Mapping):
        return {str(json_safe(k)) if not isinstance(k, str) else k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if hasattr(value, "model_dump"):  # pydantic models
        return json_safe(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe(dataclasses.asdict(value))
    raise TypeError(f"{type(value).__name__} cannot be put into an event payload")


def _as_uuid(value: Any) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


@dataclass(frozen=True)
class Event:
    """A committed domain event as handlers and the realtime hub see it. Treat ``payload`` as read-only."""

    id: uuid.UUID
    name: str
    payload: dict[str, Any]
    tenant_id: uuid.UUID | None = None
    permission: str | None = None
    owner_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    created_at: dt.datetime = field(default_factory=utcnow)

    @classmethod
    def from_row(cls, row: OutboxEvent) -> Event:
        return cls(id=row.id, name=row.name, payload=dict(row.payload or {}), tenant_id=row.tenant_id,
                   permission=row.permission, owner_id=row.owner_id, actor_id=row.actor_id,
                   created_at=row.created_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "payload": self.payload,
            "tenant_id": str(self.tenant_id) if self.tenant_id else None,
            "permission": self.permission,
            "owner_id": str(self.owner_id) if self.owner_id else None,
            "actor_id": str(self.actor_id) if self.actor_id else None,
            "created_at": self.created_at.isoformat(),
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        created = dt.datetime.fromisoformat(data["created_at"])
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.UTC)
        return cls(id=uuid.UUID(data["id"]), name=data["name"], payload=dict(data.get("payload") or {}),
                   tenant_id=_as_uuid(data.get("tenant_id")), permission=data.get("permission"),
                   owner_id=_as_uuid(data.get("owner_id")), actor_id=_as_uuid(data.get("actor_id")),
                   created_at=created)

    @classmethod
    def from_json(cls, data: bytes | str) -> Event:
        return cls.from_dict(json.loads(data))


# --- publishing --------------------------------------------------------------------------------


def publish(session: Any, name: str, payload: Mapping[str, Any] | None = None, *,
            permission: str | None = None, owner_id: uuid.UUID | str | None = None,
            actor_id: uuid.UUID | str | None = None, tenant_id: uuid.UUID | None = None) -> OutboxEvent:
    """Record event ``name`` in ``session``'s transaction; it is dispatched once that commits.

    ``session`` is an ``AsyncSession`` or a sync ``Session``. The event belongs to the session's
    tenant (a platform session may name ``tenant_id``). ``permission`` and ``owner_id`` decide who
    sees it live (see ``xynap.core.realtime``); ``actor_id`` defaults to the request's user.
    """
    sync: Session = getattr(session, "sync_session", session)
    if not name or len(name) > 100:
        raise ValueError("an event name has 1 to 100 characters")
    data = json_safe(dict(payload or {}))
    if actor_id is None:
        request = sync.info.get("request")
        principal = getattr(getattr(request, "state", None), "principal", None)
        actor_id = getattr(principal, "user_id", None)
    row = OutboxEvent(
        id=uuid7(),
        name=name,
        payload=data,
        permission=permission,
        owner_id=_as_uuid(owner_id),
        actor_id=_as_uuid(actor_id),
        tenant_id=tenant_id if tenant_id is not None else sync.info.get("tenant_id"),
        created_at=utcnow(),
        attempts=0,
    )
    sync.add(row)
    sync.info[_PENDING_FLAG] = True
    return row


async def prune_dispatched(session: Any, older_than: dt.timedelta | dt.datetime) -> int:
    """Delete outbox rows dispatched before ``older_than`` (an age or a moment); returns how many.

    Undispatched rows, including dead ones (``attempts`` at the maximum), are kept for inspection.
    A tenant session prunes only its tenant's rows, a platform session all of them.
    """
    cutoff = utcnow() - older_than if isinstance(older_than, dt.timedelta) else older_than
    stmt = (
        delete(OutboxEvent)
        .where(OutboxEvent.dispatched_at.is_not(None), OutboxEvent.dispatched_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    return int(result.rowcount or 0)


# Wake-ups: committed events wake the dispatchers of this process that read the same database.

@dataclass(eq=False)
class _Waker:
    url: Any
    notify: Callable[[], None]


_wakers: list[_Waker] = []


def _register_waker(db: Database, notify: Callable[[], None]) -> Callable[[], None]:
    waker = _Waker(db.engine.sync_engine.url, notify)
    _wakers.append(waker)

    def unregister() -> None:
        with contextlib.suppress(ValueError):
            _wakers.remove(waker)

    return unregister


@sa_event.listens_for(XSession, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: the events are not visible yet
        return
    if not session.info.pop(_PENDING_FLAG, False):
        return
    url = getattr(session.bind, "url", None)
    for waker in list(_wakers):
        if url is None or waker.url == url:
            try:
                waker.notify()
            except Exception:  # a wake-up is an optimisation; the poll is the safety net
                log.debug("waking a dispatcher failed", exc_info=True)


@sa_event.listens_for(XSession, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_PENDING_FLAG, None)


def _call_in_loop(loop: asyncio.AbstractEventLoop, callback: Callable[[], Any]) -> None:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        callback()
    else:
        with contextlib.suppress(RuntimeError):  # the loop is closed
            loop.call_soon_threadsafe(callback)


# --- subscribers -------------------------------------------------------------------------------


def _matches(pattern: str, name: str) -> bool:
    if pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    return pattern == name


@dataclass(frozen=True, eq=False)
class Subscription:
    pattern: str
    handler: Handler
    group: str

    def matches(self, name: str) -> bool:
        return _matches(self.pattern, name)

    @property
    def label(self) -> str:
        return f"{self.group}:{getattr(self.handler, '__qualname__', repr(self.handler))}"


class EventBus:
    """In-process subscribers: handlers by event name or ``prefix.*`` pattern, in named groups."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._listeners: list[Listener] = []
        self._group_watchers: list[Callable[[str], None]] = []
        self._cache: dict[str, list[Subscription]] = {}

    @classmethod
    def from_registry(cls, registry: Any) -> EventBus:
        """Subscribe the ``event_handlers`` of every enabled module, grouped by module slug."""
        bus = cls()
        for module in registry.enabled():
            for pattern, handlers in module.event_handlers.items():
                for handler in handlers:
                    bus.subscribe(pattern, handler, module.slug)
        return bus

    def subscribe(self, name_or_pattern: str, handler: Handler, group: str) -> Subscription:
        """Call ``handler(event)`` for ``name_or_pattern``: ``deal.created``, ``deal.*`` or ``*``."""
        if not name_or_pattern or "*" in name_or_pattern[:-1]:
            raise ValueError(f"invalid event pattern {name_or_pattern!r}: a '*' may only end it")
        if not group:
            raise ValueError("a subscription needs a group (the module slug)")
        new_group = group not in self.groups()
        sub = Subscription(name_or_pattern, handler, group)
        self._subs.append(sub)
        self._cache.clear()
        if new_group:
            for watcher in list(self._group_watchers):
                watcher(group)
        return sub

    def unsubscribe(self, subscription: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subs.remove(subscription)
        self._cache.clear()

    def handlers_for(self, name: str, group: str | None = None) -> list[Subscription]:
        subs = self._cache.get(name)
        if subs is None:
            subs = self._cache[name] = [s for s in self._subs if s.matches(name)]
        return subs if group is None else [s for s in subs if s.group == group]

    def groups(self) -> list[str]:
        return list(dict.fromkeys(s.group for s in self._subs))

    def watch_groups(self, watcher: Callable[[str], None]) -> Callable[[], None]:
        """Call ``watcher(group)`` whenever a subscription brings a new group (Redis starts a consumer)."""
        self._group_watchers.append(watcher)

        def unwatch() -> None:
            with contextlib.suppress(ValueError):
                self._group_watchers.remove(watcher)

        return unwatch

    def add_local_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` (sync or async) with every event reaching this process live.

        That is every dispatched event without Redis, every event of the cluster with Redis.
        Returns a function that removes the listener.
        """
        self._listeners.append(listener)
        return lambda: self.remove_local_listener(listener)

    def remove_local_listener(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    async def notify_local(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                result = listener(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("local listener %r failed on event %s (%s)", listener, event.name, event.id)


async def _call_handler(sub: Subscription, event: Event, timeout: float) -> str | None:
    """Run one handler; returns ``None`` on success or a short description of the failure."""
    try:
        result = sub.handler(event)
        if inspect.isawaitable(result):
            await asyncio.wait_for(result, timeout)
        return None
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("event handler %s failed on %s (%s)", sub.label, event.name, event.id)
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return f"{sub.label}: {text}"


def _remember(store: dict[Any, Any], key: Any, value: Any) -> Any:
    """``store.setdefault`` that forgets the oldest entries beyond a fixed size."""
    if key not in store:
        while len(store) >= _MAX_REMEMBERED:
            del store[next(iter(store))]
        store[key] = value
    return store[key]


# --- dispatching -------------------------------------------------------------------------------


@dataclass
class EventOptions:
    poll_interval: float = 1.0  # safety-net poll for events committed by other processes
    batch_size: int = 100
    max_attempts: int = 10  # in-process delivery: then the row stays undispatched (dead)
    retry_base: float = 1.0  # backoff: base * 2**(attempt-1), capped at retry_max
    retry_max: float = 300.0
    handler_timeout: float = 30.0
    claim_idle: float = 60.0  # Redis: unacked messages older than this are taken over
    reclaim_interval: float = 5.0
    read_block: float = 1.0
    max_deliveries: int = 10  # Redis: then the message goes to the dead-letter stream
    stream_maxlen: int = 100_000
    hub_queue_size: int = 256

    def retry_delay(self, attempts: int) -> float:
        return min(self.retry_base * 2 ** max(attempts - 1, 0), self.retry_max)


_sqlite_locks: dict[tuple[str, int], asyncio.Lock] = {}


def _claim_lock(db: Database) -> contextlib.AbstractAsyncContextManager[Any]:
    """SQLite has no row locks: dispatchers of one process on one file take turns."""
    if db.dialect != "sqlite":
        return contextlib.nullcontext()
    key = (db.url, id(asyncio.get_running_loop()))
    return _sqlite_locks.setdefault(key, asyncio.Lock())


class Dispatcher:
    """Moves committed outbox rows to the handlers (in-process) or to the Redis stream."""

    def __init__(self, db: Database, bus: EventBus, options: EventOptions | None = None, *,
                 redis: Any = None) -> None:
        self.db = db
        self.bus = bus
        self.options = options or EventOptions()
        self.redis = redis
        self.lock = asyncio.Lock()
        self.last_stream_id: bytes | None = None
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._retry_at: dict[uuid.UUID, float] = {}  # event id -> monotonic time of the next attempt
        self._done: dict[uuid.UUID, set[Any]] = {}  # event id -> subscriptions that already succeeded

    def wake(self) -> None:
        """Dispatch now instead of at the next poll; safe from any thread."""
        if self._loop is not None:
            _call_in_loop(self._loop, self._wakeup.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        opts = self.options
        while True:
            self._wakeup.clear()
            try:
                claimed = await self.dispatch_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event dispatch failed; retrying in %.1fs", opts.poll_interval)
                claimed = 0
                await asyncio.sleep(opts.poll_interval)
            if claimed >= opts.batch_size:
                continue
            timeout = opts.poll_interval
            if self._retry_at:
                timeout = min(timeout, max(0.0, min(self._retry_at.values()) - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)

    async def dispatch_once(self) -> int:
        """Claim and dispatch one batch of due events; returns how many rows were claimed."""
        async with self.lock, _claim_lock(self.db):
            return await self._dispatch_batch()

    def _due_clause(self, now: dt.datetime) -> Any:
        # Retries wait at least the cumulative backoff since the event was created (holds across
        # processes); this process additionally remembers when it last tried (``_retry_at``).
        clauses = [OutboxEvent.attempts == 0]
        waited = 0.0
        for n in range(1, self.options.max_attempts):
            waited += self.options.retry_delay(n)
            clauses.append(and_(OutboxEvent.attempts == n,
                                OutboxEvent.created_at <= now - dt.timedelta(seconds=waited)))
        return or_(*clauses)

    async def _dispatch_batch(self) -> int:
        opts = self.options
        mono = time.monotonic()
        self._retry_at = {k: v for k, v in self._retry_at.items() if v > mono}
        stmt = (
            select(OutboxEvent)
            .where(OutboxEvent.dispatched_at.is_(None), OutboxEvent.attempts < opts.max_attempts,
                   self._due_clause(utcnow()))
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
            .limit(opts.batch_size)
        )
        if self._retry_at:
            stmt = stmt.where(OutboxEvent.id.not_in(list(self._retry_at)))
        if self.db.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        async with self.db.session(platform=True) as session:
            rows = list(await session.scalars(stmt))
            if not rows:
                return 0
            if self.redis is not None:
                await self._to_stream(session, rows)
            else:
                await self._deliver_local(session, rows)
        return len(rows)

    async def _deliver_local(self, session: Any, rows: list[OutboxEvent]) -> None:
        opts = self.options
        for row in rows:
            event = Event.from_row(row)
            done = _remember(self._done, event.id, set())
            subs = [s for s in self.bus.handlers_for(event.name) if s not in done]
            results = await asyncio.gather(*(_call_handler(s, event, opts.handler_timeout) for s in subs))
            errors = [err for err in results if err is not None]
            done.update(s for s, err in zip(subs, results, strict=True) if err is None)
            if _LOCAL not in done:
                await self.bus.notify_local(event)
                done.add(_LOCAL)
            row.attempts += 1
            if errors:
                row.last_error = "\n".join(errors)[:_MAX_ERROR_CHARS]
                if row.attempts >= opts.max_attempts:
                    log.error("event %s (%s) failed %d times; giving up: %s", event.name, event.id,
                              row.attempts, row.last_error)
                    self._done.pop(event.id, None)
                else:
                    delay = opts.retry_delay(row.attempts)
                    self._retry_at[event.id] = time.monotonic() + delay
                    log.warning("event %s (%s) will be retried in %.1fs (attempt %d failed)", event.name,
                                event.id, delay, row.attempts)
            else:
                row.dispatched_at = utcnow()
                self._done.pop(event.id, None)
                EVENTS_DISPATCHED.labels(event.name).inc()
        await session.commit()

    async def _to_stream(self, session: Any, rows: list[OutboxEvent]) -> None:
        opts = self.options
        events = [Event.from_row(r) for r in rows]
        data = [e.to_json() for e in events]
        pipe = self.redis.pipeline(transaction=False)
        for item in data:
            pipe.xadd(STREAM, {b"event": item}, maxlen=opts.stream_maxlen, approximate=True)
        ids = await pipe.execute()
        now = utcnow()
        for row in rows:
            row.attempts += 1
            row.dispatched_at = now
        await session.commit()
        self.last_stream_id = ids[-1]
        for e in events:
            EVENTS_DISPATCHED.labels(e.name).inc()
        try:
            pipe = self.redis.pipeline(transaction=False)
            for item in data:
                pipe.publish(REALTIME_CHANNEL, item)
            await pipe.execute()
        except Exception:  # live updates are best effort; the stream has the events
            log.warning("publishing %d events for realtime failed", len(data), exc_info=True)


_LOCAL = object()  # marker in Dispatcher._done: the local listeners have had the event


# --- Redis consumers ---------------------------------------------------------------------------


def _stream_id(value: bytes | str | None) -> tuple[int, int]:
    if not value:
        return (0, 0)
    text = value.decode() if isinstance(value, bytes) else value
    ms, _, seq = text.partition("-")
    return (int(ms), int(seq or 0))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class StreamConsumer:
    """This node's consumer in one consumer group (one handler group) of the event stream."""

    def __init__(self, redis: Any, bus: EventBus, group: str, consumer: str, options: EventOptions) -> None:
        self.redis = redis
        self.bus = bus
        self.group = group
        self.consumer = consumer
        self.options = options
        self.ready = asyncio.Event()
        self._done: dict[bytes, set[Subscription]] = {}
        self._last_reclaim = 0.0
        self._last_cleanup = time.monotonic()

    async def ensure_group(self) -> None:
        from redis.exceptions import ResponseError

        try:
            await self.redis.xgroup_create(STREAM, self.group, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        while True:
            try:
                await self.ensure_group()
                self.ready.set()
                await self._process(await self._read("0"))  # our own unacknowledged messages
                while True:
                    await self.consume_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event consumer %s/%s failed; restarting", self.group, self.consumer)
                await asyncio.sleep(1.0)

    async def consume_once(self, block: float | None = None) -> int:
        """Reclaim stale messages when due, then read and handle new ones; returns how many."""
        opts = self.options
        handled = 0
        if time.monotonic() - self._last_reclaim >= opts.reclaim_interval:
            self._last_reclaim = time.monotonic()
            handled += await self.reclaim()
        wait = min(opts.read_block, opts.reclaim_interval) if block is None else block
        handled += await self._process(await self._read(">", int(wait * 1000) or None))
        return handled

    async def _read(self, start: str, block_ms: int | None = None) -> list[tuple[bytes, Any]]:
        resp = await self.redis.xreadgroup(self.group, self.consumer, {STREAM: start},
                                           count=self.options.batch_size, block=block_ms)
        if isinstance(resp, Mapping):  # RESP3: {stream: [entries]}
            streams = list(resp.values())
            return [m for entries in streams for m in (entries[0] if entries and isinstance(entries[0], list)
                                                       else entries)]
        return [m for _stream, entries in resp or [] for m in entries]

    async def _process(self, messages: list[tuple[bytes, Any]]) -> int:
        skipped: list[bytes] = []
        handled = 0
        for msg_id, fields in messages:
            raw = (fields or {}).get(b"event") or (fields or {}).get("event")
            if raw is None:  # trimmed from the stream meanwhile
                skipped.append(msg_id)
                continue
            try:
                event = Event.from_json(raw)
            except Exception:
                log.error("unreadable event %s in %s; moved to %s", _text(msg_id), STREAM, DEAD_STREAM)
                await self._dead_letter(msg_id, raw, "unreadable")
                continue
            subs = self.bus.handlers_for(event.name, self.group)
            if not subs:
                skipped.append(msg_id)
                continue
            handled += 1
            if await self._handle(msg_id, event, subs):
                await self.redis.xack(STREAM, self.group, msg_id)
        if skipped:
            await self.redis.xack(STREAM, self.group, *skipped)
        return handled

    async def _handle(self, msg_id: bytes, event: Event, subs: list[Subscription]) -> bool:
        done = _remember(self._done, msg_id, set())
        todo = [s for s in subs if s not in done]
        results = await asyncio.gather(*(_call_handler(s, event, self.options.handler_timeout) for s in todo))
        done.update(s for s, err in zip(todo, results, strict=True) if err is None)
        if all(err is None for err in results):
            self._done.pop(msg_id, None)
            return True
        return False

    async def reclaim(self) -> int:
        """Take over messages another consumer (or this one) left unacknowledged for ``claim_idle``."""
        opts = self.options
        handled = 0
        start: Any = "0-0"
        for _round in range(10):
            resp = await self.redis.xautoclaim(STREAM, self.group, self.consumer,
                                               min_idle_time=int(opts.claim_idle * 1000), start_id=start,
                                               count=opts.batch_size)
            start, messages = resp[0], resp[1]
            if messages:
                handled += await self._process(await self._without_dead(messages))
            if _stream_id(start) == (0, 0):
                break
        if time.monotonic() - self._last_cleanup > 60:
            self._last_cleanup = time.monotonic()
            await self._forget_idle_consumers()
        return handled

    async def _without_dead(self, messages: list[tuple[bytes, Any]]) -> list[tuple[bytes, Any]]:
        pipe = self.redis.pipeline(transaction=False)
        for msg_id, _fields in messages:
            pipe.xpending_range(STREAM, self.group, min=msg_id, max=msg_id, count=1)
        infos = await pipe.execute()
        keep = []
        for (msg_id, fields), info in zip(messages, infos, strict=True):
            deliveries = info[0]["times_delivered"] if info else 0
            if deliveries > self.options.max_deliveries:
                raw = (fields or {}).get(b"event") or b""
                log.error("event %s failed %d deliveries in group %s; moved to %s", _text(msg_id),
                          deliveries - 1, self.group, DEAD_STREAM)
                await self._dead_letter(msg_id, raw, f"{deliveries - 1} deliveries failed")
            else:
                keep.append((msg_id, fields))
        return keep

    async def _dead_letter(self, msg_id: bytes, raw: bytes | str, reason: str) -> None:
        await self.redis.xadd(DEAD_STREAM, {b"event": raw, b"group": self.group, b"id": msg_id,
                                            b"reason": reason}, maxlen=10_000, approximate=True)
        await self.redis.xack(STREAM, self.group, msg_id)
        self._done.pop(msg_id, None)

    async def _forget_idle_consumers(self) -> None:
        """Remove consumers of gone nodes (idle for an hour, nothing pending) from the group."""
        for info in await self.redis.xinfo_consumers(STREAM, self.group):
            name = _text(info.get("name"))
            if name != self.consumer and not info.get("pending") and info.get("idle", 0) > 3_600_000:
                await self.redis.xgroup_delconsumer(STREAM, self.group, name)


class RealtimeRelay:
    """Feeds this node's local listeners (the hub) from ``xynap:realtime``; also relays wake-ups."""

    def __init__(self, redis: Any, bus: EventBus, on_wake: Callable[[], None] | None = None) -> None:
        self.redis = redis
        self.bus = bus
        self.on_wake = on_wake
        self.ready = asyncio.Event()

    async def run(self) -> None:
        realtime, wake = REALTIME_CHANNEL.encode(), WAKE_CHANNEL.encode()
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(REALTIME_CHANNEL, WAKE_CHANNEL)
                self.ready.set()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    channel = message["channel"]
                    channel = channel.encode() if isinstance(channel, str) else channel
                    if channel == wake:
                        if self.on_wake is not None:
                            self.on_wake()
                    elif channel == realtime:
                        try:
                            event = Event.from_json(message["data"])
                        except Exception:
                            log.warning("unreadable realtime message ignored", exc_info=True)
                            continue
                        await self.bus.notify_local(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.ready.clear()
                log.exception("realtime subscription lost; resubscribing")
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(pubsub.aclose())


# --- the service of one runtime -------------------------------------------------------------------


def _node_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class EventService:
    """Bus, hub, dispatcher and (with Redis) consumers and relay of one runtime."""

    def __init__(self, runtime: Any, *, background: bool, options: EventOptions | None = None) -> None:
        self.runtime = runtime
        self.background = background
        self.options = options or EventOptions()
        self.node_id: str = runtime.extras.setdefault("node_id", _node_id())
        self.redis = runtime.redis
        self.bus = EventBus.from_registry(runtime.registry)
        self.hub = RealtimeHub(queue_size=self.options.hub_queue_size)
        self.bus.add_local_listener(self.hub.deliver)
        self.dispatcher = Dispatcher(runtime.db, self.bus, self.options, redis=self.redis)
        self.consumers: dict[str, StreamConsumer] = {}
        self.relay: RealtimeRelay | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.started = False
        self._cleanups: list[Callable[[], Any]] = []
        self._spawned: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        if self.started:
            return
        self.started = True
        loop = asyncio.get_running_loop()
        if self.background:
            self._spawn(self.dispatcher.run(), "xynap-event-dispatcher")
            self._cleanups.append(_register_waker(self.runtime.db, self.dispatcher.wake))
        elif self.redis is not None:
            # No dispatcher here: tell the dispatching nodes through Redis that events were committed.
            self._cleanups.append(_register_waker(
                self.runtime.db, lambda: _call_in_loop(loop, self._publish_wake)))
        if self.redis is not None:
            on_wake = self.dispatcher.wake if self.background else None
            self.relay = RealtimeRelay(self.redis, self.bus, on_wake)
            self._spawn(self.relay.run(), "xynap-realtime-relay")
            if self.background:
                for group in self.bus.groups():
                    self._start_consumer(group)
                self._cleanups.append(self.bus.watch_groups(self._start_consumer))

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self.tasks.append(task)
        return task

    def _start_consumer(self, group: str) -> None:
        if group in self.consumers or not self.started:
            return
        consumer = StreamConsumer(self.redis, self.bus, group, self.node_id, self.options)
        self.consumers[group] = consumer
        self._spawn(consumer.run(), f"xynap-events-{group}")

    def _publish_wake(self) -> None:
        task = asyncio.ensure_future(self.redis.publish(WAKE_CHANNEL, b"1"))
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # failures are fine: the poll

    async def ready(self, timeout: float = 5.0) -> bool:
        """Wait until the Redis consumer groups exist and the realtime subscription is live."""
        waits = [c.ready.wait() for c in self.consumers.values()]
        if self.relay is not None:
            waits.append(self.relay.ready.wait())
        if not waits:
            return True
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        for cleanup in self._cleanups:
            cleanup()
        self._cleanups.clear()
        tasks, self.tasks = self.tasks, []
        for task in tasks + list(self._spawned):
            task.cancel()
        await asyncio.gather(*tasks, *self._spawned, return_exceptions=True)
        self.consumers.clear()
        self.started = False
        await self.hub.close()

    async def drain(self, timeout: float = 5.0) -> bool:
        """Dispatch every due event now and wait until it is delivered; ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        while await self.dispatcher.dispatch_once():
            if time.monotonic() > deadline:
                return False
        if self.redis is None:
            return True
        groups = self.bus.groups()
        if not groups:
            return True
        from redis.exceptions import ResponseError

        try:
            info = await self.redis.xinfo_stream(STREAM)
        except ResponseError:  # no stream yet: nothing was ever dispatched through Redis
            return True
        last = _stream_id(info.get("last-generated-id"))
        while True:
            if await self._caught_up(groups, last):
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)

    async def _caught_up(self, groups: list[str], last: tuple[int, int]) -> bool:
        state = {_text(g.get("name")): g for g in await self.redis.xinfo_groups(STREAM)}
        for group in groups:
            info = state.get(group)
            if info is None or info.get("pending") or _stream_id(info.get("last-delivered-id")) < last:
                return False
        return True


async def start_events(runtime: Any, *, background: bool | None = None,
                       options: EventOptions | None = None) -> EventService:
    """Start the event machinery of ``runtime``; stores bus and hub in ``runtime.extras``.

    ``background`` (default: ``settings.run_worker``) runs the dispatcher and, with Redis, the
    stream consumers in this process; the realtime hub (and its Redis relay) always runs.
    ``options`` default to ``runtime.extras["event_options"]`` or ``EventOptions()``.
    """
    service: EventService | None = runtime.extras.get("events")
    if service is not None and service.started:
        return service
    if background is None:
        background = bool(runtime.settings.run_worker)
    if service is None:
        service = EventService(runtime, background=background,
                               options=options or runtime.extras.get("event_options"))
        _store(runtime, service)
    else:  # made by drain() before the runtime started: keep its subscriptions, catch up on the rest
        service.background = background
        service.redis = service.dispatcher.redis = runtime.redis
        if options is not None:
            service.options = service.dispatcher.options = options
    await service.start()
    runtime.extras.setdefault("tasks", []).extend(service.tasks)
    runtime.extras.setdefault("stoppers", []).append(service.stop)
    return service


async def stop_events(runtime: Any) -> None:
    """Stop what ``start_events`` started (``stop_runtime`` does this through the stoppers)."""
    service: EventService | None = runtime.extras.pop("events", None)
    for key in ("event_bus", "realtime_hub", "event_dispatcher"):
        runtime.extras.pop(key, None)
    if service is not None:
        await service.stop()


def _store(runtime: Any, service: EventService) -> None:
    runtime.extras["events"] = service
    runtime.extras["event_bus"] = service.bus
    runtime.extras["realtime_hub"] = service.hub
    runtime.extras["event_dispatcher"] = service.dispatcher


def event_service(runtime: Any) -> EventService:
    """The runtime's event service; created (not started) if ``start_events`` has not run."""
    service: EventService | None = runtime.extras.get("events")
    if service is None:
        service = EventService(runtime, background=False, options=runtime.extras.get("event_options"))
        _store(runtime, service)
    return service


async def drain(runtime: Any, timeout: float = 5.0) -> bool:
    """For tests: dispatch everything pending now and wait for its delivery (``False`` on timeout)."""
    return await event_service(runtime).drain(timeout)
