"""CRM module benchmark: the board, the forecast and live card moves (``python -m bench.crm``).

Builds one company with 100,000 open deals in ten pipelines (the measured board's pipeline holds
10,000 of them), plus won/lost deals and other companies, by bulk-inserting rows straight into the
database in the shape the API writes them (stage history per stay, board positions with gaps,
tags, line items, search documents). Then it serves the real app (one uvicorn worker with its
in-process event dispatcher, pinned to one CPU) and measures, one request at a time: the first
screen of the board (``GET /api/crm/pipelines/{id}/board``), the next page of a column, the
forecast in every grouping, and a stage move as another browser sees it — ``POST
/api/crm/deals/{id}/move`` by one user until the ``deal.stage_changed`` event arrives on a second
user's ``/api/ws`` WebSocket. Figures go to bench/results/crm-<engine>.json and, for a full run
(or ``--docs``), to the "## Module CRM: board, forecast, live moves" section of docs/benchmarks.md.

Benchmarks are not tests: nothing here asserts; targets are reported as met or not met.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import decimal
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.contacts import Latency, percentile

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Module CRM: board, forecast, live moves"
PASSWORD = "bench-password-0123456789"
SLUG = "bench-crm"

STAGES = (  # name, colour, probability %, rotting days, share of the pipeline's open deals
    ("Lead", "#94a3b8", 10, 14, 0.30),
    ("Qualifiziert", "#0ea5e9", 25, 14, 0.24),
    ("Angebot", "#6366f1", 50, 21, 0.20),
    ("Verhandlung", "#f59e0b", 75, 14, 0.12),
    ("Vertragsprüfung", "#8b5cf6", 90, 7, 0.09),
    ("Abschluss", "#22c55e", 100, None, 0.05),
)
PIPELINE_NAMES = ("Neugeschäft", "Upsell Bestandskunden", "Service-Verträge", "Partnervertrieb", "Export DACH",
                  "Öffentliche Auftraggeber", "Ersatzteile", "Schulungen", "Software-Lizenzen", "Großprojekte")
PRODUCTS = ("Wartungsvertrag", "CNC-Fräse", "Lagerlogistik", "Tourenplanung", "Kassensystem", "Sensorik",
            "Rahmenvertrag", "Cloud-Migration", "Schulungspaket", "Lieferantenportal", "Netzwerk-Audit",
            "Telematik", "Server-Leasing", "Energieberatung", "Ersatzteilpaket", "Softwarelizenz")
COMPANIES = ("Brenner Maschinenbau", "Nordlicht Logistik", "Bäckerei Kaiser", "Datawerk", "Lindner Einkauf",
             "Hanse Spedition", "Alpen Solar", "Rhein Metall Technik", "Spree Druck", "Elbwerk", "Main Holz",
             "Donau Glas", "Bergtal Bau", "Stadtwerke Süd", "Landtechnik Weber", "Müller & Söhne")
SOURCES = ("Messe", "Website", "Empfehlung", "Telefon", "Bestand", "Partner", None)
TAGS = (("VIP", "#f59e0b"), ("Rahmenvertrag", "#6366f1"), ("Messe 2026", "#0ea5e9"))
CURRENCIES = (("EUR", 0.9), ("CHF", 0.05), ("USD", 0.05))
GAP = 1024  # xynap.modules.crm.service.POSITION_GAP
FORECAST_GROUPS = ("month", "quarter", "stage", "owner", "team")


def say(msg: str) -> None:
    print(f"[bench.crm] {msg}", flush=True)


class CpuProbe:
    """CPU time per request of the app server and of PostgreSQL (all its processes), and how busy the rest
    of the machine was meanwhile: on a shared machine wall-clock latencies swing with other load, CPU
    time per request much less."""

    def __init__(self, server_pid: int, pg_root: int | None) -> None:
        self.server_pid, self.pg_root = server_pid, pg_root

    def _db_pids(self) -> list[int]:
        from bench.run import process_tree

        return process_tree(self.pg_root) if self.pg_root else []

    def _jiffies(self, pids: Sequence[int]) -> dict[int, int]:
        from bench.run import _stat_fields

        out = {}
        for pid in pids:
            fields = _stat_fields(pid)
            if fields:
                out[pid] = int(fields[11]) + int(fields[12])
        return out

    def start(self) -> CpuProbe:
        from bench.run import CpuWatch

        self.watch = CpuWatch(lambda: [self.server_pid, *self._db_pids()]).start()
        self.server0 = self._jiffies([self.server_pid])
        self.db0 = self._jiffies(self._db_pids())
        return self

    def stop(self, requests: int) -> dict[str, float]:
        from bench.run import CLK_TCK

        other = self.watch.stop()
        server = self._jiffies([self.server_pid])
        db = self._jiffies(self._db_pids())
        ms = 1000 / CLK_TCK / max(requests, 1)
        return {"server_cpu_ms": round((sum(server.values()) - sum(self.server0.values())) * ms, 2),
                "db_cpu_ms": round(sum(j - self.db0.get(p, 0) for p, j in db.items()) * ms, 2) if self.pg_root
                else None, "other_cpu_pct": other["other_cpu_pct"]}


# --- scale ---------------------------------------------------------------------------------------


@dataclass
class Scale:
    board_deals: int  # open deals in the measured pipeline
    forecast_deals: int  # open deals of the measured company, over all its pipelines
    pipelines: int
    closed_share: float  # won/lost deals in addition, as a share of the open ones
    reps: int  # sales reps owning the deals (in teams of five)
    others: int  # other companies ...
    per_other: int  # ... with this many deals each
    requests: int  # measured requests per board scenario
    forecast_requests: int  # ... per forecast scenario (SQLite needs about a second for one at full scale)
    moves: int  # measured moves


SCALES = {
    ("postgresql", False): Scale(10_000, 100_000, 10, 0.25, 40, 50, 2_000, 300, 300, 300),
    ("sqlite", False): Scale(10_000, 100_000, 10, 0.25, 40, 5, 2_000, 300, 50, 300),
    ("postgresql", True): Scale(2_000, 20_000, 5, 0.25, 20, 5, 1_000, 100, 100, 100),
    ("sqlite", True): Scale(2_000, 20_000, 5, 0.25, 20, 2, 1_000, 100, 30, 100),
}


# --- population: rows in the shape the API writes ------------------------------------------------


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    x, acc = rng.random(), 0.0
    for value, weight in weighted:
        acc += weight
        if x < acc:
            return value
    return weighted[-1][0]


def rotting_notified(status: str, entered: dt.datetime, stage: dict[str, Any], now: dt.datetime) -> dt.datetime | None:
    """The steady state of the hourly ``crm.rotting_scan``: an open deal longer in its stage than the stage's
    rotting days has had its ``deal.rotting`` event (within the hour after it began to rot). Without this
    the first scan of the run would publish an event for every rotting deal during the measurements."""
    if status != "open" or stage["rotting_days"] is None:
        return None
    rots_at = entered + dt.timedelta(days=stage["rotting_days"])
    return min(rots_at + dt.timedelta(minutes=30), now) if rots_at <= now else None


@dataclass
class Rows:
    deals: list[dict[str, Any]]
    history: list[dict[str, Any]]
    items: list[dict[str, Any]]
    tags: list[dict[str, Any]]


def deal_rows(rng: random.Random, tenant_id: uuid.UUID, pipeline_id: uuid.UUID, stages: list[dict[str, Any]],
              open_count: int, closed_count: int, owners: Sequence[uuid.UUID], tag_ids: Sequence[uuid.UUID],
              now: dt.datetime) -> Rows:
    """Deals of one pipeline as ``POST /deals``, ``/move``, ``/won`` and ``/lost`` leave them: positions
    ``GAP`` apart per stage in creation order, one history row per stay (the previous stages left, the
    current one open, or closed for won/lost deals), ``stage_entered_at`` = the start of the current stay,
    line items summing to the value, a few tags."""
    from xynap.core.ids import uuid7

    out = Rows([], [], [], [])
    last_position = {s["id"]: 0 for s in stages}
    shares = [(index, stage["share"]) for index, stage in enumerate(stages)]
    total = open_count + closed_count
    statuses = ["open"] * open_count + ["won" if rng.random() < 0.55 else "lost" for _ in range(closed_count)]
    rng.shuffle(statuses)
    for k in range(total):
        status = statuses[k]
        stage_index = _pick(rng, shares)
        stage = stages[stage_index]
        owner = rng.choice(owners)
        created = now - dt.timedelta(days=rng.uniform(30, 400))
        # one stay per stage up to the current one, each a few days long (all before now)
        stays = [created]
        for _ in range(stage_index):
            stays.append(stays[-1] + dt.timedelta(days=rng.uniform(0.5, 5)))
        entered = stays[-1]
        closed_at = min(entered + dt.timedelta(days=rng.uniform(0.1, 30)), now) if status != "open" else None
        deal_id = uuid7()
        currency = _pick(rng, CURRENCIES)
        n_items = rng.choice((0,) * 9 + (1, 2, 3))
        items = []
        for pos in range(n_items):
            qty = decimal.Decimal(rng.choice((1, 1, 2, 3, 5, 10)))
            price = decimal.Decimal(rng.randrange(5_000, 2_000_000)) / 100
            discount = decimal.Decimal(rng.choice((0, 0, 0, 5, 10)))
            gross = qty * price
            total_price = (gross - gross * discount / 100).quantize(decimal.Decimal("0.01"))
            items.append({"id": uuid7(), "tenant_id": tenant_id, "deal_id": deal_id, "position": pos,
                          "product_name": rng.choice(PRODUCTS), "description": "", "quantity": qty,
                          "unit_price": price, "discount_percent": discount, "total": total_price})
        value = (sum((i["total"] for i in items), decimal.Decimal("0")) if items
                 else decimal.Decimal(round(rng.lognormvariate(9.3, 1.0), 2)).quantize(decimal.Decimal("0.01")))
        last_position[stage["id"]] += GAP
        close = None if rng.random() < 0.05 else (now + dt.timedelta(days=rng.randint(-30, 365))).date()
        out.deals.append({
            "id": deal_id, "tenant_id": tenant_id, "title": f"{rng.choice(COMPANIES)} – {rng.choice(PRODUCTS)}",
            "pipeline_id": pipeline_id, "stage_id": stage["id"], "contact_id": None, "organization_id": None,
            "owner_id": owner, "value": value, "currency": currency, "expected_close_date": close,
            "probability": rng.choice((10, 20, 30, 40, 60, 80, 95)) if rng.random() < 0.2 else None,
            "status": status, "lost_reason": "Preis zu hoch" if status == "lost" else None,
            "won_at": closed_at if status == "won" else None, "lost_at": closed_at if status == "lost" else None,
            "source": rng.choice(SOURCES), "custom_fields": {}, "position": last_position[stage["id"]],
            "stage_entered_at": entered, "rotting_notified_at": rotting_notified(status, entered, stage, now),
            "created_at": created,
            "updated_at": closed_at or entered, "version": 1 + stage_index + (status != "open"),
        })
        for index, start in enumerate(stays):
            left = stays[index + 1] if index + 1 < len(stays) else closed_at
            out.history.append({"id": uuid7(), "tenant_id": tenant_id, "deal_id": deal_id,
                                "pipeline_id": pipeline_id, "stage_id": stages[index]["id"],
                                "entered_at": start, "left_at": left,
                                "moved_by": owner})
        out.items.extend(items)
        if tag_ids and rng.random() < 0.15:
            out.tags.append({"id": uuid7(), "tenant_id": tenant_id, "deal_id": deal_id, "tag_id": rng.choice(tag_ids)})
    return out


async def create_company(runtime: Any, slug: str, reps: int) -> dict[str, Any]:
    """A company with the CRM booked, an admin (who moves cards), a second user who watches the board
    live, ``reps`` sales reps in teams of five, and the tags."""
    from xynap.core.security.passwords import hash_password
    from xynap.platform.catalog.subscriptions import book_module
    from xynap.platform.tenants.service import create_tenant
    from xynap.platform.users.models import Team, TeamMember, User
    from xynap.shared.tags.models import Tag

    async with runtime.db.platform_session() as session:
        tenant = await create_tenant(session, slug=slug, name=f"Bench {slug}", status="active")
        tenant_id = tenant.id
    async with runtime.db.tenant_session(tenant_id) as session:
        await book_module(session, runtime, tenant_id, "crm", tier="business", activate=True)
    password_hash = hash_password(PASSWORD)
    async with runtime.db.tenant_session(tenant_id) as session:
        admin = User(email=f"admin@{slug}.example.com", name="Bench Admin", role="admin",
                     password_hash=password_hash, is_active=True, locale="de")
        watcher = User(email=f"watcher@{slug}.example.com", name="Zweiter Browser", role="staff",
                       password_hash=password_hash, is_active=True, locale="de")
        people = [User(email=f"rep{i:03d}@{slug}.example.com", name=f"Vertrieb {i:03d}", role="staff",
                       is_active=True, locale="de") for i in range(reps)]
        session.add_all([admin, watcher, *people])
        teams = [Team(name=f"Team {i + 1}") for i in range((reps + 4) // 5)]
        session.add_all(teams)
        tags = [Tag(name=name, color=color) for name, color in TAGS]
        session.add_all(tags)
        await session.flush()
        for i, person in enumerate(people):
            session.add(TeamMember(team_id=teams[i // 5].id, user_id=person.id))
        if len(teams) > 1 and people:  # one rep in two teams: the team forecast counts them twice, the total once
            session.add(TeamMember(team_id=teams[1].id, user_id=people[0].id))
        return {"tenant_id": tenant_id, "slug": slug, "admin_id": admin.id,
                "owners": [p.id for p in people] or [admin.id], "tag_ids": [t.id for t in tags]}


async def add_pipeline(runtime: Any, tenant_id: uuid.UUID, name: str, position: int, default: bool
                       ) -> tuple[uuid.UUID, list[dict[str, Any]]]:
    from xynap.modules.crm.models import Pipeline, Stage

    async with runtime.db.tenant_session(tenant_id) as session:
        pipeline = Pipeline(name=name, is_default=default, position=position)
        session.add(pipeline)
        await session.flush()
        stages = [Stage(pipeline_id=pipeline.id, name=n, color=c, probability=p, rotting_days=r, position=i)
                  for i, (n, c, p, r, _share) in enumerate(STAGES)]
        session.add_all(stages)
        await session.flush()
        return pipeline.id, [{"id": s.id, "share": STAGES[i][4], "rotting_days": s.rotting_days}
                             for i, s in enumerate(stages)]


class _Doc:
    """What ``SearchSource.document`` reads, from a row dict."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.__dict__.update(row)


async def insert_rows(runtime: Any, tenant_id: uuid.UUID, rows: Rows) -> None:
    """Core bulk inserts in the tenant's session (RLS applies on PostgreSQL), plus the search documents
    the ORM flush would have written for these deals."""
    from sqlalchemy import insert

    from xynap.core.search import reindex
    from xynap.modules.crm.models import Deal, DealItem, DealStageHistory, DealTag

    chunk = 5_000
    async with runtime.db.tenant_session(tenant_id) as session:
        for model, data in ((Deal, rows.deals), (DealStageHistory, rows.history), (DealItem, rows.items),
                            (DealTag, rows.tags)):
            for k in range(0, len(data), chunk):
                await session.execute(insert(model.__table__), data[k:k + chunk])
        for k in range(0, len(rows.deals), chunk):
            await reindex(session, "deal", [_Doc(r) for r in rows.deals[k:k + chunk]])


async def populate_company(runtime: Any, company: dict[str, Any], pipelines: int, board_deals: int,
                           total_open: int, closed_share: float, seed: int) -> dict[str, Any]:
    """``pipelines`` pipelines; the first (default) holds ``board_deals`` open deals, the rest share the others."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    rest = total_open - board_deals
    out: dict[str, Any] = {"pipelines": []}
    for p in range(pipelines):
        open_count = board_deals if p == 0 else rest // (pipelines - 1) + (1 if p <= rest % (pipelines - 1) else 0)
        pipeline_id, stages = await add_pipeline(runtime, company["tenant_id"], PIPELINE_NAMES[p % 10], p, p == 0)
        rows = deal_rows(rng, company["tenant_id"], pipeline_id, stages, open_count,
                         round(open_count * closed_share), company["owners"], company["tag_ids"], now)
        await insert_rows(runtime, company["tenant_id"], rows)
        out["pipelines"].append({"id": pipeline_id, "stages": [s["id"] for s in stages], "open": open_count,
                                 "deals": len(rows.deals), "history": len(rows.history)})
    return out


async def count_rows(runtime: Any) -> dict[str, int]:
    from sqlalchemy import text

    out = {}
    async with runtime.db.platform_session() as session:  # RLS: the platform sees every company's rows
        for table in ("crm_deals", "crm_deal_stage_history", "crm_deal_items", "crm_deal_tags", "search_documents"):
            out[table] = int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
    return out


# --- measuring over HTTP and the WebSocket ------------------------------------------------------------


async def login(client: Any, email: str) -> str:
    resp = await client.post("/api/login", json={"email": email, "password": PASSWORD})
    resp.raise_for_status()
    token = resp.json()["access_token"]
    return str(token)


async def time_gets(client: Any, name: str, description: str, make: Callable[[int], tuple[str, dict[str, Any]]],
                    count: int, warmup: int = 10) -> Latency:
    """``count`` sequential GETs after ``warmup``; ``make(i)`` gives path and query of request i."""
    for i in range(warmup):
        path, params = make(i)
        (await client.get(path, params=params)).raise_for_status()
    times: list[float] = []
    sample = ""
    for i in range(count):
        path, params = make(warmup + i)
        t0 = time.perf_counter()
        resp = await client.get(path, params=params)
        times.append(time.perf_counter() - t0)
        if resp.status_code != 200:
            raise RuntimeError(f"{name}: GET {path} {params} answered {resp.status_code}: {resp.text[:500]}")
        if not sample:
            sample = f"GET {path}" + (f"?{'&'.join(f'{k}={v}' for k, v in params.items())}" if params else "")
    return Latency.of(name, description, times, sample)


async def measure_moves(client: Any, base_url: str, watcher_token: str, board: dict[str, Any], count: int,
                        rng: random.Random) -> tuple[Latency, Latency, dict[str, Any]]:
    """Moves of cards from the board to another stage (at a random place among its first cards), each
    timed until its response and until the ``deal.stage_changed`` event reaches the second user's socket."""
    from websockets.asyncio.client import connect

    columns = board["columns"]
    cards = {c["stage"]["id"]: [(d["id"], d["version"]) for d in c["deals"]] for c in columns}
    stage_ids = [c["stage"]["id"] for c in columns]
    ws_url = base_url.replace("http://", "ws://") + "/api/ws?token=" + watcher_token
    responses, arrivals = [], []
    other_events = 0
    async with connect(ws_url, additional_headers={"X-Tenant": SLUG}, max_size=2**22) as ws:
        hello = json.loads(await ws.recv())
        if hello.get("type") != "hello":
            raise RuntimeError(f"the socket greeted with {hello}")

        async def wait_for(deal_id: str, version: int) -> float:
            nonlocal other_events
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                p = msg.get("payload") or {}
                if msg.get("name") == "deal.stage_changed" and p.get("id") == deal_id and p.get("version") == version:
                    return time.perf_counter()
                other_events += 1

        for i in range(count + 5):  # the first five warm up
            source = rng.choice([s for s in stage_ids if cards[s]])
            target = rng.choice([s for s in stage_ids if s != source])
            deal_id, version = cards[source].pop(rng.randrange(len(cards[source])))
            index = rng.randrange(0, min(len(cards[target]), 50) + 1)
            t0 = time.perf_counter()
            resp = await client.post(f"/api/crm/deals/{deal_id}/move",
                                     json={"stage_id": target, "version": version, "position": index})
            t1 = time.perf_counter()
            if resp.status_code != 200:
                raise RuntimeError(f"move answered {resp.status_code}: {resp.text[:500]}")
            moved = resp.json()
            t2 = await wait_for(deal_id, moved["version"])
            cards[target].insert(index, (deal_id, moved["version"]))
            if i >= 5:
                responses.append(t1 - t0)
                arrivals.append(t2 - t0)
    response = Latency.of("move", "POST /api/crm/deals/{id}/move to another stage: the mover's response",
                          responses, "POST /api/crm/deals/{id}/move")
    live = Latency.of("move_live", "the same move until deal.stage_changed arrives on a second user's /api/ws",
                      arrivals, "POST …/move → WebSocket")
    after = [a - r for a, r in zip(arrivals, responses, strict=True)]
    extra = {"after_response_p50_ms": round(percentile([a * 1000 for a in after], 50), 2),
             "after_response_p95_ms": round(percentile([a * 1000 for a in after], 95), 2),
             "other_events_seen": other_events}
    return response, live, extra


def quiet(probe: CpuProbe, limit: float) -> dict[str, float]:
    from bench.run import wait_until_quiet

    if limit <= 0:
        return {}
    return wait_until_quiet(lambda: [probe.server_pid, *probe._db_pids()], limit)


async def measure_http(base_url: str, plan: dict[str, Any], scale: Scale, probe: CpuProbe, quiet_wait: float
                       ) -> tuple[dict[str, Any], dict[str, Any]]:
    import httpx

    results: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    n = scale.requests
    headers = {"X-Tenant": SLUG}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as client:
        token = await login(client, f"admin@{SLUG}.example.com")
        client.headers["Authorization"] = f"Bearer {token}"
        board_pipeline = plan["pipelines"][0]
        owner = plan["owners"][0]

        async def run(name: str, description: str, make: Callable[[int], tuple[str, dict[str, Any]]],
                      count: int = n) -> None:
            say(f"  {name}: {description}")
            await asyncio.to_thread(quiet, probe, quiet_wait)
            probe.start()
            lat = await time_gets(client, name, description, make, count, warmup=min(10, count))
            cpu = probe.stop(count + min(10, count))  # the warm-up requests ran inside the probe too
            results[name] = {**lat.__dict__, **cpu}
            say(f"    p50 {lat.p50_ms:.1f} ms  p95 {lat.p95_ms:.1f} ms  p99 {lat.p99_ms:.1f} ms  "
                f"(CPU per request: server {cpu['server_cpu_ms']:.1f} ms"
                + (f", database {cpu['db_cpu_ms']:.1f} ms" if cpu["db_cpu_ms"] is not None else "")
                + f"; other load {cpu['other_cpu_pct']:.0f} % of a CPU)")

        board_path = f"/api/crm/pipelines/{board_pipeline['id']}/board"
        await run("board", f"first screen of the board ({board_pipeline['open']:,} open deals, 6 stages): counts, "
                           "sums and the first 50 cards per stage", lambda i: (board_path, {}))
        await run("board_owner", "the same board filtered to one sales rep",
                  lambda i: (board_path, {"owner_id": owner}))
        first = (await client.get(board_path)).json()
        largest = max(first["columns"], key=lambda c: c["count"])
        more_path = f"/api/crm/pipelines/{board_pipeline['id']}/stages/{largest['stage']['id']}/deals"
        await run("column_more", f"the next 50 cards of the largest column ({largest['count']:,} deals)",
                  lambda i: (more_path, {"cursor": largest["next_cursor"]}))
        for group in FORECAST_GROUPS:
            await run(f"forecast_{group}", f"forecast over {scale.forecast_deals:,} open deals, group={group}",
                      lambda i, g=group: ("/api/crm/forecast", {"group": g}),  # type: ignore[misc]
                      scale.forecast_requests)
        await run("forecast_pipeline", "forecast of the board's pipeline, group=month",
                  lambda i: ("/api/crm/forecast", {"group": "month", "pipeline_id": board_pipeline["id"]}),
                  scale.forecast_requests)

        say(f"  move → WebSocket: {scale.moves} moves, a second user's socket receives each")
        watcher = await login(client, f"watcher@{SLUG}.example.com")
        board = (await client.get(board_path)).json()
        await asyncio.to_thread(quiet, probe, quiet_wait)
        probe.start()
        response, live, extra["move"] = await measure_moves(client, base_url, watcher, board, scale.moves,
                                                            random.Random(5))
        cpu = probe.stop(scale.moves + 5)
        for lat in (response, live):
            results[lat.name] = {**lat.__dict__, **cpu}
            say(f"    {lat.name}: p50 {lat.p50_ms:.1f} ms  p95 {lat.p95_ms:.1f} ms  p99 {lat.p99_ms:.1f} ms")
    return results, extra


# --- the run -------------------------------------------------------------------------------------


async def measure_engine(engine: str, quick: bool, workdir: Path, quiet_wait: float = 0.0) -> dict[str, Any]:
    from bench.run import AppServer, analyze_database, bench_env, cpu_plan, postmaster_pid, start_database
    from xynap.core.config import get_settings, reset_settings
    from xynap.core.migrate import upgrade

    scale = SCALES[(engine, quick)]
    server_cpus, other_cpus = cpu_plan()
    pg = None
    server: AppServer | None = None
    runtime = None
    data_dir = workdir / f"data-{engine}"
    started = dt.datetime.now(dt.UTC)
    try:
        pg, url = start_database(engine, "xynap_bench_crm", data_dir, other_cpus)
        env = bench_env(url, data_dir)
        env["XYNAP_RUN_WORKER"] = "true"  # one node: the event dispatcher feeding the WebSocket hub runs in it
        os.environ.update({k: v for k, v in env.items() if k.startswith("XYNAP_")})
        reset_settings()
        settings = get_settings()
        say(f"{engine}: migrating")
        await asyncio.to_thread(upgrade, settings)
        from xynap.app import build_runtime

        runtime = build_runtime(settings)
        from xynap.platform.catalog.service import sync_catalog

        async with runtime.db.platform_session() as session:
            await sync_catalog(session, runtime.registry)

        t0 = time.perf_counter()
        say(f"{engine}: {scale.others} other companies of {scale.per_other:,} deals")
        for i in range(scale.others):
            other = await create_company(runtime, f"bench-crm-o{i:03d}", 5)
            await populate_company(runtime, other, 1, scale.per_other, scale.per_other, scale.closed_share, 100 + i)
        others_s = time.perf_counter() - t0
        say(f"{engine}: the measured company: {scale.forecast_deals:,} open deals in {scale.pipelines} pipelines "
            f"(the board's: {scale.board_deals:,}) + {scale.closed_share:.0%} won/lost")
        t1 = time.perf_counter()
        company = await create_company(runtime, SLUG, scale.reps)
        plan = await populate_company(runtime, company, scale.pipelines, scale.board_deals, scale.forecast_deals,
                                      scale.closed_share, 42)
        main_s = time.perf_counter() - t1
        await analyze_database(runtime)
        counts = await count_rows(runtime)
        population = {"main_seconds": round(main_s, 1), "others_seconds": round(others_s, 1), "rows": counts}
        say(f"  populated in {main_s:.0f} s + {others_s:.0f} s for the others: {counts}")
        plan["owners"] = [str(o) for o in company["owners"]]
        plan["pipelines"] = [{**p, "id": str(p["id"])} for p in plan["pipelines"]]

        server = AppServer(env, workdir, server_cpus)
        await asyncio.to_thread(server.start)
        assert server.proc is not None
        probe = CpuProbe(server.proc.pid, postmaster_pid(pg) if pg is not None else None)
        scenarios, extra = await measure_http(server.url(""), plan, scale, probe, quiet_wait)
        finished = dt.datetime.now(dt.UTC)
        return {"engine": engine, "quick": quick, "scale": scale.__dict__, "population": population,
                "scenarios": scenarios, "extra": extra, "date_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
                "duration_s": round((finished - started).total_seconds())}
    finally:
        if server is not None:
            await asyncio.to_thread(server.stop)
        if runtime is not None:
            await runtime.db.dispose()
        if pg is not None:
            pg.stop()


# --- targets and docs ------------------------------------------------------------------------------

TARGETS_MS = {"board": 100, **{f"forecast_{g}": 200 for g in FORECAST_GROUPS}, "move_live": 100}


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    s = result["scenarios"]
    out = []
    for name, limit in TARGETS_MS.items():
        if name in s:
            out.append({"target": f"`{name}` p95 ≤ {limit} ms", "value": f"{s[name]['p95_ms']:.1f} ms",
                        "met": s[name]["p95_ms"] <= limit})
    return out


def render(results: list[dict[str, Any]], command: str) -> str:
    from bench.run import git_revision, machine_info, software_versions, target_table

    m = machine_info()
    sw = software_versions()
    lines = [SECTION, "",
             "The CRM module at scale: the board's first screen, a column's next page, the weighted forecast in "
             "every grouping, and a card move as a second browser sees it (the mover's `POST …/move` until "
             "`deal.stage_changed` arrives on another user's `/api/ws`). Measured one request at a time "
             "(latency, not throughput) against the real app — one uvicorn worker with its in-process event "
             "dispatcher, pinned to one CPU; the database and this runner on the other — after bulk-inserting "
             "the deals in the shape the API writes them (stage history per stay, positions 1,024 apart, "
             "line items, tags, search documents). *CPU ms per request* is the CPU time the app server and all "
             "PostgreSQL processes spent per request during the scenario (for the moves: per move, including "
             "the event dispatch and the WebSocket send) — on a shared machine a steadier figure than the "
             "latency; *other load* is the CPU the rest of the machine used meanwhile (100 % = one CPU).", "",
             f"- **Machine:** {m['cpu_model']}, {m['cpus']} CPUs, {m['ram_gib']} GiB RAM; Linux {m['kernel']}; "
             f"Python {m['python']}",
             f"- **Command:** `{command}` (`make bench` runs it after the contacts benchmark)",
             f"- **Revision:** {git_revision()}",
             "- **Versions:** " + ", ".join(f"{k} {v}" for k, v in sw.items()), ""]
    for r in results:
        sc, pop = r["scale"], r["population"]
        rows = pop.get("rows", {})
        lines += [f"### {'PostgreSQL' if r['engine'] == 'postgresql' else 'SQLite'}"
                  f"{' (quick run)' if r['quick'] else ''}", "",
                  f"- **Date:** {r['date_utc']} (the run took {r['duration_s']} s)",
                  f"- **Data:** the measured company has {sc['forecast_deals']:,} open deals in {sc['pipelines']} "
                  f"pipelines of 6 stages (the board's pipeline {sc['board_deals']:,}) plus "
                  f"{sc['closed_share']:.0%} won/lost, owned by {sc['reps']} sales reps in teams of five; "
                  f"{sc['others']} other companies of {sc['per_other']:,} deals; in all "
                  f"{rows.get('crm_deals', 0):,} deals, {rows.get('crm_deal_stage_history', 0):,} stage history "
                  f"rows; populated in {pop['main_seconds']:.0f} s (+ {pop['others_seconds']:.0f} s others)",
                  f"- **Requests:** {sc['requests']} per board scenario, {sc['forecast_requests']} per forecast, "
                  f"{sc['moves']} moves; sequential, keep-alive, after warm-up", "",
                  "| Scenario | p50 ms | p95 ms | p99 ms | mean ms | CPU ms per request: server / database "
                  "| other load | example |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for name, lat in r["scenarios"].items():
            db_cpu = f"{lat['db_cpu_ms']:.1f}" if lat.get("db_cpu_ms") is not None else "–"
            lines.append(f"| `{name}`: {lat['description']} | {lat['p50_ms']:.1f} | {lat['p95_ms']:.1f} "
                         f"| {lat['p99_ms']:.1f} | {lat['mean_ms']:.1f} | {lat['server_cpu_ms']:.1f} / {db_cpu} "
                         f"| {lat['other_cpu_pct']:.0f} % | `{lat['sample'][:90]}` |")
        move = r["extra"].get("move")
        if move:
            lines += ["", f"The event reached the second socket {move['after_response_p50_ms']:.1f} ms (p50) / "
                          f"{move['after_response_p95_ms']:.1f} ms (p95) after the mover had its response."]
        if r["engine"] != "postgresql":
            lines += ["", "The targets are set for PostgreSQL; on SQLite they are shown for comparison only."]
        lines += target_table(r["targets"])
        lines.append("")
    lines += ["Raw figures: `bench/results/crm-<engine>.json`.", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    from bench.run import run_per_engine, write_docs

    parser = argparse.ArgumentParser(prog="python -m bench.crm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="small data (20,000 open deals, a board of 2,000)")
    parser.add_argument("--quiet-wait", type=float, default=30.0,
                        help="before each scenario wait up to S seconds for other processes to calm down (0: never)")
    docs = parser.add_mutually_exclusive_group()
    docs.add_argument("--docs", dest="docs", action="store_true", default=None)
    docs.add_argument("--no-docs", dest="docs", action="store_false")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    results = run_per_engine("crm", engines, lambda engine, workdir: measure_engine(
        engine, args.quick, workdir, args.quiet_wait), targets)
    command = "python -m bench.crm" + ("" if not argv else " " + " ".join(argv))
    if args.docs or (args.docs is None and not args.quick and args.engine == "both"):
        write_docs(render(results, command), heading=SECTION)
        say("docs/benchmarks.md updated")


if __name__ == "__main__":
    main(sys.argv[1:])
