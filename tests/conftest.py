"""Test fixtures: one migrated database per run (SQLite or PostgreSQL, chosen by XYNAP_TEST_DB),
the app with its lifespan, and factories. Tests isolate themselves by creating their own tenants.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from tests.factories import Factory

BACKEND = os.environ.get("XYNAP_TEST_DB", "sqlite")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_report_header(config: pytest.Config) -> str:
    return f"xynap test database: {BACKEND}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    from tests.servers import PostgresServer

    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[object]:
    from tests.servers import RedisServer

    try:
        server = RedisServer()
        server.start()
    except RuntimeError as exc:
        if IN_CI:
            raise
        pytest.skip(f"redis-server unavailable: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="xynap-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, data_dir: Path) -> str:
    if BACKEND == "postgresql":
        server = request.getfixturevalue("pg_server")
        return server.create_database("xynap_test")
    return f"sqlite+aiosqlite:///{data_dir / 'test.db'}"


@pytest.fixture(scope="session")
def settings(database_url: str, data_dir: Path):
    from xynap.core.config import Settings, reset_settings

    env = {
        "XYNAP_DATABASE_URL": database_url,
        "XYNAP_DATA_DIR": str(data_dir),
        "XYNAP_SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256-0123456789",
        "XYNAP_LOGIN_MAX_FAILURES_PER_IP": "100000",
        "XYNAP_LOG_JSON": "false",
        "XYNAP_RUN_WORKER": "false",
    }
    os.environ.update(env)
    reset_settings()
    from xynap.core.config import get_settings
    from xynap.core.migrate import upgrade

    settings = get_settings()
    upgrade(settings)
    assert isinstance(settings, Settings)
    return settings


@pytest.fixture(scope="session")
async def runtime(settings):
    from xynap.app import build_runtime
    from xynap.core.db import set_database

    rt = build_runtime(settings)
    set_database(rt.db)
    yield rt
    await rt.db.dispose()


@pytest.fixture(scope="session")
async def app(runtime):
    from xynap.app import create_app

    application = create_app(runtime=runtime, background=False)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def factory(runtime, client) -> Factory:
    return Factory(runtime, client)
