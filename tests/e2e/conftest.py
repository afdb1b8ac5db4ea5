"""Browser tests: a real XyNaP server (subprocess, fresh SQLite) and Debian's Chromium via Playwright.

Nothing is built here: ``frontend/dist`` must exist (``npm --prefix frontend run build``). The server
is migrated and seeded with ``xynap demo`` (company "demo", admin admin@demo.example.com), then
``xynap serve`` answers on a free loopback port; the browser opens http://demo.localhost:<port>.
Screenshots go to tests/e2e/artifacts/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import ACCESS_TTL_SECONDS, ADMIN_EMAIL, STAFF_EMAIL, Server, reset_preferences

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("XYNAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _xynap() -> list[str]:
    script = Path(sys.executable).with_name("xynap")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "xynap.cli.main"]


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(_xynap() + args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"`xynap {' '.join(args)}` ({what}) failed with exit code {result.returncode}:\n"
                    f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}", pytrace=False)


@pytest.fixture(scope="session")
def frontend_dist() -> Path:
    if not (DIST / "index.html").is_file():
        pytest.fail(
            f"The web app is not built: {DIST / 'index.html'} is missing.\n"
            "Build it first:  npm --prefix frontend ci && npm --prefix frontend run build",
            pytrace=False,
        )
    return DIST


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@contextmanager
def _running_server(frontend_dist: Path, *, demo: bool, worker: bool = False) -> Iterator[Server]:
    """`xynap serve` on a fresh SQLite database in a temporary directory; with `demo`, seeded by `xynap demo`;
    with `worker`, the job worker runs in the server process (for features that run as jobs, e.g. imports)."""
    data_dir = Path(tempfile.mkdtemp(prefix="xynap-e2e-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XYNAP_")}
    env.update({
        "XYNAP_DATA_DIR": str(data_dir),
        "XYNAP_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'xynap.db'}",
        "XYNAP_SECRET_KEY": "e2e-secret-key-that-is-long-enough-for-hs256-0123456789abcdef",
        "XYNAP_FRONTEND_DIR": str(frontend_dist),
        "XYNAP_ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TTL_SECONDS),
        "XYNAP_LOGIN_MAX_FAILURES_PER_IP": "100000",
        "XYNAP_LOG_JSON": "false",
        "XYNAP_LOG_LEVEL": "WARNING",
        "XYNAP_RUN_WORKER": "true" if worker else "false",
        "NO_COLOR": "1",
    })
    _run(["migrate"], env, "create the schema")
    if demo:
        _run(["demo", "--port", str(port)], env, "seed the demo company")

    log_path = data_dir / "server.log"
    log = log_path.open("w")
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port)] + ([] if worker else ["--no-worker"])
    proc = subprocess.Popen(_xynap() + serve,
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"xynap serve exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}",
                            pytrace=False)
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"xynap serve did not answer within 60 s:\n{log_path.read_text()[-4000:]}", pytrace=False)
            time.sleep(0.2)
        yield Server(port=port, base_url=f"http://demo.localhost:{port}", console_url=f"http://localhost:{port}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server(frontend_dist: Path) -> Iterator[Server]:
    """The demo installation most tests share."""
    with _running_server(frontend_dist, demo=True) as running:
        yield running


@pytest.fixture(scope="module")
def fresh_server(frontend_dist: Path) -> Iterator[Server]:
    """A brand-new installation (schema only, no company yet): the first-run setup is due."""
    with _running_server(frontend_dist, demo=False) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium).", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("The Python package 'playwright' is missing (it is a dev dependency: uv sync).", pytrace=False)
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def context(browser, server: Server, request: pytest.FixtureRequest):
    """A fresh browser profile (no stored login), German, light colour scheme, desktop size."""
    options = {"viewport": {"width": 1366, "height": 860}, "locale": "de-DE", "color_scheme": "light",
               "base_url": server.base_url}
    scheme = request.node.get_closest_marker("color_scheme")
    if scheme:
        options["color_scheme"] = scheme.args[0]
    marker = request.node.get_closest_marker("viewport")
    if marker:
        options["viewport"] = {"width": marker.args[0], "height": marker.args[1]}
        options["is_mobile"] = True
        options["has_touch"] = True
    ctx = browser.new_context(**options)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture(autouse=True)
def _fresh_preferences(request: pytest.FixtureRequest):
    """Preferences live on the server now: a language or layout one test picked must not leak into the next."""
    yield
    if "server" in request.fixturenames:
        reset_preferences(request.getfixturevalue("server"), ADMIN_EMAIL, STAFF_EMAIL)


@pytest.fixture
def page(context):
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    assert not errors, f"JavaScript errors on the page: {errors}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "viewport(width, height): run the test in a phone-sized browser")
    config.addinivalue_line("markers", "color_scheme(name): the browser prefers 'light' or 'dark'")
