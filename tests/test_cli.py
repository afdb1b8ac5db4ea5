"""The `xynap` command line, run in-process with typer's CliRunner against its own SQLite file.

These tests never touch the suite's shared database: every test points XYNAP_DATABASE_URL and
XYNAP_DATA_DIR at a temporary directory, so they behave the same under XYNAP_TEST_DB=sqlite and
XYNAP_TEST_DB=postgresql.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from dotenv import dotenv_values
from sqlalchemy import func, select
from typer.testing import CliRunner

from xynap.cli.main import _env_quote, app, write_env_file
from xynap.core.modules import Module, ModuleRegistry, PlanDecl

runner = CliRunner()
PASSWORD = "cli-test-password-1"

# Settings that would leak in from the surrounding test run or the developer's shell.
_CLEARED_ENV = ("XYNAP_MODE", "XYNAP_DEFAULT_TENANT", "XYNAP_BASE_DOMAIN", "XYNAP_LICENSE_FILE",
                "XYNAP_LICENSE_CHECK_URL", "XYNAP_REDIS_URL", "XYNAP_INSTANCE_ID", "XYNAP_SMTP_HOST",
                "XYNAP_SMTP_PORT", "XYNAP_SMTP_USER", "XYNAP_SMTP_PASSWORD", "XYNAP_SMTP_FROM")


@dataclass
class CliEnv:
    root: Path
    database_url: str
    data_dir: Path
    demo_calls: list[dict[str, Any]]
    setenv: Callable[[str, str], None]

    def invoke(self, *args: str, input: str | None = None) -> Any:
        return runner.invoke(app, list(args), input=input)


def _test_modules(calls: list[dict[str, Any]]) -> list[Module]:
    async def demo(session: Any, tenant_id: uuid.UUID, users: dict[str, Any]) -> None:
        calls.append({"tenant_id": tenant_id, "users": {k: u.email for k, u in users.items()},
                      "in_tenant_session": session.sync_session.info.get("tenant_id") == tenant_id})

    bookable = Module(slug="clitool", name="CLI Tool", version="1.2.3",
                      plans=[PlanDecl("starter", "1.00", "10.00"), PlanDecl("business", "2.00", "20.00")])
    bookable.demo = demo  # type: ignore[attr-defined]
    broken = Module(slug="clibroken", name="CLI Broken", depends=["climissing"],
                    plans=[PlanDecl("business", "1.00", "10.00")])
    return [bookable, broken]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliEnv]:
    from xynap.core.config import reset_settings
    from xynap.platform.licenses.license import get_license_status, set_license_status

    calls: list[dict[str, Any]] = []
    test_modules = _test_modules(calls)
    original_discover = ModuleRegistry.discover.__func__  # type: ignore[attr-defined]

    def discover(cls: type[ModuleRegistry], extra: Any = ()) -> ModuleRegistry:
        return original_discover(cls, extra=[*extra, *test_modules])

    license_before = get_license_status()
    data_dir = tmp_path / "var"
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    with monkeypatch.context() as mp:
        mp.chdir(tmp_path)  # no stray .env; `install` writes its .env here
        mp.setenv("XYNAP_DATABASE_URL", url)
        mp.setenv("XYNAP_DATA_DIR", str(data_dir))
        mp.setenv("XYNAP_LOG_JSON", "false")
        mp.setenv("XYNAP_RUN_WORKER", "false")
        mp.setenv("COLUMNS", "250")  # rich tables and messages on one line each
        for name in _CLEARED_ENV:
            mp.delenv(name, raising=False)
        mp.setattr(ModuleRegistry, "discover", classmethod(discover))
        reset_settings()
        yield CliEnv(tmp_path, url, data_dir, calls, mp.setenv)
        reset_settings()
    reset_settings()
    set_license_status(license_before)


def _ok(result: Any) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _db(url: str, fn: Callable[[Any], Any]) -> Any:
    """Run ``fn(session)`` in a platform session of the CLI's database."""
    from xynap.core.db import Database

    async def go() -> Any:
        db = Database(url)
        try:
            async with db.platform_session() as session:
                return await fn(session)
        finally:
            await db.dispose()

    return asyncio.run(go())


def _user(url: str, slug: str, email: str) -> Any:
    from xynap.platform.tenants.models import Tenant
    from xynap.platform.users.models import User

    async def fn(session: Any) -> Any:
        tid = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        return await session.scalar(select(User).where(User.tenant_id == tid, User.email == email))

    return _db(url, fn)


def _row(output: str, first_cell: str) -> str:
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)]
        if first_cell in cells[:2]:
            return line
    raise AssertionError(f"no table row for {first_cell!r} in:\n{output}")


def test_operator_flow(cli: CliEnv) -> None:
    from xynap.core.security.passwords import verify_password

    assert "up to date" in _ok(cli.invoke("migrate"))

    # tenants
    out = _ok(cli.invoke("tenant", "create", "acme", "--name", "ACME GmbH", "--plan", "business",
                         "--user-limit", "3"))
    assert "acme" in out
    row = _row(_ok(cli.invoke("tenant", "list")), "acme")
    assert "ACME GmbH" in row and "active" in row and "business" in row and "0/3" in row
    dup = cli.invoke("tenant", "create", "acme", "--name", "Again")
    assert dup.exit_code == 1 and "exists" in dup.output and "Traceback" not in dup.output

    # users
    out = _ok(cli.invoke("user", "create", "--tenant", "acme", "--email", "Anna@ACME.example.com", "--role", "admin",
                         "--name", "Anna Admin"))
    generated = re.search(r"Password \(shown only now\): (\S+)", out)
    assert generated, out
    anna = _user(cli.database_url, "acme", "anna@acme.example.com")
    assert anna.role == "admin" and verify_password(anna.password_hash, generated.group(1))
    out = _ok(cli.invoke("user", "create", "--tenant", "acme", "--email", "bob@acme.example.com", "--role", "staff",
                         "--password", PASSWORD))
    assert "shown only now" not in out
    bad_role = cli.invoke("user", "create", "--tenant", "acme", "--email", "c@acme.example.com", "--role", "boss")
    assert bad_role.exit_code == 1 and "no role 'boss'" in bad_role.output
    short = cli.invoke("user", "create", "--tenant", "acme", "--email", "c@acme.example.com", "--role", "staff",
                       "--password", "short")
    assert short.exit_code == 1 and "at least" in short.output
    _ok(cli.invoke("user", "create", "--tenant", "acme", "--email", "c@acme.example.com", "--role", "staff"))
    full = cli.invoke("user", "create", "--tenant", "acme", "--email", "d@acme.example.com", "--role", "staff")
    assert full.exit_code == 1 and "3 active users" in full.output
    nobody = cli.invoke("user", "create", "--tenant", "nope", "--email", "x@y.example.com", "--role", "staff")
    assert nobody.exit_code == 1 and "No tenant 'nope'" in nobody.output

    _ok(cli.invoke("user", "reset-password", "--tenant", "acme", "--email", "BOB@acme.example.com",
                   "--password", "a-brand-new-password"))
    bob = _user(cli.database_url, "acme", "bob@acme.example.com")
    assert verify_password(bob.password_hash, "a-brand-new-password")
    out = _ok(cli.invoke("user", "reset-password", "--tenant", "acme", "--email", "bob@acme.example.com"))
    new = re.search(r"Password \(shown only now\): (\S+)", out).group(1)
    assert verify_password(_user(cli.database_url, "acme", "bob@acme.example.com").password_hash, new)
    missing = cli.invoke("user", "reset-password", "--tenant", "acme", "--email", "ghost@acme.example.com")
    assert missing.exit_code == 1 and "no user" in missing.output

    out = _ok(cli.invoke("user", "create-platform", "--email", "Ops@XyNaP.example.com", "--role", "admin",
                         "--password", PASSWORD))
    assert "ops@xynap.example.com" in out
    again = cli.invoke("user", "create-platform", "--email", "ops@xynap.example.com", "--role", "staff")
    assert again.exit_code == 1 and "exists" in again.output
    bad = cli.invoke("user", "create-platform", "--email", "x@xynap.example.com", "--role", "emperor")
    assert bad.exit_code != 0

    # suspend / resume
    _ok(cli.invoke("tenant", "suspend", "acme"))
    assert "suspended" in _row(_ok(cli.invoke("tenant", "list")), "acme")
    _ok(cli.invoke("tenant", "resume", "acme"))
    assert "active" in _row(_ok(cli.invoke("tenant", "list")), "acme")
    assert cli.invoke("tenant", "suspend", "nope").exit_code == 1

    # modules: enabled ones, and a disabled one with its reason
    out = _ok(cli.invoke("module", "list"))
    row = _row(out, "clitool")
    assert "CLI Tool" in row and "1.2.3" in row and "enabled" in row
    broken = _row(out, "clibroken")
    assert "disabled" in broken and "depends on 'climissing', which is not installed" in broken
    assert "not booked" in _row(_ok(cli.invoke("module", "list", "--tenant", "acme")), "clitool")
    assert "booked and activated" in _ok(cli.invoke("module", "enable", "clitool", "--tenant", "acme"))
    assert "active (business)" in _row(_ok(cli.invoke("module", "list", "--tenant", "acme")), "clitool")
    assert "clitool" in _row(_ok(cli.invoke("tenant", "list")), "acme")
    assert "already active (business)" in _ok(cli.invoke("module", "enable", "clitool", "--tenant", "acme"))
    nope = cli.invoke("module", "enable", "clitool", "--tenant", "acme", "--plan", "platinum")
    assert nope.exit_code == 1 and "no plan 'platinum'" in nope.output
    _ok(cli.invoke("module", "disable", "clitool", "--tenant", "acme"))
    assert "cancelled" in _row(_ok(cli.invoke("module", "list", "--tenant", "acme")), "clitool")
    again = cli.invoke("module", "disable", "clitool", "--tenant", "acme")
    assert again.exit_code == 1 and "already cancelled" in again.output
    unknown = cli.invoke("module", "enable", "nosuch", "--tenant", "acme")
    assert unknown.exit_code == 1
    assert "not installed" in unknown.output and "clitool" in _one_line(unknown.output)
    disabled = cli.invoke("module", "enable", "clibroken", "--tenant", "acme")
    assert disabled.exit_code == 1 and "climissing" in disabled.output
    # booked again after a cancellation: the data comes back
    assert "booked and activated" in _ok(cli.invoke("module", "enable", "clitool", "--tenant", "acme",
                                                    "--plan", "starter"))
    assert "active (starter)" in _row(_ok(cli.invoke("module", "list", "--tenant", "acme")), "clitool")


def test_demo_is_idempotent(cli: CliEnv) -> None:
    from xynap.core.security.passwords import verify_password
    from xynap.platform.tenants.models import Tenant
    from xynap.platform.users.models import PlatformUser, Team, TeamMember, User

    _ok(cli.invoke("migrate"))
    first = _ok(cli.invoke("demo"))
    for text in ("created", "http://demo.localhost:8000", "admin@demo.example.com", "demo-password-2026",
                 "X-Tenant: demo", "owner@xynap.example.com", "clitool"):
        assert text in first, text
    assert len(cli.demo_calls) == 1
    call = cli.demo_calls[0]
    assert call["in_tenant_session"]
    assert call["users"]["admin"] == "admin@demo.example.com"
    assert {"admin", "manager", "staff1", "staff2", "staff3", "external"} <= set(call["users"])

    second = _ok(cli.invoke("demo", "--password", "another-demo-pass"))
    assert "already exists" in second and "another-demo-pass" in second
    assert len(cli.demo_calls) == 1  # a module's demo data is added once

    async def counts(session: Any) -> dict[str, Any]:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == "demo"))
        users = list(await session.scalars(select(User).where(User.tenant_id == tenant.id)))
        teams = list(await session.scalars(select(Team.name).where(Team.tenant_id == tenant.id)))
        members = await session.scalar(select(func.count()).select_from(TeamMember)
                                       .where(TeamMember.tenant_id == tenant.id))
        owner = await session.scalar(select(PlatformUser).where(PlatformUser.email == "owner@xynap.example.com"))
        return {"tenant": tenant, "users": users, "teams": sorted(teams), "members": members, "owner": owner}

    state = _db(cli.database_url, counts)
    assert state["tenant"].status == "active" and state["tenant"].name == "Müller & Partner GmbH"
    assert sorted(u.role for u in state["users"]) == ["admin", "external", "manager", "staff", "staff", "staff"]
    assert state["teams"] == ["Support", "Vertrieb"] and state["members"] == 6
    admin = next(u for u in state["users"] if u.email == "admin@demo.example.com")
    assert verify_password(admin.password_hash, "another-demo-pass")
    assert state["tenant"].owner_id == admin.id
    assert state["owner"].role == "owner" and verify_password(state["owner"].password_hash, "another-demo-pass")
    row = _row(_ok(cli.invoke("tenant", "list")), "demo")
    assert "6/" in row and "clitool" in row


def _license(tmp: Path, modules: list[str]) -> tuple[Path, str]:
    from xynap.platform.licenses.license import ANY_INSTANCE, generate_keypair, issue_license

    pem, public = generate_keypair()
    doc = issue_license(pem, licensee="Beispiel AG", modules=modules, instance_id=ANY_INSTANCE,
                        expires_at=date(2099, 12, 31), max_users=50)
    path = tmp / "vendor-license.json"
    path.write_text(json.dumps(doc))
    return path, public


def test_install_non_interactive(cli: CliEnv) -> None:
    (cli.root / ".env").write_text("# my notes\nOTHER_APP_SETTING=keep me\nXYNAP_BASE_DOMAIN=old.example\n")
    lic, public = _license(cli.root, ["clitool"])
    cli.setenv("XYNAP_LICENSE_PUBLIC_KEY", public)
    args = ["install", "--non-interactive", "--database-url", cli.database_url, "--company", "Beispiel AG",
            "--slug", "beispiel", "--admin-email", "Chefin@Beispiel.example.com", "--admin-name", "Eva Chefin",
            "--admin-password", PASSWORD, "--base-domain", "erp.beispiel.example",
            "--smtp-host", "smtp.beispiel.example", "--smtp-port", "2525", "--smtp-user", "mailer",
            "--smtp-password", "s3cret $pw #1", "--smtp-from", "Beispiel AG <noreply@beispiel.example>",
            "--modules", "clitool", "--license", str(lic)]
    out = _one_line(_ok(cli.invoke(*args)))
    assert "Created the company" in out and "Created the administrator" in out and "XyNaP is installed" in out

    env = dotenv_values(cli.root / ".env")
    assert env["OTHER_APP_SETTING"] == "keep me"
    assert "# my notes" in (cli.root / ".env").read_text()
    assert env["XYNAP_DATABASE_URL"] == cli.database_url
    assert env["XYNAP_MODE"] == "selfhosted" and env["XYNAP_DEFAULT_TENANT"] == "beispiel"
    assert env["XYNAP_BASE_DOMAIN"] == "erp.beispiel.example"
    assert env["XYNAP_SMTP_HOST"] == "smtp.beispiel.example" and env["XYNAP_SMTP_PORT"] == "2525"
    assert env["XYNAP_SMTP_PASSWORD"] == "s3cret $pw #1"
    assert env["XYNAP_SMTP_FROM"] == "Beispiel AG <noreply@beispiel.example>"
    assert (cli.root / ".env").stat().st_mode & 0o077 == 0
    assert json.loads((cli.data_dir / "license.json").read_text()) == json.loads(lic.read_text())

    # re-running with the same slug reports what exists instead of failing
    again = _one_line(_ok(cli.invoke(*args)))
    assert "exists" in again and "already active" in again

    # the administrator logs in to the app configured by the .env (mode, default tenant, license)
    from xynap.core.config import get_settings, reset_settings

    for name in ("XYNAP_DATABASE_URL", "XYNAP_DATA_DIR"):
        cli.setenv(name, env[name])
    reset_settings()
    settings = get_settings()
    assert settings.mode == "selfhosted" and settings.default_tenant == "beispiel"
    assert settings.smtp_password == "s3cret $pw #1"

    async def login() -> tuple[int, int, dict[str, Any]]:
        from xynap.app import create_app

        application = create_app(settings, background=False)
        try:
            async with LifespanManager(application):
                transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 40100))
                async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                    body = {"email": "chefin@beispiel.example.com", "password": PASSWORD}
                    ok = await client.post("/api/login", json=body, headers={"X-Tenant": "beispiel"})
                    wrong = await client.post("/api/login", json={**body, "password": "wrong-password!"},
                                              headers={"X-Tenant": "beispiel"})
                    me = await client.get("/api/me", headers={
                        "X-Tenant": "beispiel", "Authorization": f"Bearer {ok.json().get('access_token')}"})
                    return ok.status_code, wrong.status_code, me.json()
        finally:
            await application.state.runtime.db.dispose()

    ok, wrong, me = asyncio.run(login())
    assert (ok, wrong) == (200, 401)
    assert me["role"] == "admin" and me["tenant"]["slug"] == "beispiel"
    assert me["tenant"]["modules"].get("clitool") == "write"  # booked and licensed

    from xynap.platform.users.models import PlatformUser

    owner = _db(cli.database_url, lambda s: s.scalar(
        select(PlatformUser).where(PlatformUser.email == "chefin@beispiel.example.com")))
    assert owner is not None and owner.role == "owner"


def test_install_refuses_bad_input(cli: CliEnv) -> None:
    base = ["install", "--yes", "--database-url", cli.database_url, "--company", "Firma", "--slug", "firma",
            "--admin-email", "a@firma.example.com", "--admin-password", PASSWORD]

    missing = cli.invoke("install", "--non-interactive", "--company", "Firma", "--admin-password", PASSWORD)
    assert missing.exit_code == 1
    assert "--admin-email" in missing.output and "non-interactive" in missing.output
    assert "Traceback" not in missing.output

    unknown = cli.invoke(*base, "--modules", "clitool,nosuch")
    assert unknown.exit_code == 1
    assert "Unknown module 'nosuch'" in unknown.output and "Installed modules: clitool" in unknown.output

    short = cli.invoke(*base[:-1], "short")
    assert short.exit_code == 1 and "at least" in short.output

    lic, public = _license(cli.root, ["clitool"])
    cli.setenv("XYNAP_LICENSE_PUBLIC_KEY", public)
    doc = json.loads(lic.read_text())
    doc["payload"]["max_users"] = 5000
    lic.write_text(json.dumps(doc))
    tampered = cli.invoke(*base, "--license", str(lic))
    assert tampered.exit_code == 1 and "--force" in tampered.output
    assert not (cli.root / ".env").exists()  # nothing was written

    nodir = cli.invoke(*base[:3], "sqlite+aiosqlite:////proc/no-such-dir/x.db", *base[4:])
    assert nodir.exit_code == 1 and "Error" in nodir.output and "Traceback" not in nodir.output
    memory = cli.invoke(*base[:3], "sqlite+aiosqlite:///:memory:", *base[4:])
    assert memory.exit_code == 1 and "in-memory" in memory.output
    other = cli.invoke(*base[:3], "mysql://u@localhost/x", *base[4:])
    assert other.exit_code == 1 and "SQLite or PostgreSQL" in other.output
    pg = cli.invoke(*base[:3], "postgresql://u:secret-pw@127.0.0.1:1/xynap", *base[4:])
    assert pg.exit_code == 1 and "Cannot connect" in pg.output and "secret-pw" not in pg.output

    forced = cli.invoke(*base, "--license", str(lic), "--force")
    assert forced.exit_code == 0, forced.output
    assert (cli.data_dir / "license.json").exists()


def test_install_interactive(cli: CliEnv) -> None:
    answers = "\n".join([
        cli.database_url,          # database URL
        "Schmidt & Söhne",         # company
        "",                        # slug: the suggested one
        "it@schmidt.example.com",  # admin e-mail
        "Ute Schmidt",             # admin name
        PASSWORD, PASSWORD,        # password + confirmation
        "",                        # base domain: default
        "n",                       # no SMTP now
        "",                        # modules: all installed
        "",                        # no license yet
    ]) + "\n"
    out = _ok(cli.invoke("install", input=answers))
    assert "schmidt-soehne" in out
    env = dotenv_values(cli.root / ".env")
    assert env["XYNAP_DEFAULT_TENANT"] == "schmidt-soehne" and "XYNAP_SMTP_HOST" not in env
    user = _user(cli.database_url, "schmidt-soehne", "it@schmidt.example.com")
    assert user.name == "Ute Schmidt" and user.role == "admin"


def test_serve_refuses_an_unmigrated_database(cli: CliEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    def no_server(*args: Any, **kw: Any) -> None:
        raise AssertionError("uvicorn must not start on an outdated schema")

    monkeypatch.setattr(uvicorn, "run", no_server)
    cli.setenv("XYNAP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    result = cli.invoke("serve", "--port", "8123")
    assert result.exit_code == 1
    assert "Run `xynap migrate`" in result.output and "Traceback" not in result.output
    # other commands say the same instead of failing on a missing table
    listed = cli.invoke("tenant", "list")
    assert listed.exit_code == 1 and "xynap migrate" in listed.output


def test_env_file_values_read_back_unchanged(tmp_path: Path) -> None:
    values = {
        "A": "plain",
        "B": "with space",
        "C": "quote ' and \" and \\ backslash",
        "D": "dollar $HOME and ${HOME} and ${X:-y}",
        "E": "hash # not a comment",
        "F": "postgresql+asyncpg://u:p%40ss@db:5432/x",
        "G": "",
    }
    path = tmp_path / ".env"
    path.write_text("KEEP=1\nA=old\nexport B=old\nA=duplicate\n")
    write_env_file(path, values)
    assert dotenv_values(path) == {"KEEP": "1", **values}
    text = path.read_text()
    assert text.startswith("KEEP=1\nA=plain\n") and "duplicate" not in text
    for value in values.values():
        assert dotenv_values(stream=io.StringIO(f"K={_env_quote(value)}\n"))["K"] == value
