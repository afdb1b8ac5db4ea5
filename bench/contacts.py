"""Shared-components benchmark: contacts at scale (``python -m bench.contacts``).

Builds one big tenant (PostgreSQL: 1,000,000 contacts plus 1,000 other tenants of 1,000 contacts
each; SQLite: 100,000 plus 10 others) through the product's own CSV import, serves the real app
with one uvicorn worker and measures, one request at a time, the latency of: the first and a deep
page of the contact list sorted by name, the list filtered by a tag and by a custom field, a
segment, the global search, the duplicate candidates of one contact; then a 100,000-row CSV import
through the API (upload → background job, rows/s) and a streamed vCard export of 100,000 contacts
(the server's peak memory before and after). Figures go to bench/results/contacts-<engine>.json
and, for a full run, to the "## Shared components: contacts" section of docs/benchmarks.md.

Benchmarks are not tests: nothing here asserts; targets are reported as met or not met.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Shared components: contacts"
PASSWORD = "bench-password-0123456789"

FIRST_NAMES = ("Anna", "Lukas", "Leonie", "Finn", "Mia", "Jonas", "Emma", "Paul", "Hannah", "Felix", "Lea", "Max",
               "Sophie", "Elias", "Marie", "Noah", "Laura", "Ben", "Julia", "Tim", "Sarah", "Jan", "Lena", "Tom",
               "Katharina", "Stefan", "Sabine", "Thomas", "Andrea", "Michael", "Claudia", "Peter", "Petra", "Uwe",
               "Jürgen", "Birgit", "Klaus", "Monika", "Wolfgang", "Ursula", "Özlem", "Mehmet", "Aleksandra", "Dmitri")
LAST_NAMES = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
              "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
              "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier",
              "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber",
              "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Yılmaz",
              "Kowalski", "Nowak", "Öztürk", "Vogel", "Friedrich", "Keller", "Günther", "Frank", "Berger")
COMPANY_WORDS = ("Nord", "Süd", "Rhein", "Alpen", "Spree", "Elb", "Main", "Donau", "Hanse", "Berg", "Tal", "Stadt",
                 "Land", "Werk", "Technik", "Logistik", "Bau", "Daten", "Solar", "Metall", "Holz", "Glas", "Druck")
LEGAL_FORMS = ("GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.", "UG (haftungsbeschränkt)")
CITIES = (("Berlin", "10115", "030"), ("Hamburg", "20095", "040"), ("München", "80331", "089"),
          ("Köln", "50667", "0221"), ("Frankfurt am Main", "60311", "069"), ("Stuttgart", "70173", "0711"),
          ("Düsseldorf", "40213", "0211"), ("Leipzig", "04109", "0341"), ("Dortmund", "44135", "0231"),
          ("Essen", "45127", "0201"), ("Bremen", "28195", "0421"), ("Dresden", "01067", "0351"),
          ("Hannover", "30159", "0511"), ("Nürnberg", "90402", "0911"), ("Freiburg", "79098", "0761"))
STREETS = ("Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße", "Goethestraße", "Lindenallee",
           "Industriestraße", "Am Markt", "Kirchgasse", "Rosenweg")
TAGS = ("Kunde", "Lieferant", "VIP", "Partner", "Newsletter", "Messe 2026")
BRANCHEN = ("Maschinenbau", "Handel", "IT", "Handwerk", "Logistik", "Gastronomie", "Gesundheit", "Bildung")
DOMAINS = ("web.de", "gmx.de", "t-online.de", "gmail.com", "posteo.de", "outlook.de")

CSV_HEADER = ["Vorname", "Nachname", "Firma", "E-Mail", "Telefon", "Straße", "PLZ", "Ort", "Land", "Tags", "Branche"]


def say(msg: str) -> None:
    print(f"[bench.contacts] {msg}", flush=True)


# --- data ------------------------------------------------------------------------------------------


def contact_rows(count: int, seed: int) -> Iterator[list[str]]:
    """``count`` realistic, deterministic German contact rows (one in four an organisation; about one in
    fifty a near-duplicate of an earlier row, so the duplicate finder has something to find)."""
    rng = random.Random(seed)
    recent: list[list[str]] = []
    for i in range(count):
        if recent and rng.random() < 0.02:
            twin = list(rng.choice(recent))
            twin[3] = twin[3].upper()  # same e-mail, other case
            yield twin
            continue
        city, postal, prefix = rng.choice(CITIES)
        street = f"{rng.choice(STREETS)} {rng.randint(1, 180)}"
        tags = ",".join(sorted(rng.sample(TAGS, k=rng.choice((0, 0, 1, 1, 2)))))
        branche = rng.choice(BRANCHEN)
        phone = f"{prefix} {rng.randint(100000, 9999999)}"
        if rng.random() < 0.25:
            company = f"{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_WORDS).lower()} {rng.choice(LEGAL_FORMS)}"
            slug = "".join(ch for ch in company.split()[0].lower() if ch.isalnum())
            row = ["", "", company, f"info{i}@{slug}.de", phone, street, postal, city, "DE", tags, branche]
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            local = f"{first}.{last}{i}".lower().replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
            local = local.replace("ß", "ss").replace("ı", "i").replace("ç", "c").replace("ğ", "g").replace("ş", "s")
            row = [first, last, "", f"{local}@{rng.choice(DOMAINS)}", phone, street, postal, city, "DE", tags, branche]
        if len(recent) < 1000:
            recent.append(row)
        elif rng.random() < 0.01:
            recent[rng.randrange(len(recent))] = row
        yield row


def write_csv(path: Path, count: int, seed: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(CSV_HEADER)
        for row in contact_rows(count, seed):
            writer.writerow(row)
    return path


# --- timing ----------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass
class Latency:
    name: str
    description: str
    requests: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    sample: str

    @classmethod
    def of(cls, name: str, description: str, times: Sequence[float], sample: str) -> Latency:
        ms = [t * 1000 for t in times]
        return cls(name, description, len(ms), round(percentile(ms, 50), 2), round(percentile(ms, 95), 2),
                   round(percentile(ms, 99), 2), round(statistics.fmean(ms), 2), sample)


def time_requests(client: Any, name: str, description: str, make: Callable[[int], tuple[str, dict[str, Any]]],
                  count: int, warmup: int = 10) -> Latency:
    """``count`` sequential GETs (after ``warmup``); ``make(i)`` gives the path and query of request i."""
    for i in range(warmup):
        path, params = make(i)
        client.get(path, params=params).raise_for_status()
    times: list[float] = []
    sample = ""
    for i in range(count):
        path, params = make(warmup + i)
        t0 = time.perf_counter()
        resp = client.get(path, params=params)
        times.append(time.perf_counter() - t0)
        if resp.status_code != 200:
            raise RuntimeError(f"{name}: GET {path} {params} answered {resp.status_code}: {resp.text[:500]}")
        if not sample:
            sample = f"GET {path}" + (f"?{'&'.join(f'{k}={v}' for k, v in params.items())}" if params else "")
    return Latency.of(name, description, times, sample)


def peak_rss_mib(pid: int) -> float:
    """VmHWM (the peak resident set) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0: write 5 to clear_refs); False when not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def current_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0



# --- population through the product's import -----------------------------------------------------


async def import_csv(runtime: Any, data_dir: Path, tenant_id: Any, path: Path) -> dict[str, Any]:
    """Import ``path`` into the tenant in-process, exactly as ``xynap contacts import`` does."""
    from xynap.shared.contacts import transfer

    t0 = time.perf_counter()
    async with runtime.db.session(tenant_id=tenant_id) as db:
        with path.open("rb") as stream:
            imp = await transfer.create_import(db, data_dir, tenant_id, stream, path.name, None)
        options = await transfer.prepare_options(db, imp, None, skip_invalid=True)
        imp.options = options.as_json()
        imp.status = "queued"
        await db.commit()
        imp = await transfer.execute_import(db, data_dir, imp.id)
        await db.commit()
        result = {"status": imp.status, "rows": imp.total_rows, "imported": imp.imported_rows,
                  "invalid": imp.invalid_rows, "seconds": round(time.perf_counter() - t0, 2)}
    if result["status"] != "succeeded":
        raise RuntimeError(f"import of {path} ended {result}")
    return result


async def create_company(runtime: Any, slug: str, admin_email: str) -> Any:
    from xynap.core.security.passwords import hash_password
    from xynap.platform.catalog.subscriptions import book_module
    from xynap.platform.tenants.service import create_tenant
    from xynap.platform.users.models import User

    async with runtime.db.platform_session() as session:
        tenant = await create_tenant(session, slug=slug, name=f"Bench {slug}", status="active")
        tenant_id = tenant.id
    slug_to_book = "crm" if runtime.registry.get("crm") else "example"
    async with runtime.db.tenant_session(tenant_id) as session:
        await book_module(session, runtime, tenant_id, slug_to_book, tier="business", activate=True)
    from xynap.shared.contacts.models import CustomFieldDefinition

    async with runtime.db.tenant_session(tenant_id) as session:
        session.add(CustomFieldDefinition(entity="contact", key="branche", label="Branche", type="select",
                                          options=list(BRANCHEN), required=False, position=0))
        session.add(User(email=admin_email, name="Bench Admin", role="admin", password_hash=hash_password(PASSWORD),
                         is_active=True, locale="de"))
        await session.flush()
    return tenant_id


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Scale:
    main: int  # contacts of the measured company
    others: int  # other companies ...
    per_other: int  # ... with this many contacts each
    import_rows: int  # the CSV imported through the API (and exported as vCards)
    requests: int  # measured requests per scenario


SCALES = {
    ("postgresql", False): Scale(1_000_000, 1_000, 1_000, 100_000, 300),
    ("sqlite", False): Scale(100_000, 10, 1_000, 100_000, 300),
    ("postgresql", True): Scale(50_000, 20, 1_000, 20_000, 100),
    ("sqlite", True): Scale(20_000, 5, 1_000, 10_000, 100),
}

SEARCH_TERMS = ("Müller", "Schmidt", "schm", "Weber", "Hamburg", "Köln", "Logistik", "Anna Becker", "Jürgen",
                "Spreewerk", "Fischer Berlin", "Özlem", "kowalski", "Nordtal", "\"Lena Wolf\"", "Mey")


async def measure_engine(engine: str, quick: bool, workdir: Path) -> dict[str, Any]:
    from bench.run import AppServer, analyze_database, bench_env, cpu_plan, start_database
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
        pg, url = start_database(engine, "xynap_bench_contacts", data_dir, other_cpus)
        env = bench_env(url, data_dir)
        env["XYNAP_RUN_WORKER"] = "true"  # the API import runs as a background job
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

        say(f"{engine}: the measured company and {scale.others:,} others")
        main_id = await create_company(runtime, "bench-main", "admin@bench-main.example.com")
        other_ids = [await create_company(runtime, f"bench-o{i:04d}", f"admin@bench-o{i:04d}.example.com")
                     for i in range(scale.others)]
        other_csv = write_csv(workdir / "other.csv", scale.per_other, seed=7)
        population: dict[str, Any] = {}
        t0 = time.perf_counter()
        for k, tenant_id in enumerate(other_ids):
            await import_csv(runtime, data_dir, tenant_id, other_csv)
            if k % 100 == 99:
                say(f"  {k + 1:,} other companies imported")
        population["others_seconds"] = round(time.perf_counter() - t0, 1)
        say(f"{engine}: writing and importing {scale.main:,} contacts into the measured company")
        main_csv = write_csv(workdir / "main.csv", scale.main, seed=42)
        main_import = await import_csv(runtime, data_dir, main_id, main_csv)
        population["main_import"] = main_import
        population["main_import_rows_per_s"] = round(main_import["rows"] / main_import["seconds"])
        say(f"  {main_import['imported']:,} imported in {main_import['seconds']:.0f} s "
            f"({population['main_import_rows_per_s']:,} rows/s, in-process)")
        await create_company(runtime, "bench-import", "admin@bench-import.example.com")
        await analyze_database(runtime)
        sample = await sample_rows(runtime, main_id, scale.requests, scale.main // 2)

        server = AppServer(env, workdir, server_cpus)
        await asyncio.to_thread(server.start)
        assert server.proc is not None
        scenarios, extra = await asyncio.to_thread(measure_http, server, sample, scale, workdir)
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


def sample_rows(runtime: Any, tenant_id: Any, count: int, offset: int) -> Any:
    """Contact ids for the duplicate scenario, the row for a deep cursor and the tag ids (read in the tenant)."""
    from sqlalchemy import select

    from xynap.shared.contacts.models import Contact
    from xynap.shared.tags.models import Tag

    async def read() -> dict[str, Any]:
        async with runtime.db.session(tenant_id=tenant_id) as db:
            ids = list(await db.scalars(select(Contact.id).order_by(Contact.id).offset(1000).limit(count)))
            deep = (await db.execute(select(Contact.display_name, Contact.id)
                                     .order_by(Contact.display_name, Contact.id).offset(offset).limit(1))).first()
            tags = {t.name: t.id for t in await db.scalars(select(Tag))}
        return {"ids": ids, "deep": tuple(deep), "tags": tags}

    return read()


def login(client: Any, slug: str) -> None:
    client.headers["X-Tenant"] = slug
    resp = client.post("/api/login", json={"email": f"admin@{slug}.example.com", "password": PASSWORD})
    resp.raise_for_status()
    client.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"


def measure_http(server: Any, sample: dict[str, Any], scale: Scale, workdir: Path
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    import httpx

    from xynap.core.pagination import encode_cursor

    ids = sample["ids"]
    deep_name, deep_id = sample["deep"]
    deep_cursor = encode_cursor(deep_name, deep_id)
    vip = sample["tags"]["VIP"]
    results: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    with httpx.Client(base_url=server.url(""), timeout=600) as client:
        login(client, "bench-main")
        segment = client.post("/api/contacts/segments", json={"name": "VIP in München", "filter": {
            "op": "and", "conditions": [{"field": "tag", "operator": "has", "value": str(vip)},
                                        {"field": "city", "operator": "eq", "value": "München"}]}})
        segment.raise_for_status()
        segment_id = segment.json()["id"]
        n = scale.requests

        def run(name: str, description: str, make: Callable[[int], tuple[str, dict[str, Any]]],
                warmup: int = 10) -> None:
            say(f"  {name}: {description}")
            lat = time_requests(client, name, description, make, n, warmup)
            results[name] = lat.__dict__
            say(f"    p50 {lat.p50_ms:.1f} ms  p95 {lat.p95_ms:.1f} ms  p99 {lat.p99_ms:.1f} ms")

        run("list_first", "first page of the list, 50 contacts sorted by name",
            lambda i: ("/api/contacts", {"sort": "name", "limit": 50}))
        run("list_deep", f"a page in the middle (after {scale.main // 2:,} contacts), sorted by name",
            lambda i: ("/api/contacts", {"sort": "name", "limit": 50, "cursor": deep_cursor}))
        run("filter_tag", "filtered by a tag (VIP), sorted by name",
            lambda i: ("/api/contacts", {"tag": str(vip), "sort": "name", "limit": 50}))
        run("filter_cf", "filtered by a custom field (Branche = IT), sorted by name",
            lambda i: ("/api/contacts", {"cf.branche": "IT", "sort": "name", "limit": 50}))
        run("segment", "a saved segment (tag VIP and city München)",
            lambda i: ("/api/contacts", {"segment": segment_id, "limit": 50}))
        run("search", f"global search, {len(SEARCH_TERMS)} different queries in turn",
            lambda i: ("/api/search", {"q": SEARCH_TERMS[i % len(SEARCH_TERMS)]}), warmup=len(SEARCH_TERMS))
        run("duplicates", "duplicate candidates of one contact (different contacts in turn)",
            lambda i: (f"/api/contacts/{ids[i % len(ids)]}/duplicates", {}))
        extra["search_terms"] = search_terms(client)
        slowest = sorted(extra["search_terms"].items(), key=lambda kv: -kv[1]["p50_ms"])[:3]
        say("    slowest search terms: " + ", ".join(f"{t!r} {v['p50_ms']:.1f} ms" for t, v in slowest))

    say(f"  import: {scale.import_rows:,} rows through the API (upload, background job)")
    csv_path = write_csv(workdir / "import.csv", scale.import_rows, seed=99)
    extra["import"] = api_import(server, csv_path)
    say(f"    {extra['import']['rows_per_s']:,} rows/s")
    say("  vCard export: the imported company's contacts vs a company of 1,000 (the server's peak memory)")
    extra["export"] = {
        "small": vcard_export(server, "bench-o0000") if scale.others else None,
        "large": vcard_export(server, "bench-import"),
    }
    say(f"    {extra['export']['large']}")
    return results, extra


def search_terms(client: Any, repeat: int = 7) -> dict[str, dict[str, Any]]:
    """Each search term on its own (p50 of ``repeat`` requests) with its match count: the search
    scenario's p95 is set by its broadest terms, and this names them."""
    out: dict[str, dict[str, Any]] = {}
    for term in SEARCH_TERMS:
        times = []
        body: dict[str, Any] = {}
        for _ in range(repeat):
            t0 = time.perf_counter()
            resp = client.get("/api/search", params={"q": term})
            times.append((time.perf_counter() - t0) * 1000)
            resp.raise_for_status()
            body = resp.json()
        out[term] = {"p50_ms": round(percentile(times, 50), 2), "total": body.get("total"),
                     "total_exact": body.get("total_exact")}
    return out


def api_import(server: Any, path: Path) -> dict[str, Any]:
    import httpx

    with httpx.Client(base_url=server.url(""), timeout=600) as client:
        login(client, "bench-import")
        t0 = time.perf_counter()
        with path.open("rb") as fh:
            up = client.post("/api/contacts/imports", files={"file": (path.name, fh, "text/csv")})
        if up.status_code != 201:
            raise RuntimeError(f"upload answered {up.status_code}: {up.text[:500]}")
        imp = up.json()
        uploaded = time.perf_counter() - t0
        # Timed from the moment Run is sent to the server's own finishing time (same machine, same clock):
        # the progress is polled twice a second as the web app does, and polling faster to catch the end
        # cost the server's single CPU a tenth of its time (the import runs in that process).
        started = time.time()
        run = client.post(f"/api/contacts/imports/{imp['id']}/run",
                          json={"mapping": imp.get("suggested_mapping") or imp.get("mapping"), "skip_invalid": True})
        run.raise_for_status()
        t1 = time.perf_counter()
        progress: list[tuple[float, int]] = []
        while True:
            state = client.get(f"/api/contacts/imports/{imp['id']}").json()
            progress.append((round(time.perf_counter() - t1, 1), (state.get("progress") or {}).get("rows_done", 0)))
            if state["status"] in ("succeeded", "rejected", "failed"):
                break
            time.sleep(0.5)
        finished = dt.datetime.fromisoformat(state["finished_at"]).timestamp() if state.get("finished_at") else None
        seconds = (finished - started) if finished else time.perf_counter() - t1
    rows = state.get("total_rows") or 0
    return {"status": state["status"], "rows": rows, "imported": state.get("imported_rows"),
            "upload_s": round(uploaded, 2), "run_s": round(seconds, 2),
            "rows_per_s": round(rows / seconds) if seconds else 0, "progress_samples": len(progress)}


def vcard_export(server: Any, slug: str) -> dict[str, Any]:
    import httpx

    pid = server.proc.pid
    with httpx.Client(base_url=server.url(""), timeout=600) as client:
        login(client, slug)
        client.get("/api/contacts", params={"limit": 1}).raise_for_status()  # warm
        before = current_rss_mib(pid)
        resettable = reset_peak_rss(pid)
        t0 = time.perf_counter()
        size = cards = 0
        with client.stream("GET", "/api/contacts/export.vcf", params={"version": "4.0"}) as resp:
            resp.raise_for_status()
            for chunk in resp.iter_bytes():
                size += len(chunk)
                cards += chunk.count(b"BEGIN:VCARD")
        seconds = time.perf_counter() - t0
        peak = peak_rss_mib(pid)
    return {"company": slug, "cards": cards, "mib": round(size / 2**20, 1), "seconds": round(seconds, 2),
            "rss_before_mib": round(before, 1), "peak_rss_mib": round(peak, 1),
            "peak_growth_mib": round(peak - before, 1) if resettable else None, "peak_reset": resettable}


# --- targets and docs ------------------------------------------------------------------------------

TARGETS_MS = {"list_first": 25, "list_deep": 25, "filter_tag": 50, "filter_cf": 50, "search": 50, "duplicates": 50}
IMPORT_TARGET_ROWS_PER_S = 5_000


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    s = result["scenarios"]
    for name, limit in TARGETS_MS.items():
        if name in s:
            out.append({"target": f"`{name}` p95 ≤ {limit} ms", "value": f"{s[name]['p95_ms']:.1f} ms",
                        "met": s[name]["p95_ms"] <= limit})
    imp = result["extra"].get("import")
    if imp:
        out.append({"target": f"CSV import through the API ≥ {IMPORT_TARGET_ROWS_PER_S:,} rows/s",
                    "value": f"{imp['rows_per_s']:,} rows/s", "met": imp["rows_per_s"] >= IMPORT_TARGET_ROWS_PER_S})
    exp = result["extra"].get("export", {})
    small, large = exp.get("small"), exp.get("large")
    if large and small and large["peak_growth_mib"] is not None and small["peak_growth_mib"] is not None:
        # constant memory: the peak grows no more for 100x the cards than noise (8 MiB) over the small export
        grew = large["peak_growth_mib"] - small["peak_growth_mib"]
        out.append({"target": f"vCard export of {large['cards']:,} contacts streams in constant memory "
                              f"(peak growth vs a {small['cards']:,}-card export)",
                    "value": f"+{large['peak_growth_mib']:.1f} MiB vs +{small['peak_growth_mib']:.1f} MiB",
                    "met": grew <= 8})
    return out


def render(results: list[dict[str, Any]], command: str) -> str:
    from bench.run import machine_info, software_versions, target_table

    m = machine_info()
    sw = software_versions()
    lines = [SECTION, "",
             "The contacts component at scale: list, filters, segment, global search and duplicate candidates, "
             "measured one request at a time (latency, not throughput) against the real app (one uvicorn "
             "worker pinned to one CPU, the database and this runner on the other; PostgreSQL with a quarter of the "
             "RAM as `shared_buffers`, as for a dedicated database server), after populating the "
             "database through the product's own CSV import; then a CSV import and a vCard export through "
             "the API.", "",
             f"- **Machine:** {m['cpu_model']}, {m['cpus']} CPUs, {m['ram_gib']} GiB RAM; Linux {m['kernel']}; "
             f"Python {m['python']}",
             f"- **Command:** `{command}` (`make bench` runs it after the platform benchmark)",
             "- **Versions:** " + ", ".join(f"{k} {v}" for k, v in sw.items()), ""]
    for r in results:
        sc = r["scale"]
        pop = r["population"]
        lines += [f"### {'PostgreSQL' if r['engine'] == 'postgresql' else 'SQLite'}"
                  f"{' (quick run)' if r['quick'] else ''}", "",
                  f"- **Date:** {r['date_utc']} (the run took {r['duration_s']} s)",
                  f"- **Data:** {sc['main']:,} contacts in the measured company, {sc['others']:,} other companies "
                  f"of {sc['per_other']:,} contacts each; about a third tagged, one in four an organisation, one "
                  f"in fifty a near-duplicate; populated by the in-process import in "
                  f"{pop['main_import']['seconds']:.0f} s ({pop['main_import_rows_per_s']:,} rows/s) + "
                  f"{pop['others_seconds']:.0f} s for the others",
                  f"- **Requests:** {sc['requests']} per scenario, sequential, keep-alive, after 10 warm-up "
                  "requests (the search: one of each query)", "",
                  "| Scenario | p50 ms | p95 ms | p99 ms | mean ms | example |",
                  "| --- | ---: | ---: | ---: | ---: | --- |"]
        for name, lat in r["scenarios"].items():
            lines.append(f"| `{name}`: {lat['description']} | {lat['p50_ms']:.1f} | {lat['p95_ms']:.1f} "
                         f"| {lat['p99_ms']:.1f} | {lat['mean_ms']:.1f} | `{lat['sample'][:90]}` |")
        terms = r["extra"].get("search_terms")
        if terms:
            def shown(t: str, v: dict[str, Any]) -> str:
                matches = f"{v['total']:,}{'' if v['total_exact'] else '+'}" if v.get("total") is not None else "?"
                return f"`{t}` {v['p50_ms']:.1f} ms ({matches} matches)"
            slowest = sorted(terms.items(), key=lambda kv: -kv[1]["p50_ms"])[:4]
            lines += ["", "Search terms, slowest first (p50 of 7 requests each): "
                      + "; ".join(shown(t, v) for t, v in slowest) + "."]
        imp = r["extra"].get("import")
        if imp:
            lines += ["", f"CSV import through the API ({imp['rows']:,} rows, `POST /api/contacts/imports` then "
                      f"`/run`, a background job, polled): {imp['status']}, {imp['imported']:,} imported in "
                      f"{imp['run_s']:.1f} s = **{imp['rows_per_s']:,} rows/s** (upload {imp['upload_s']:.1f} s)."]
        for label, e in (("large", r["extra"].get("export", {}).get("large")),
                         ("small", r["extra"].get("export", {}).get("small"))):
            if e:
                growth = f"+{e['peak_growth_mib']:.1f} MiB" if e["peak_growth_mib"] is not None else "n/a"
                lines.append(f"vCard 4.0 export of {e['company']} ({label}): {e['cards']:,} cards, {e['mib']} MiB "
                             f"streamed in {e['seconds']:.1f} s; server RSS {e['rss_before_mib']:.0f} MiB before, "
                             f"peak {e['peak_rss_mib']:.0f} MiB ({growth}).")
        lines += target_table(r["targets"])
        lines.append("")
    lines += ["Raw figures: `bench/results/contacts-<engine>.json`.", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    from bench.run import run_per_engine, write_docs

    parser = argparse.ArgumentParser(prog="python -m bench.contacts", description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="small data (PostgreSQL 50,000, SQLite 20,000)")
    parser.add_argument("--quick-engine", action="append", default=[], choices=("postgresql", "sqlite"),
                        help="small data for this engine only (repeatable)")
    docs = parser.add_mutually_exclusive_group()
    docs.add_argument("--docs", dest="docs", action="store_true", default=None)
    docs.add_argument("--no-docs", dest="docs", action="store_false")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    results = run_per_engine("contacts", engines, lambda engine, workdir: measure_engine(
        engine, args.quick or engine in args.quick_engine, workdir), targets)
    command = "python -m bench.contacts" + ("" if not argv else " " + " ".join(argv))
    if args.docs or (args.docs is None and not args.quick and args.engine == "both"):
        write_docs(render(results, command), heading=SECTION)
        say("docs/benchmarks.md updated")


if __name__ == "__main__":
    main(sys.argv[1:])
