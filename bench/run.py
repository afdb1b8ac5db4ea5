"""Platform-core benchmark: what tenant + auth + module + permission cost per request.

    python -m bench.run [--quick] [--only NAME[,NAME...]] [--tool wrk|python] [--docs | --no-docs]

Starts a throwaway PostgreSQL, migrates and seeds it, serves the real app with one uvicorn
worker in its own process (pinned to one CPU) and loads it from another process (wrk, else
a small asyncio load generator of this module, pinned to another CPU). Then it times the
platform layer in-process without HTTP. Figures go to bench/results/platform-core.json and,
for a full run, to the "## Platform core" section of docs/benchmarks.md.

Benchmarks are not tests: nothing here asserts; targets are reported as met or not met.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
RESULTS_FILE = RESULTS_DIR / "platform-core.json"
DOCS_FILE = ROOT / "docs" / "benchmarks.md"
SECTION = "## Platform core"

BENCH_TENANTS = 10  # created through the service, each with one admin user
MANY_TENANTS = 10_000  # after the bulk insert
DISTINCT_SLUGS_MANY = 1_000  # how many different tenants scenario tenant_10k hits
PASSWORD = "bench-password-0123456789"
SECRET_KEY = "bench-secret-key-long-enough-for-hs256-0123456789abcdef"
CONNECTIONS = 16
INPROC_ITERATIONS = 20_000
MISS_ITERATIONS = 500

# Targets of the issue.
TARGET_PLATFORM_MS = 1.0
TARGET_THROUGHPUT_RATIO = 0.5
BUSY_WARNING_PCT = 25.0  # other processes' CPU (% of one CPU) above which a run is flagged as disturbed
NO_SLOWDOWN_RATIO = 0.9  # 10,000 tenants keep >= 90 % of the throughput with 10 (run-to-run noise band)

SCENARIOS: dict[str, str] = {
    "bare": "bare endpoint, no tenant/auth/DB",
    "platform": "same JSON behind tenant + token + permission, no DB",
    "auth": "authenticated, tenant-scoped, permission-checked GET of one user (DB read)",
    "bare_c1": "bare endpoint, one connection (latency)",
    "platform_c1": "platform-checked, no DB, one connection (latency)",
    "auth_c1": "authenticated GET of one user, one connection (latency)",
    "auth_mix": "authenticated GET of one user, the admins of 10 tenants in turn (the RLS context changes)",
    "tenant_10": "tenant resolution only, 10 tenants (10 slugs)",
    "bare_10k": "bare endpoint again after the restart (noise control)",
    "tenant_10k": f"tenant resolution only, {MANY_TENANTS:,} tenants ({DISTINCT_SLUGS_MANY:,} slugs)",
    "auth_10k": f"authenticated GET with {MANY_TENANTS:,} tenants present",
    "inproc": "platform layer in-process (no HTTP)",
}
NEEDS_MANY = {"bare_10k", "tenant_10k", "auth_10k"}


def say(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


# --- machine -------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    model, logical = "unknown", 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            if line.startswith("processor"):
                logical += 1
    except OSError:
        pass
    ram_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cpus": logical or os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "ram_gib": ram_gib,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def software_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for name in ("xynap", "fastapi", "starlette", "uvicorn", "sqlalchemy", "asyncpg", "pyjwt", "uvloop", "httptools"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    try:
        from tests.servers import require_binary

        out["postgresql"] = subprocess.run([require_binary("postgres"), "--version"], capture_output=True,
                                           text=True, timeout=10).stdout.split(")", 1)[-1].split()[0]
    except Exception:  # only for the report
        pass
    return out


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f"{rev}{' (with uncommitted changes)' if dirty else ''}" if rev else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_plan() -> tuple[set[int] | None, set[int] | None]:
    """One CPU for the server, another for the load generator (when there are two)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return {cpus[0]}, {cpus[1]}


def _pinned(cpus: set[int] | None) -> Callable[[], None] | None:
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


# --- other load on the machine -------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _machine_jiffies() -> tuple[int, int]:
    """(busy, steal) jiffies of all CPUs together, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]] + [0] * 10
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return user + nice + system + irq + softirq + steal, steal


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants (e.g. the postmaster and its backends)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields:
                parents.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, []))
    return out


class CpuWatch:
    """CPU the rest of the machine used while we measured: all busy time minus ours (this process,
    its waited children such as wrk, and the given processes: app server, PostgreSQL)."""

    def __init__(self, our_pids: Callable[[], list[int]]) -> None:
        self.our_pids = our_pids

    def _ours(self) -> tuple[float, dict[int, int]]:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        rusage = (me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime) * CLK_TCK
        per_pid = {}
        for pid in self.our_pids():
            fields = _stat_fields(pid)
            if fields:
                per_pid[pid] = int(fields[11]) + int(fields[12])
        return rusage, per_pid

    def start(self) -> CpuWatch:
        self.t0 = time.monotonic()
        self.busy0, self.steal0 = _machine_jiffies()
        self.rusage0, self.pids0 = self._ours()
        return self

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self.t0
        busy, steal = _machine_jiffies()
        rusage, pids = self._ours()
        ours = (rusage - self.rusage0) + sum(j - self.pids0.get(p, 0) for p, j in pids.items())
        scale = 100 / (CLK_TCK * wall) if wall > 0 else 0.0
        return {"other_cpu_pct": round(max(0.0, (busy - self.busy0) - ours) * scale, 1),
                "steal_cpu_pct": round((steal - self.steal0) * scale, 1),
                "our_cpu_pct": round(ours * scale, 1)}


def postmaster_pid(pg: Any) -> int | None:
    try:
        return int((Path(pg.data_dir) / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, TypeError, ValueError, IndexError):
        return None


def database_settings() -> dict[str, str]:
    """PostgreSQL's caches sized as for a dedicated database server (its docs: a quarter of the RAM for
    ``shared_buffers``). The default 128 MB left a 1,000,000-contact database (7.8 GB) to the kernel's page
    cache, which this kind of VM reclaims when idle: the first request of each search term then read
    from disk (100-200 ms) and set the p95."""
    ram_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return {"shared_buffers": f"{min(ram_mib // 4, 8192)}MB", "effective_cache_size": f"{ram_mib // 2}MB"}


def start_database(engine: str, name: str, data_dir: Path, cpus: set[int] | None) -> tuple[Any, str]:
    """A throwaway PostgreSQL (its processes pinned to ``cpus``) or an SQLite file in ``data_dir``: the
    server (None for SQLite; the caller stops it) and the database URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if engine != "postgresql":
        return None, f"sqlite+aiosqlite:///{data_dir / 'xynap.db'}"
    from tests.servers import PostgresServer

    pg = PostgresServer(settings=database_settings())
    pg.start()
    url = pg.create_database(name)
    pid = postmaster_pid(pg)
    if pid and cpus:
        for child in process_tree(pid):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(child, cpus)
    return pg, url


async def analyze_database(runtime: Any) -> None:
    """Fresh planner statistics after populating. On PostgreSQL VACUUM too: it sets the visibility map for
    index-only scans, and otherwise autovacuum works through the freshly written tables during the
    measurements, on the database's (pinned) CPU."""
    from sqlalchemy import text

    async with runtime.db.engine.connect() as conn:
        if runtime.db.dialect == "postgresql":
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
        else:
            await conn.execute(text("ANALYZE"))
            await conn.commit()


def wait_until_quiet(our_pids: Callable[[], list[int]], limit: float, threshold: float = 25.0) -> dict[str, float]:
    """Wait (up to ``limit`` s) until other processes use less than ``threshold`` % of one CPU."""
    started = time.monotonic()
    while True:
        watch = CpuWatch(our_pids).start()
        time.sleep(1.0)
        other = watch.stop()["other_cpu_pct"]
        waited = time.monotonic() - started
        if other < threshold or waited >= limit:
            return {"waited_s": round(waited - 1.0, 1), "other_cpu_pct_before": other}
        if waited < 1.5:
            say(f"  other processes use {other:.0f} % of a CPU: waiting up to {limit:.0f} s for a quieter machine")


# --- load generators -----------------------------------------------------------------------------


@dataclass
class LoadSpec:
    port: int
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    tenants: list[str] = field(default_factory=list)  # X-Tenant round-robin (empty: none)
    # Whole requests round-robin instead: [{"path": ..., "headers": {...}}, ...] (overrides the above).
    variants: list[dict[str, Any]] = field(default_factory=list)
    connections: int = CONNECTIONS
    duration: float = 10.0


def ensure_wrk() -> str | None:
    """wrk from Debian; installed with apt-get when missing and we are root."""
    path = shutil.which("wrk")
    if path or os.geteuid() != 0 or not shutil.which("apt-get"):
        return path
    say("wrk is missing: installing it with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "wrk"]
    for cmd in (install, ["apt-get", "update"], install):
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            say(f"{' '.join(cmd)} failed: {exc}")
            continue
        if proc.returncode == 0 and cmd is install and shutil.which("wrk"):
            break
    return shutil.which("wrk")


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for our ASCII values


WRK_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,'
    .. '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"mean_us":%.1f,"max_us":%.1f,'
    .. '"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"p999_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
"""


def _lua_headers(headers: dict[str, str]) -> str:
    return ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())


def wrk_script(spec: LoadSpec) -> str:
    headers = _lua_headers(spec.headers)
    tenants = ", ".join(_lua_string(t) for t in spec.tenants)
    variants = "\n".join(f"  reqs[#reqs + 1] = wrk.format(\"GET\", {_lua_string(v['path'])}, "
                         f"{{{_lua_headers(v['headers'])}}})" for v in spec.variants)
    return f"""
local path = {_lua_string(spec.path)}
local tenants = {{{tenants}}}
local reqs = {{}}
local n, i = 0, 0

init = function(args)
{variants}
  if #reqs > 0 then
    -- whole requests given
  elseif #tenants == 0 then
    reqs[1] = wrk.format("GET", path, {{{headers}}})
  else
    for k = 1, #tenants do
      local h = {{{headers}}}
      h["X-Tenant"] = tenants[k]
      reqs[k] = wrk.format("GET", path, h)
    end
  end
  n = #reqs
end

request = function()
  i = i % n + 1
  return reqs[i]
end
{WRK_DONE}"""


def run_wrk(wrk: str, spec: LoadSpec, cpus: set[int] | None, workdir: Path) -> dict[str, Any]:
    script = workdir / "load.lua"
    script.write_text(wrk_script(spec))
    seconds = max(1, round(spec.duration))
    cmd = [wrk, "-t1", f"-c{spec.connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
           f"http://127.0.0.1:{spec.port}{spec.path}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, preexec_fn=_pinned(cpus))
    for line in proc.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            raw = json.loads(line[len("BENCHJSON "):])
            return _normalise(raw)
    raise RuntimeError(f"wrk gave no result (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def _normalise(raw: dict[str, Any]) -> dict[str, Any]:
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout"))
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 3),
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 3),
        "p90_ms": round(raw["p90_us"] / 1000, 3),
        "p99_ms": round(raw["p99_us"] / 1000, 3),
        "p999_ms": round(raw["p999_us"] / 1000, 3),
        "mean_ms": round(raw["mean_us"] / 1000, 3),
        "max_ms": round(raw["max_us"] / 1000, 3),
        "non_2xx": raw["errors_status"],
        "socket_errors": errors,
        "bytes_per_response": round(raw["bytes"] / raw["requests"]) if raw["requests"] else 0,
    }


def run_pyload(spec: LoadSpec, cpus: set[int] | None) -> dict[str, Any]:
    """The asyncio generator below, in its own process."""
    payload = json.dumps(spec.__dict__)
    proc = subprocess.run([sys.executable, "-m", "bench.run", "--loadgen", payload], cwd=ROOT, capture_output=True,
                          text=True, timeout=spec.duration + 120, preexec_fn=_pinned(cpus))
    for line in proc.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            return _normalise(json.loads(line[len("BENCHJSON "):]))
    raise RuntimeError(f"load generator gave no result (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


async def _pyload(spec: LoadSpec) -> dict[str, Any]:
    """Closed loop: ``connections`` keep-alive HTTP/1.1 connections, each sending its next request
    as soon as the answer is in, for ``duration`` seconds; every latency is recorded."""
    base = [f"GET {spec.path} HTTP/1.1", f"Host: 127.0.0.1:{spec.port}",
            *(f"{k}: {v}" for k, v in spec.headers.items())]
    if spec.variants:
        requests = ["\r\n".join([f"GET {v['path']} HTTP/1.1", f"Host: 127.0.0.1:{spec.port}",
                                 *(f"{k}: {val}" for k, val in v["headers"].items()), "", ""]).encode()
                    for v in spec.variants]
    elif spec.tenants:
        requests = ["\r\n".join([*base, f"X-Tenant: {t}", "", ""]).encode() for t in spec.tenants]
    else:
        requests = ["\r\n".join([*base, "", ""]).encode()]
    latencies: list[int] = []
    counters = {"status": 0, "read": 0, "bytes": 0}
    started = time.perf_counter()
    deadline = started + spec.duration
    cursor = 0

    async def read_response(reader: asyncio.StreamReader) -> tuple[int, int]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        size = len(head)
        if chunked:
            while True:
                size_line = await reader.readuntil(b"\r\n")
                chunk = int(size_line.split(b";")[0], 16)
                await reader.readexactly(chunk + 2)
                size += len(size_line) + chunk + 2
                if chunk == 0:
                    break
        else:
            await reader.readexactly(length)
            size += length
        return status, size

    async def connection() -> None:
        nonlocal cursor
        reader, writer = await asyncio.open_connection("127.0.0.1", spec.port)
        try:
            while time.perf_counter() < deadline:
                request = requests[cursor % len(requests)]
                cursor += 1
                t0 = time.perf_counter_ns()
                writer.write(request)
                try:
                    status, size = await read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    counters["read"] += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", spec.port)
                    continue
                latencies.append((time.perf_counter_ns() - t0) // 1000)
                counters["bytes"] += size
                if status >= 400:
                    counters["status"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(spec.connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return float(latencies[min(len(latencies) - 1, max(0, math.ceil(p / 100 * len(latencies)) - 1))])

    return {
        "requests": len(latencies), "duration_us": int(elapsed * 1e6), "bytes": counters["bytes"],
        "errors_connect": 0, "errors_read": counters["read"], "errors_write": 0, "errors_status": counters["status"],
        "errors_timeout": 0, "mean_us": statistics.fmean(latencies) if latencies else 0.0,
        "max_us": float(latencies[-1]) if latencies else 0.0,
        "p50_us": pct(50), "p90_us": pct(90), "p99_us": pct(99), "p999_us": pct(99.9),
    }


def loadgen_main(payload: str) -> None:
    spec = LoadSpec(**json.loads(payload))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print("BENCHJSON " + json.dumps(asyncio.run(_pyload(spec))), flush=True)


class Loader:
    def __init__(self, tool: str, cpus: set[int] | None, workdir: Path) -> None:
        self.cpus = cpus
        self.workdir = workdir
        self.wrk = ensure_wrk() if tool in ("auto", "wrk") else None
        if tool == "wrk" and not self.wrk:
            raise SystemExit("wrk is not installed and could not be installed (use --tool python)")
        self.name = "wrk" if self.wrk else "python"

    def describe(self) -> str:
        if self.wrk:
            out = subprocess.run([self.wrk, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
            version = out.split()[1] if len(out.split()) > 1 else "?"
            return f"wrk {version} (1 thread, closed loop)"
        return "bench.run asyncio load generator (raw HTTP/1.1 keep-alive, closed loop, uvloop)"

    def run(self, spec: LoadSpec) -> dict[str, Any]:
        if self.wrk:
            return run_wrk(self.wrk, spec, self.cpus, self.workdir)
        return run_pyload(spec, self.cpus)


# --- the app server ------------------------------------------------------------------------------


class AppServer:
    """``uvicorn bench.server:app`` in its own process, one worker."""

    def __init__(self, env: dict[str, str], workdir: Path, cpus: set[int] | None) -> None:
        self.env = env
        self.workdir = workdir
        self.cpus = cpus
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.log_path = workdir / "server.log"

    def start(self) -> None:
        from tests.servers import free_port

        self.port = free_port()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        cmd = [sys.executable, "-m", "uvicorn", "bench.server:app", "--factory", "--host", "127.0.0.1",
               "--port", str(self.port), "--workers", "1", "--loop", "uvloop", "--http", "httptools",
               "--no-access-log", "--log-level", "warning", "--backlog", "2048"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, preexec_fn=_pinned(self.cpus))
        log.close()
        import httpx

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app server exited with {self.proc.returncode}:\n{self._log_tail()}")
            try:
                if httpx.get(self.url("/api/health"), timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the app server did not answer within 90 s:\n{self._log_tail()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"


# --- database: seed and grow ---------------------------------------------------------------------


def slug_of(i: int) -> str:
    return f"bench-{i:05d}"


async def seed(db: Any) -> list[dict[str, Any]]:
    """The bench tenants (through the service, with their roles) and one admin each."""
    from xynap.core.security.passwords import hash_password
    from xynap.platform.tenants.service import create_tenant
    from xynap.platform.users.models import User

    password_hash = hash_password(PASSWORD)
    out = []
    for i in range(BENCH_TENANTS):
        slug = slug_of(i)
        async with db.platform_session() as session:
            tenant = await create_tenant(session, slug=slug, name=f"Bench Company {i}", status="active")
            tenant_id = tenant.id
        email = f"admin{i}@bench.example.com"
        async with db.tenant_session(tenant_id) as session:
            user = User(email=email, name=f"Bench Admin {i}", role="admin", password_hash=password_hash,
                        is_active=True, locale="de")
            session.add(user)
            await session.flush()
            user_id = user.id
        out.append({"tenant_id": tenant_id, "slug": slug, "user_id": user_id, "email": email})
    return out


async def add_many_tenants(db: Any, start: int, stop: int) -> float:
    """Bulk insert tenants ``start..stop-1`` straight into ``tenants`` (no roles, no users)."""
    from sqlalchemy import insert, text

    from xynap.core.db import utcnow
    from xynap.core.ids import uuid7
    from xynap.platform.tenants.models import Tenant

    t0 = time.perf_counter()
    now = utcnow()
    rows = [
        {"id": uuid7(), "slug": slug_of(i), "name": f"Bench Company {i}", "plan": "starter", "status": "active",
         "trial_ends_at": None, "storage_quota_gb": 10, "storage_used_bytes": 0, "user_limit": 5,
         "custom_domain": None, "settings": {}, "reseller_id": None, "owner_id": None,
         "created_at": now, "updated_at": now, "version": 1}
        for i in range(start, stop)
    ]
    async with db.platform_session() as session:
        for k in range(0, len(rows), 2000):
            await session.execute(insert(Tenant.__table__), rows[k:k + 2000])
    async with db.engine.connect() as conn:
        await conn.execute(text("ANALYZE tenants"))
        await conn.commit()
    return time.perf_counter() - t0


async def count_tenants(db: Any) -> int:
    from sqlalchemy import func, select

    from xynap.platform.tenants.models import Tenant

    async with db.platform_session() as session:
        return int(await session.scalar(select(func.count()).select_from(Tenant)))


# --- in-process: the platform layer without HTTP -------------------------------------------------


async def _time_it(n: int, step: Callable[[], Any]) -> tuple[float, float]:
    """(wall, CPU) µs per call of the coroutine function ``step``, after a warm-up of n/10 calls."""
    for _ in range(max(1, n // 10)):
        await step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        await step()
    return (time.perf_counter() - t0) / n * 1e6, (time.process_time() - c0) / n * 1e6


async def measure_inprocess(runtime: Any, token: str, slug: str, n: int) -> dict[str, Any]:
    """The per-request work of the platform layer, called directly: host/X-Tenant → tenant (cache hit)
    → bearer → JWT → principal (cache hit) → tenant-user check → module gate → permission."""
    from dataclasses import replace

    from starlette.requests import Request

    from xynap.core.security.tokens import decode_access_token
    from xynap.core.tenancy import parse_host
    from xynap.platform.auth.deps import current_principal, current_user, load_principal, module_gate, require

    settings = runtime.settings
    raw_headers = [(b"host", b"127.0.0.1:8000"), (b"x-tenant", slug.encode()),
                   (b"authorization", f"Bearer {token}".encode())]
    target = parse_host("127.0.0.1:8000", slug, settings.base_domain, settings.default_tenant)
    loaded = await runtime.tenant_cache.get(target)
    if loaded is None:
        raise RuntimeError(f"tenant {slug!r} not found in-process")
    # No module is installed in the platform core: give the tenant a booked one so the gate passes.
    tenant = replace(loaded, modules={**loaded.modules, "bench": "write"})
    gate = module_gate("bench").dependency
    permission = require("users:read").dependency
    principal = await load_principal(runtime, token, loaded)

    app = SimpleNamespace(state=SimpleNamespace(runtime=runtime))  # what the deps read from request.app

    def new_request() -> Request:
        return Request({"type": "http", "method": "GET", "path": "/api/users/x", "headers": raw_headers,
                        "query_string": b"", "state": {}, "app": app})

    async def chain() -> None:
        request = new_request()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw_headers}
        host = parse_host(headers.get("host", ""), headers.get("x-tenant"), settings.base_domain,
                          settings.default_tenant)
        found = await runtime.tenant_cache.get(host)
        request.scope["state"]["tenant"] = tenant if found is not None else None
        who = await current_principal(request)
        who = await current_user(request, who)
        await gate(request)
        await permission(who)

    async def tenant_step() -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw_headers}
        await runtime.tenant_cache.get(parse_host(headers.get("host", ""), headers.get("x-tenant"),
                                                  settings.base_domain, settings.default_tenant))

    async def jwt_step() -> None:
        decode_access_token(token)

    async def principal_step() -> None:
        await runtime.principals.get_or_load((loaded.id, principal.user_id), _never)

    gate_request = new_request()
    gate_request.scope["state"]["tenant"] = tenant

    async def gate_step() -> None:
        await gate(gate_request)

    async def permission_step() -> None:
        await permission(principal)

    # Long runs would outlive the caches' TTLs; refresh them between parts so every part measures hits.
    parts: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for name, step in (("tenant_resolution", tenant_step), ("jwt_decode", jwt_step),
                       ("principal_cache_hit", principal_step), ("module_gate", gate_step),
                       ("permission_check", permission_step), ("chain", chain)):
        await runtime.tenant_cache.get(target)
        await load_principal(runtime, token, loaded)
        wall_us, cpu_us = await _time_it(n, step)
        parts[name], cpu[name] = round(wall_us, 2), round(cpu_us, 2)
    return {"iterations": n, "chain_us": parts.pop("chain"), "chain_cpu_us": cpu.pop("chain"), "parts_us": parts,
            "parts_cpu_us": cpu}


async def _never() -> Any:
    raise RuntimeError("principal cache miss during the in-process benchmark")


async def measure_tenant_miss(runtime: Any, slugs: Sequence[str], n: int) -> float:
    """µs per tenant-cache miss: the loader (indexed lookup + bookings) for ``n`` slugs in turn."""
    from xynap.core.tenancy import HostTarget

    loader = runtime.tenant_cache.loader
    targets = [HostTarget(slug=s) for s in slugs]
    for t in targets[:20]:
        await loader(t)
    t0 = time.perf_counter()
    for k in range(n):
        if await loader(targets[k % len(targets)]) is None:
            raise RuntimeError(f"tenant {targets[k % len(targets)].slug!r} not found")
    return round((time.perf_counter() - t0) / n * 1e6, 1)


def login_and_probe(base_url: str, me: dict[str, Any], other_slug: str) -> dict[str, Any]:
    """Log in over HTTP, pick the record endpoint and check that every measured endpoint answers 200."""
    import httpx

    with httpx.Client(base_url=base_url, timeout=30) as client:
        resp = client.post("/api/login", json={"email": me["email"], "password": PASSWORD},
                           headers={"X-Tenant": me["slug"]})
        if resp.status_code != 200:
            raise RuntimeError(f"login failed: {resp.status_code} {resp.text}")
        token = resp.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "X-Tenant": me["slug"]}
        record_path = f"/api/users/{me['user_id']}"
        record = client.get(record_path, headers=headers)
        if record.status_code in (404, 405):
            say(f"GET {record_path} is not there yet ({record.status_code}): measuring GET /api/me instead")
            record_path = "/api/me"
            record = client.get(record_path, headers=headers)
        if record.status_code != 200:
            raise RuntimeError(f"GET {record_path} answered {record.status_code}: {record.text}")
        checked = client.get("/api/_bench/platform", headers=headers)
        if checked.status_code != 200:
            raise RuntimeError(f"GET /api/_bench/platform answered {checked.status_code}: {checked.text}")
        bare = client.get("/api/_bench/bare")
        if bare.status_code != 200:
            raise RuntimeError(f"GET /api/_bench/bare answered {bare.status_code}: {bare.text} "
                               "(are the bench endpoints mounted? settings.bench_endpoints)")
        check = client.get("/api/_bench/tenant", headers={"X-Tenant": other_slug})
        if check.status_code != 200 or check.json().get("slug") != other_slug:
            raise RuntimeError(f"GET /api/_bench/tenant answered {check.status_code}: {check.text}")
    return {"token": token, "record_path": record_path, "record_bytes": len(record.content),
            "bare_bytes": len(bare.content), "record_sample": record.json(), "bare_sample": bare.json()}


def login_all(base_url: str, people: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ``GET /api/users/{own id}`` request for each bench tenant's admin (for ``auth_mix``)."""
    import httpx

    variants = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for person in people:
            resp = client.post("/api/login", json={"email": person["email"], "password": PASSWORD},
                               headers={"X-Tenant": person["slug"]})
            if resp.status_code != 200:
                raise RuntimeError(f"login of {person['email']} failed: {resp.status_code} {resp.text}")
            headers = {"Authorization": f"Bearer {resp.json()['access_token']}", "X-Tenant": person["slug"]}
            path = f"/api/users/{person['user_id']}"
            if client.get(path, headers=headers).status_code != 200:
                raise RuntimeError(f"GET {path} failed for {person['slug']}")
            variants.append({"path": path, "headers": headers})
    return variants


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Options:
    quick: bool
    only: set[str]
    tool: str
    docs: bool | None
    duration: float
    warmup: float
    connections: int
    repeat: int
    quiet_wait: float


def parse_args(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per scenario instead of 10 s")
    parser.add_argument("--only", action="append", default=[],
                        help=f"run only these scenarios (comma-separated or repeated): {', '.join(SCENARIOS)}")
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator (auto: wrk, installed with apt-get if root, else python)")
    parser.add_argument("--duration", type=float, default=None, help="seconds measured per scenario")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per scenario")
    parser.add_argument("--connections", type=int, default=CONNECTIONS, help="concurrent connections")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure each scenario this often and keep the run with the best throughput")
    parser.add_argument("--quiet-wait", type=float, default=None,
                        help="seconds to wait per scenario for other processes to calm down (default 60, quick 10)")
    docs = parser.add_mutually_exclusive_group()
    docs.add_argument("--docs", dest="docs", action="store_true", default=None,
                      help="write docs/benchmarks.md even for a quick or partial run")
    docs.add_argument("--no-docs", dest="docs", action="store_false", help="do not touch docs/benchmarks.md")
    parser.add_argument("--loadgen", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.loadgen:
        loadgen_main(args.loadgen)
        raise SystemExit(0)
    only = {name.strip() for item in args.only for name in item.split(",") if name.strip()}
    unknown = only - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}; known: {', '.join(SCENARIOS)}")
    duration = args.duration if args.duration is not None else (3.0 if args.quick else 10.0)
    quiet_wait = args.quiet_wait if args.quiet_wait is not None else (10.0 if args.quick else 60.0)
    return Options(quick=args.quick, only=only or set(SCENARIOS), tool=args.tool, docs=args.docs,
                   duration=duration, warmup=args.warmup, connections=args.connections,
                   repeat=max(1, args.repeat), quiet_wait=max(0.0, quiet_wait))


def bench_env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XYNAP_")}
    env.update({
        "XYNAP_DATABASE_URL": database_url,
        "XYNAP_DATA_DIR": str(data_dir),
        "XYNAP_SECRET_KEY": SECRET_KEY,
        "XYNAP_BENCH_ENDPOINTS": "true",
        "XYNAP_RUN_WORKER": "false",
        "XYNAP_LOG_LEVEL": "WARNING",
        "XYNAP_ACCESS_TOKEN_TTL_SECONDS": "7200",
        "XYNAP_MODE": "saas",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
    })
    return env


async def main(opts: Options, argv: Sequence[str]) -> dict[str, Any]:
    from tests.servers import PostgresServer

    from xynap.core.config import get_settings, reset_settings
    from xynap.core.migrate import upgrade

    started = dt.datetime.now(dt.UTC)
    server_cpus, load_cpus = cpu_plan()
    workdir = Path(tempfile.mkdtemp(prefix="xynap-bench-"))
    pg = PostgresServer()
    server: AppServer | None = None
    runtime = None
    try:
        loader = Loader(opts.tool, load_cpus, workdir)
        say(f"load generator: {loader.describe()}")
        say("starting PostgreSQL")
        pg.start()
        database_url = pg.create_database("xynap_bench")
        pg_pid = postmaster_pid(pg)
        if pg_pid and load_cpus:
            # PostgreSQL shares the load generator's CPU, so the app server's CPU is its own (as with a
            # database on its own host); backends forked later inherit the postmaster's affinity.
            for pid in process_tree(pg_pid):
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(pid, load_cpus)
        env = bench_env(database_url, workdir / "data")
        os.environ.update({k: v for k, v in env.items() if k.startswith("XYNAP_")})
        reset_settings()
        settings = get_settings()
        say("migrating")
        await asyncio.to_thread(upgrade, settings)

        from xynap.app import build_runtime

        runtime = build_runtime(settings)
        db = runtime.db
        say(f"seeding {BENCH_TENANTS} tenants with one admin each")
        people = await seed(db)
        me = people[0]

        server = AppServer(env, workdir, server_cpus)
        say("starting the app server")
        await asyncio.to_thread(server.start)
        few = [p["slug"] for p in people]
        probe = await asyncio.to_thread(login_and_probe, server.url(""), me, few[0])
        token, record_path = probe["token"], probe["record_path"]
        auth_headers = {"Authorization": f"Bearer {token}"}

        scenarios: dict[str, dict[str, Any]] = {}

        def our_pids() -> list[int]:
            pids = [server.proc.pid] if server is not None and server.proc is not None else []
            return pids + (process_tree(pg_pid) if pg_pid else [])

        async def run(name: str, spec: LoadSpec, tenants_present: int) -> None:
            if name not in opts.only:
                return
            say(f"{name}: {SCENARIOS[name]} — warm-up {opts.warmup:g} s, measure {spec.duration:g} s"
                f"{f' ×{opts.repeat}' if opts.repeat > 1 else ''}, {spec.connections} connection(s)")
            quiet = await asyncio.to_thread(wait_until_quiet, our_pids, opts.quiet_wait)
            if opts.warmup > 0:
                await asyncio.to_thread(loader.run, LoadSpec(**{**spec.__dict__, "duration": opts.warmup}))
            runs = []
            for _ in range(opts.repeat):
                watch = CpuWatch(our_pids).start()
                measured = await asyncio.to_thread(loader.run, spec)
                measured.update(watch.stop())
                runs.append(measured)
            result = max(runs, key=lambda r: r["rps"])
            if len(runs) > 1:
                result["runs_rps"] = [r["rps"] for r in runs]
            result.update(description=SCENARIOS[name], path=spec.path, connections=spec.connections,
                          tenants_present=tenants_present, distinct_tenants=len(spec.variants or spec.tenants), **quiet)
            scenarios[name] = result
            flag = "" if not result["non_2xx"] and not result["socket_errors"] else \
                f"  (!! {result['non_2xx']} non-2xx, {result['socket_errors']} socket errors)"
            say(f"  {result['rps']:>9.1f} req/s   p50 {result['p50_ms']:.2f} ms   p99 {result['p99_ms']:.2f} ms   "
                f"other load {result['other_cpu_pct']:.0f} % CPU{flag}")

        port = server.port
        assert port is not None
        conns, seconds = opts.connections, opts.duration
        auth_spec = dict(port=port, path=record_path, headers=auth_headers, tenants=[me["slug"]], duration=seconds)
        platform_spec = {**auth_spec, "path": "/api/_bench/platform"}
        await run("bare", LoadSpec(port=port, path="/api/_bench/bare", connections=conns, duration=seconds),
                  BENCH_TENANTS)
        await run("platform", LoadSpec(**platform_spec, connections=conns), BENCH_TENANTS)
        await run("auth", LoadSpec(**auth_spec, connections=conns), BENCH_TENANTS)
        await run("bare_c1", LoadSpec(port=port, path="/api/_bench/bare", connections=1, duration=seconds),
                  BENCH_TENANTS)
        await run("platform_c1", LoadSpec(**platform_spec, connections=1), BENCH_TENANTS)
        await run("auth_c1", LoadSpec(**auth_spec, connections=1), BENCH_TENANTS)
        if "auth_mix" in opts.only:
            mix = await asyncio.to_thread(login_all, server.url(""), people)
            await run("auth_mix", LoadSpec(port=port, path=mix[0]["path"], variants=mix, connections=conns,
                                           duration=seconds), BENCH_TENANTS)
        await run("tenant_10", LoadSpec(port=port, path="/api/_bench/tenant", tenants=few, connections=conns,
                                        duration=seconds), BENCH_TENANTS)
        await asyncio.to_thread(server.stop)

        inproc: dict[str, Any] = {}
        if "inproc" in opts.only:
            say("in-process: tenant-cache miss with 10 tenants")
            inproc["tenant_miss_us_10"] = await measure_tenant_miss(runtime, few, MISS_ITERATIONS)

        many = bool(opts.only & NEEDS_MANY) or "inproc" in opts.only
        tenants_now = BENCH_TENANTS
        if many:
            say(f"bulk-inserting {MANY_TENANTS - BENCH_TENANTS:,} more tenants")
            inserted_in = await add_many_tenants(db, BENCH_TENANTS, MANY_TENANTS)
            tenants_now = await count_tenants(db)
            say(f"  {tenants_now:,} tenants now (insert took {inserted_in:.1f} s)")
        spread = [slug_of(i) for i in range(0, MANY_TENANTS, MANY_TENANTS // DISTINCT_SLUGS_MANY)]
        if opts.only & NEEDS_MANY:
            say("restarting the app server (cold caches)")
            await asyncio.to_thread(upgrade, settings)  # code may have gained migrations since the start
            await asyncio.to_thread(server.start)
            port = server.port
            assert port is not None
            probe = await asyncio.to_thread(login_and_probe, server.url(""), me, spread[-1])
            auth_headers = {"Authorization": f"Bearer {probe['token']}"}
            auth_spec.update(port=port, headers=auth_headers)
            await run("bare_10k", LoadSpec(port=port, path="/api/_bench/bare", connections=conns,
                                           duration=seconds), tenants_now)
            await run("tenant_10k", LoadSpec(port=port, path="/api/_bench/tenant", tenants=spread,
                                             connections=conns, duration=seconds), tenants_now)
            await run("auth_10k", LoadSpec(**auth_spec, connections=conns), tenants_now)
            await asyncio.to_thread(server.stop)

        if "inproc" in opts.only:
            say(f"in-process: tenant-cache miss with {tenants_now:,} tenants")
            inproc["tenant_miss_us_10k"] = await measure_tenant_miss(runtime, spread, MISS_ITERATIONS)
            say(f"in-process: platform layer, {INPROC_ITERATIONS:,} iterations")
            inproc.update(await measure_inprocess(runtime, token, me["slug"], INPROC_ITERATIONS))
            say(f"  {inproc['chain_us']:.1f} µs per request   parts: {inproc['parts_us']}")

        finished = dt.datetime.now(dt.UTC)
        return {
            "benchmark": "platform-core",
            "date_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
            "duration_s": round((finished - started).total_seconds()),
            "command": "python -m bench.run" + ("" if not argv else " " + " ".join(argv)),
            "git": git_revision(),
            "machine": machine_info(),
            "software": software_versions(),
            "load_tool": loader.name,
            "load_tool_description": loader.describe(),
            "settings": {
                "warmup_s": opts.warmup, "measure_s": seconds, "connections": conns, "quick": opts.quick,
                "repeat": opts.repeat, "quiet_wait_s": opts.quiet_wait,
                "uvicorn": "1 worker, uvloop, httptools, no access log, log level warning",
                "server_cpus": sorted(server_cpus) if server_cpus else None,
                "load_cpus": sorted(load_cpus) if load_cpus else None,
                "postgresql": "throwaway cluster on 127.0.0.1 (fsync, synchronous_commit, full_page_writes off), "
                              "app role without BYPASSRLS, pinned to the load generator's CPU",
                "record_endpoint": record_path,
                "record_bytes": probe["record_bytes"],
                "bare_bytes": probe["bare_bytes"],
                "tenant_cache_ttl_s": settings.tenant_cache_ttl_seconds,
                "permission_cache_ttl_s": settings.permission_cache_ttl_seconds,
            },
            "scenarios": scenarios,
            "inprocess": inproc,
        }
    finally:
        if server is not None:
            await asyncio.to_thread(server.stop)
        if runtime is not None:
            await runtime.db.dispose()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# --- derived figures, targets, docs --------------------------------------------------------------


def derive(result: dict[str, Any]) -> None:
    s = result["scenarios"]
    inproc = result.get("inprocess", {})
    d: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []

    def ok(*names: str) -> bool:
        return all(n in s and s[n]["rps"] > 0 and not s[n]["non_2xx"] and not s[n]["socket_errors"] for n in names)

    def per_request_ms(name: str) -> float:
        return 1000 / s[name]["rps"]

    for other in ("platform", "auth", "auth_mix"):
        if ok("bare", other):
            d[f"throughput_ratio_{other}_bare"] = round(s[other]["rps"] / s["bare"]["rps"], 3)
            d[f"server_ms_{other}"] = round(per_request_ms(other), 3)
            d[f"server_ms_delta_{other}"] = round(per_request_ms(other) - per_request_ms("bare"), 3)
            d[f"p50_delta_{other}_ms"] = round(s[other]["p50_ms"] - s["bare"]["p50_ms"], 3)
        if ok("bare_c1", f"{other}_c1"):
            d[f"p50_delta_{other}_c1_ms"] = round(s[f"{other}_c1"]["p50_ms"] - s["bare_c1"]["p50_ms"], 3)
    if ok("bare"):
        d["server_ms_bare"] = round(per_request_ms("bare"), 3)
    if ok("tenant_10", "tenant_10k"):
        d["tenant_throughput_ratio_10k_10"] = round(s["tenant_10k"]["rps"] / s["tenant_10"]["rps"], 3)
        d["tenant_p50_ratio_10k_10"] = round(s["tenant_10k"]["p50_ms"] / s["tenant_10"]["p50_ms"], 3)
    if ok("auth", "auth_10k"):
        d["auth_throughput_ratio_10k_10"] = round(s["auth_10k"]["rps"] / s["auth"]["rps"], 3)
    if ok("bare", "bare_10k"):
        d["bare_throughput_ratio_after_restart"] = round(s["bare_10k"]["rps"] / s["bare"]["rps"], 3)
    others = [r.get("other_cpu_pct", 0.0) for r in s.values()]
    if others:
        d["other_cpu_pct_mean"] = round(statistics.fmean(others), 1)
        d["other_cpu_pct_max"] = round(max(others), 1)

    def target(text: str, value: str, met: bool) -> None:
        targets.append({"target": text, "value": value, "met": met})

    limit_us = TARGET_PLATFORM_MS * 1000
    if "chain_us" in inproc:
        target("platform layer (tenant + token + principal + module gate + permission) < 1 ms per request, "
               "in-process", f"{inproc['chain_us']:.0f} µs", inproc["chain_us"] < limit_us)
    if "server_ms_delta_platform" in d:
        ms = d["server_ms_delta_platform"]
        target("platform layer over HTTP < 1 ms per request: server time (1 / throughput) of the "
               "platform-checked endpoint − bare", f"{ms * 1000:.0f} µs", ms < TARGET_PLATFORM_MS)
    if "p50_delta_platform_c1_ms" in d:
        ms = d["p50_delta_platform_c1_ms"]
        target("platform layer over HTTP < 1 ms per request: p50 at one connection, platform-checked − bare",
               f"{ms * 1000:.0f} µs", ms < TARGET_PLATFORM_MS)
    if "throughput_ratio_auth_bare" in d:
        r = d["throughput_ratio_auth_bare"]
        target("authenticated GET of one user (with its DB read) reaches ≥ 50 % of the bare endpoint's "
               "throughput", f"{r * 100:.0f} %", r >= TARGET_THROUGHPUT_RATIO)
    noise = ""
    if "bare_throughput_ratio_after_restart" in d and abs(d["bare_throughput_ratio_after_restart"] - 1) > 0.1:
        change = (d["bare_throughput_ratio_after_restart"] - 1) * 100
        noise = f" (noise: bare changed by {change:+.0f} % between the two)"
    if "tenant_throughput_ratio_10k_10" in d:
        r = d["tenant_throughput_ratio_10k_10"]
        target(f"tenant resolution with {MANY_TENANTS:,} tenants ({DISTINCT_SLUGS_MANY:,} hit) not slower than "
               f"with 10: throughput ≥ {NO_SLOWDOWN_RATIO:.0%}", f"{r * 100:.0f} %{noise}", r >= NO_SLOWDOWN_RATIO)
    if "auth_throughput_ratio_10k_10" in d:
        r = d["auth_throughput_ratio_10k_10"]
        target(f"authenticated GET with {MANY_TENANTS:,} tenants not slower than with 10: throughput "
               f"≥ {NO_SLOWDOWN_RATIO:.0%}", f"{r * 100:.0f} %{noise}", r >= NO_SLOWDOWN_RATIO)
    if "tenant_miss_us_10" in inproc and "tenant_miss_us_10k" in inproc:
        a, b = inproc["tenant_miss_us_10"], inproc["tenant_miss_us_10k"]
        target(f"tenant-cache miss (indexed DB lookup) with {MANY_TENANTS:,} tenants not slower than with 10 "
               "(≤ 1.25×)", f"{b:.0f} µs vs {a:.0f} µs", b <= a * 1.25)
    result["derived"] = d
    result["targets"] = targets


def render_section(result: dict[str, Any]) -> str:
    m, st, s = result["machine"], result["settings"], result["scenarios"]
    d, inproc = result.get("derived", {}), result.get("inprocess", {})
    sw = result.get("software", {})
    repeat = f", best of {st['repeat']}" if st.get("repeat", 1) > 1 else ""
    lines = [
        SECTION,
        "",
        "What the platform layer (tenant resolution, token, principal, module gate, permission) costs per "
        "request, next to a bare endpoint of the same app that returns the same JSON without tenant, "
        "token or database.",
        "",
        f"- **Date:** {result['date_utc']} (the run took {result['duration_s']} s); code at {result['git']}",
        f"- **Machine:** {m['cpu_model']}, {m['cpus']} CPUs, {m['ram_gib']} GiB RAM; Linux {m['kernel']}; "
        f"Python {m['python']}",
        f"- **Command:** `{result['command']}` (`make bench` runs `uv run python -m bench.run`)",
        f"- **Load:** {result['load_tool_description']}; {st['connections']} connections unless the scenario "
        f"says otherwise; per scenario {st['warmup_s']:g} s warm-up, then {st['measure_s']:g} s measured{repeat}",
        f"- **Server:** uvicorn, {st['uvicorn']}; pinned to CPU {_cpus(st['server_cpus'])}, the load generator "
        f"to CPU {_cpus(st['load_cpus'])}; PostgreSQL {sw.get('postgresql', '?')} on the same machine, "
        f"{st['postgresql']}",
        f"- **Endpoints:** bare `GET /api/_bench/bare` ({st['bare_bytes']} bytes of JSON) on the platform host "
        f"without `X-Tenant`; platform-checked `GET /api/_bench/platform` (same JSON; `X-Tenant`, bearer token, "
        f"`users:read`); record `GET {_generic(st['record_endpoint'])}` ({st['record_bytes']} bytes); tenant "
        "resolution `GET /api/_bench/tenant`",
        "- **Versions:** " + ", ".join(f"{k} {v}" for k, v in sw.items()),
        "",
    ]
    if d.get("other_cpu_pct_mean", 0) > BUSY_WARNING_PCT:
        lines += [f"**The machine was busy with other work during this run** (other processes used "
                  f"{d['other_cpu_pct_mean']:.0f} % of a CPU on average, up to {d['other_cpu_pct_max']:.0f} %): the "
                  "absolute figures are low and noisy; rerun on a quiet machine before drawing conclusions.", ""]
    if s:
        lines += [
            "| Scenario | Tenants in DB | Tenants hit | Conns | req/s | p50 ms | p99 ms | errors | other load |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name in SCENARIOS:
            if name not in s:
                continue
            r = s[name]
            invalid = " **(invalid: error answers)**" if r["non_2xx"] or r["socket_errors"] else ""
            lines.append(
                f"| `{name}`: {r['description']}{invalid} | {r['tenants_present']:,} | {r['distinct_tenants'] or '–'} "
                f"| {r['connections']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
                f"| {r['non_2xx'] + r['socket_errors']} | {r.get('other_cpu_pct', 0):.0f} % |")
        lines += ["", "*other load*: CPU that other processes on the machine used during the measurement, in % of "
                  "one CPU (all busy time in /proc/stat minus the app server, PostgreSQL and the runner with its "
                  "load generator).", ""]
    if inproc:
        lines += ["In-process, without HTTP and without FastAPI's dependency resolution (the functions of "
                  "`xynap.platform.auth.deps` called directly, caches warm; wall time, CPU time in brackets):", "",
                  "| Step | µs per request |", "| --- | ---: |"]
        cpu = inproc.get("parts_cpu_us", {})
        labels = {"tenant_resolution": "host / X-Tenant → tenant (cache hit)",
                  "jwt_decode": "bearer token: JWT decode and checks (HS256)",
                  "principal_cache_hit": "principal (cache hit)", "module_gate": "module gate",
                  "permission_check": "permission check"}
        for key, value in inproc.get("parts_us", {}).items():
            lines.append(f"| {labels.get(key, key)} | {value:.1f} ({cpu.get(key, 0):.1f}) |")
        if "chain_us" in inproc:
            lines.append(f"| **all of it chained, as a request runs it ({inproc['iterations']:,} iterations)** "
                         f"| **{inproc['chain_us']:.1f}** ({inproc.get('chain_cpu_us', 0):.1f}) |")
        for key, count in (("tenant_miss_us_10", "10"), ("tenant_miss_us_10k", f"{MANY_TENANTS:,}")):
            if key in inproc:
                lines.append(f"| tenant-cache miss (indexed lookup + bookings), {count} tenants "
                             f"| {inproc[key]:.0f} |")
        lines.append("")
    if d:
        lines += ["Derived:", ""]
        if "server_ms_bare" in d:
            parts = [f"bare {d['server_ms_bare'] * 1000:.0f} µs"]
            for other, label in (("platform", "platform-checked"), ("auth", "user GET"),
                                 ("auth_mix", "user GET, 10 tenants in turn")):
                if f"server_ms_{other}" in d:
                    parts.append(f"{label} {d[f'server_ms_{other}'] * 1000:.0f} µs "
                                 f"(+{d[f'server_ms_delta_{other}'] * 1000:.0f} µs)")
            lines.append("- server time per request (1 / throughput; the one worker is saturated): " + ", ".join(parts))
        for other, label in (("platform", "platform-checked"), ("auth", "user GET"),
                             ("auth_mix", "user GET, 10 tenants in turn")):
            if f"throughput_ratio_{other}_bare" in d:
                lines.append(f"- throughput {label} / bare: **{d[f'throughput_ratio_{other}_bare'] * 100:.0f} %**; "
                             f"p50 difference at {st['connections']} connections "
                             f"{d[f'p50_delta_{other}_ms']:.2f} ms (closed loop: p50 ≈ connections / throughput, "
                             "so this is mostly queueing)")
            if f"p50_delta_{other}_c1_ms" in d:
                lines.append(f"- p50 {label} − p50 bare at one connection: "
                             f"**{d[f'p50_delta_{other}_c1_ms'] * 1000:.0f} µs**")
        if "tenant_throughput_ratio_10k_10" in d:
            lines.append(f"- tenant resolution, {MANY_TENANTS:,} vs 10 tenants: throughput "
                         f"{d['tenant_throughput_ratio_10k_10'] * 100:.0f} %, p50 ×{d['tenant_p50_ratio_10k_10']:.2f}")
        if "auth_throughput_ratio_10k_10" in d:
            lines.append(f"- user GET, {MANY_TENANTS:,} vs 10 tenants: throughput "
                         f"{d['auth_throughput_ratio_10k_10'] * 100:.0f} %")
        if "bare_throughput_ratio_after_restart" in d:
            lines.append(f"- noise check, bare endpoint after the restart vs before: "
                         f"{d['bare_throughput_ratio_after_restart'] * 100:.0f} %")
        if "other_cpu_pct_mean" in d:
            lines.append(f"- other processes used {d['other_cpu_pct_mean']:.0f} % of a CPU on average during the "
                         f"measurements (at most {d['other_cpu_pct_max']:.0f} %)")
        lines.append("")
    if result.get("targets"):
        disturbed = d.get("other_cpu_pct_mean", 0) > BUSY_WARNING_PCT
        lines += ["Targets" + (" (disturbed run: the verdicts are unreliable)" if disturbed else "") + ":", "",
                  "| Target | Measured | Result |", "| --- | ---: | --- |"]
        for t in result["targets"]:
            verdict = "met" if t["met"] else "**not met**"
            lines.append(f"| {t['target']} | {t['value']} | {verdict}{' (disturbed run)' if disturbed else ''} |")
        lines.append("")
    lines += [
        "Notes: the user GET adds to the platform layer what reading a record costs: a read-only session "
        "and `fetch_record` (docs/architecture.md, \"Lean read path\"): one prepared SELECT with the tenant "
        "predicate on a pooled asyncpg connection, no transaction, the RLS context set only when that "
        "connection last served another one (`auth_mix` makes that happen often), and the response model. "
        "The in-process figure is the platform layer alone. "
        "Closed-loop load generators under-report tail latency (coordinated omission). With other load on the "
        "machine the figures are lower than the hardware allows; compare runs by their ratios. Raw figures: "
        "`bench/results/platform-core.json`.",
        "",
    ]
    return "\n".join(lines)


def _cpus(cpus: list[int] | None) -> str:
    return ", ".join(map(str, cpus)) if cpus else "(not pinned)"


def _generic(path: str) -> str:
    parts = path.split("/")
    return "/".join("{user_id}" if len(p) == 36 and p.count("-") == 4 else p for p in parts)


DOCS_HEADER = """# Benchmarks

Measured with `make bench` (`python -m bench.run`, see `bench/README.md`). Benchmarks are not tests:
the figures below are written by the benchmark runs, with the machine and the date they were taken on.
Each section is replaced when its benchmark runs again.

"""


def run_per_engine(name: str, engines: Sequence[str], measure: Callable[[str, Path], Any],
                   targets: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Run a scaled benchmark (``bench.contacts``, ``bench.crm``) once per engine in a scratch folder:
    ``measure(engine, workdir)`` is a coroutine giving the result; each result is checked against its
    targets, kept as ``bench/results/<name>-<engine>[-quick].json`` and summed up on the console."""
    workdir = Path(tempfile.mkdtemp(prefix=f"xynap-bench-{name}-"))
    results = []
    try:
        for engine in engines:
            result = asyncio.run(measure(engine, workdir))
            result["targets"] = targets(result)
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            file_name = f"{name}-{engine}{'-quick' if result['quick'] else ''}.json"
            (RESULTS_DIR / file_name).write_text(json.dumps(result, indent=2, default=str))
            results.append(result)
            for t in result["targets"]:
                print(f"[bench.{name}] {engine}: {t['target']}: {t['value']} — {'met' if t['met'] else 'NOT MET'}",
                      flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def target_table(targets: Sequence[dict[str, Any]]) -> list[str]:
    """The markdown lines of a run's "Target | Measured | Result" table (``not met`` in bold)."""
    lines = ["", "| Target | Measured | Result |", "| --- | ---: | --- |"]
    lines += [f"| {t['target']} | {t['value']} | {'met' if t['met'] else '**not met**'} |" for t in targets]
    return lines


def write_docs(section: str, path: Path = DOCS_FILE, heading: str = SECTION) -> None:
    """Replace the ``heading`` section of docs/benchmarks.md (appended when missing)."""
    text = path.read_text() if path.exists() else DOCS_HEADER
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    block = section.rstrip("\n") + "\n"
    if start is None:
        new = text.rstrip("\n") + "\n\n" + block
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        tail = "".join(lines[end:])
        new = "".join(lines[:start]) + block + ("\n" + tail if tail else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new)


def entry(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    opts = parse_args(argv)
    sys.path.insert(0, str(ROOT))  # tests.servers
    try:
        import uvloop

        runner: Callable[..., Any] = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(main(opts, argv))
    derive(result)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    full = not opts.quick and opts.only == set(SCENARIOS)
    out = RESULTS_FILE if full else RESULTS_DIR / "platform-core-partial.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    section = render_section(result)
    print()
    print(section)
    say(f"raw results: {out.relative_to(ROOT)}")
    if opts.docs or (opts.docs is None and full):
        write_docs(section)
        say(f"updated {DOCS_FILE.relative_to(ROOT)} ({SECTION})")
    else:
        say("docs/benchmarks.md left alone (quick or partial run; --docs writes it anyway)")


if __name__ == "__main__":
    entry()
