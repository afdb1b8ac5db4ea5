"""Throwaway PostgreSQL and Redis servers for tests and benchmarks.

This module has no pytest dependency so that benchmarks can import it too
(``from tests.servers import PostgresServer``).  Every server lives in its own
temporary directory, listens on 127.0.0.1 on a free port and is removed again
by ``stop()`` (also called at interpreter exit as a safety net).

Example::

    with PostgresServer() as pg, RedisServer() as rds:
        url = pg.create_database("xynap_test")   # postgresql+asyncpg://xynap:xynap@...
        redis_url = rds.url                      # redis://127.0.0.1:PORT/0
"""

from __future__ import annotations

import atexit
import glob
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Self

__all__ = [
    "APP_PASSWORD",
    "APP_ROLE",
    "MissingBinaryError",
    "PostfixServer",
    "PostgresServer",
    "RedisServer",
    "ServerError",
    "find_pg_bindir",
    "free_port",
    "require_binary",
]

APP_ROLE = "xynap"
APP_PASSWORD = "xynap"
SUPERUSER = "postgres"
HOST = "127.0.0.1"

# Which Debian package provides a binary (for error messages).
_DEBIAN_PACKAGES = {
    "redis-server": "redis-server",
    "redis-cli": "redis-tools",
    "initdb": "postgresql",
    "pg_ctl": "postgresql",
    "postgres": "postgresql",
    "psql": "postgresql-client",
    "pg_isready": "postgresql-client",
    "pg_config": "libpq-dev",
    "runuser": "util-linux",
    "useradd": "passwd",
}
_PG_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_BIND_ERRORS = ("Address already in use", "could not bind", "could not create any TCP/IP sockets")


class ServerError(RuntimeError):
    """A test server could not be started or used."""


class MissingBinaryError(ServerError):
    """A required executable is not installed."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _missing(name: str) -> MissingBinaryError:
    package = _DEBIAN_PACKAGES.get(name, name)
    return MissingBinaryError(
        f"required program {name!r} was not found; on Debian/Ubuntu install it with "
        f"`apt-get install -y {package}` (or run `make system-deps` as root)"
    )


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name  # /usr/lib/postgresql/<version>/bin
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def find_pg_bindir() -> str:
    """Directory holding the PostgreSQL *server* binaries (initdb, pg_ctl, postgres).

    Tries ``pg_config --bindir`` first, then the highest /usr/lib/postgresql/*/bin.
    Raises MissingBinaryError when none is found.
    """
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out:
            candidates.append(out)
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for bindir in candidates:
        if all(os.access(os.path.join(bindir, b), os.X_OK) for b in _PG_SERVER_BINARIES):
            return bindir
    # Last resort: server binaries directly on PATH (non-Debian layouts).
    initdb = shutil.which("initdb")
    if initdb:
        bindir = os.path.dirname(initdb)
        if all(os.access(os.path.join(bindir, b), os.X_OK) for b in _PG_SERVER_BINARIES):
            return bindir
    raise _missing("initdb")


def require_binary(name: str) -> str:
    """Return the absolute path of executable *name* or raise MissingBinaryError.

    PostgreSQL binaries (initdb, pg_ctl, postgres, psql, ...) are also looked up in
    the PostgreSQL bin directory, which is usually not on PATH on Debian.
    """
    if name in _PG_SERVER_BINARIES or name in ("psql", "pg_isready", "createdb"):
        try:
            candidate = os.path.join(find_pg_bindir(), name)
        except MissingBinaryError:
            candidate = ""
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    path = shutil.which(name)
    if path is None:
        raise _missing(name)
    return path


def _tail(path: Path, limit: int = 6000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return text[-limit:] if text else "(empty log)"


def _pid_alive(pid: int) -> bool:
    # A zombie is as good as gone (containers often lack an init that reaps orphans).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return False
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still "exists"; reap it if we can.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return not _pid_alive(pid)


def _world_traversable(path: str) -> bool:
    p = Path(path).resolve()
    for part in [p, *p.parents]:
        try:
            if not part.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _make_tempdir(prefix: str, for_other_user: bool) -> Path:
    base = tempfile.gettempdir()
    # Unix socket paths are limited to ~107 bytes, and when the server runs as
    # another user it must be able to reach the directory.
    if len(base) > 60 or (for_other_user and not _world_traversable(base)):
        base = "/tmp"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl) for tests.

    Attributes after ``start()``: ``port``, ``host``, ``base_dir``, ``data_dir``,
    ``socket_dir``, ``log_path``, ``bin_dir``.
    """

    def __init__(self, *, timeout: float = 60.0, bin_dir: str | None = None,
                 settings: dict[str, str] | None = None) -> None:
        self.timeout = timeout
        self.bin_dir = bin_dir
        self.settings = dict(settings or {})  # extra postgresql.conf lines (the benchmarks size the caches)
        self.host = HOST
        self.port: int | None = None
        self.base_dir: Path | None = None
        self.data_dir: Path | None = None
        self.socket_dir: Path | None = None
        self.log_path: Path | None = None
        self._superuser_password = secrets.token_hex(16)
        self._pid: int | None = None
        self._run_as: str | None = None

    # -- lifecycle ---------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._pid is not None

    def start(self) -> PostgresServer:
        if self.base_dir is not None:
            raise ServerError("PostgresServer already started")
        self.bin_dir = self.bin_dir or find_pg_bindir()
        for name in (*_PG_SERVER_BINARIES, "psql"):
            if not os.access(os.path.join(self.bin_dir, name), os.X_OK):
                raise _missing(name)
        self._run_as = self._prepare_user() if os.geteuid() == 0 else None

        self.base_dir = _make_tempdir("xynap-pg-", for_other_user=self._run_as is not None)
        atexit.register(self.stop)
        try:
            self._initdb()
            self._start_server()
            self._bootstrap()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (immediate mode), kill leftovers, remove the directory."""
        atexit.unregister(self.stop)
        if self.base_dir is None:
            return
        try:
            if self.data_dir is not None and (self.data_dir / "postmaster.pid").exists():
                try:
                    self._run(
                        [
                            self._bin("pg_ctl"),
                            "stop",
                            "-D",
                            str(self.data_dir),
                            "-m",
                            "immediate",
                            "-w",
                            "-t",
                            str(int(max(self.timeout, 5))),
                        ],
                        check=False,
                        timeout=self.timeout + 10,
                    )
                except (OSError, subprocess.SubprocessError):
                    pass
            pid = self._pid or self._read_pid()
            if pid is not None and not _wait_gone(pid, 10):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                _wait_gone(pid, 10)
        finally:
            self._pid = None
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = self.data_dir = self.socket_dir = self.log_path = None

    def __enter__(self) -> Self:
        return self if self.base_dir is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- public helpers -------------------------------------------------------------

    @property
    def admin_dsn(self) -> str:
        """libpq/asyncpg DSN of the superuser (for checks and administration)."""
        self._require_running()
        return f"postgresql://{SUPERUSER}:{self._superuser_password}@{self.host}:{self.port}/postgres"

    def dsn(self, name: str, *, user: str = APP_ROLE, password: str = APP_PASSWORD) -> str:
        """Plain libpq/asyncpg DSN for database *name* (default: the app role)."""
        self._require_running()
        return f"postgresql://{user}:{password}@{self.host}:{self.port}/{name}"

    def url_for(self, name: str) -> str:
        """Async SQLAlchemy URL for database *name* as the app role ``xynap``."""
        self._require_running()
        return f"postgresql+asyncpg://{APP_ROLE}:{APP_PASSWORD}@{self.host}:{self.port}/{name}"

    def create_database(self, name: str) -> str:
        """Create database *name* owned by ``xynap``; return its async SQLAlchemy URL."""
        _check_identifier(name)
        self.psql(f'CREATE DATABASE "{name}" OWNER "{APP_ROLE}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database *name* (terminating open connections)."""
        _check_identifier(name)
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL as the superuser through the unix socket; return unaligned output."""
        self._require_running()
        proc = subprocess.run(
            [
                self._bin("psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                dbname,
                "-c",
                sql,
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            stdin=subprocess.DEVNULL,
            env=self._env(),
        )
        if proc.returncode != 0:
            raise ServerError(f"psql failed ({proc.returncode}) for {sql!r}:\n{proc.stderr.strip()}")
        return proc.stdout.strip()

    def read_log(self) -> str:
        return _tail(self.log_path) if self.log_path else "(no log)"

    # -- internals ------------------------------------------------------------------

    def _require_running(self) -> None:
        if self._pid is None or self.port is None:
            raise ServerError("PostgresServer is not running (call start() first)")

    def _bin(self, name: str) -> str:
        assert self.bin_dir is not None
        return os.path.join(self.bin_dir, name)

    @staticmethod
    def _env() -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        env["LANG"] = "C"
        return env

    @staticmethod
    def _prepare_user() -> str:
        """PostgreSQL refuses to run as root: use (and if needed create) user postgres."""
        require_binary("runuser")
        try:
            import pwd

            pwd.getpwnam(SUPERUSER)
        except KeyError:
            useradd = require_binary("useradd")
            proc = subprocess.run(
                [
                    useradd,
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    SUPERUSER,
                ],
                check=False,
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise ServerError(f"could not create system user {SUPERUSER!r}: {proc.stderr.strip()}") from None
        return SUPERUSER

    def _chown(self, path: Path) -> None:
        if self._run_as is None:
            return
        import pwd

        entry = pwd.getpwnam(self._run_as)
        os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(
        self,
        cmd: list[str],
        *,
        check: bool = True,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        if self._run_as is not None:
            cmd = ["runuser", "-u", self._run_as, "--", *cmd]
        proc = subprocess.run(
            cmd,
            check=False,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            cwd=self.base_dir,
            env=self._env(),
            timeout=timeout or self.timeout,
        )
        if check and proc.returncode != 0:
            raise ServerError(
                f"command failed ({proc.returncode}): {' '.join(cmd)}\n"
                f"stdout:\n{proc.stdout.strip()}\nstderr:\n{proc.stderr.strip()}"
            )
        return proc

    def _initdb(self) -> None:
        assert self.base_dir is not None
        self._chown(self.base_dir)
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir
        pwfile = self.base_dir / "pwfile"
        pwfile.write_text(self._superuser_password + "\n")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        try:
            self._run(
                [
                    self._bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                timeout=max(self.timeout, 120),
            )
        finally:
            pwfile.unlink(missing_ok=True)
        self._base_conf = (self.data_dir / "postgresql.conf").read_text()

    def _write_conf(self) -> None:
        assert self.data_dir is not None
        settings = {
            "listen_addresses": f"'{HOST}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "logging_collector": "off",
            **self.settings,
        }
        block = "\n# --- xynap test server ---\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())
        (self.data_dir / "postgresql.conf").write_text(self._base_conf + block)

    def _start_server(self) -> None:
        assert self.base_dir is not None and self.data_dir is not None
        self.log_path = self.base_dir / "postgres.log"
        last_error = ""
        for _attempt in range(5):
            self.port = free_port()
            self._write_conf()
            self.log_path.unlink(missing_ok=True)
            proc = self._run(
                [
                    self._bin("pg_ctl"),
                    "start",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_path),
                    "-w",
                    "-t",
                    str(int(self.timeout)),
                ],
                check=False,
                timeout=self.timeout + 15,
            )
            if proc.returncode == 0 and self._wait_ready():
                self._pid = self._read_pid()
                if self._pid is None:
                    raise ServerError(f"postgres started but postmaster.pid is unreadable\n{self.read_log()}")
                return
            log = self.read_log()
            last_error = f"pg_ctl exited {proc.returncode}: {proc.stderr.strip()}\n--- server log ---\n{log}"
            # Make sure nothing is left behind before retrying.
            pid = self._read_pid()
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                _wait_gone(pid, 10)
            if not any(marker in log for marker in _BIND_ERRORS):
                break
        raise ServerError(f"PostgreSQL did not start within {self.timeout}s\n{last_error}")

    def _wait_ready(self) -> bool:
        """pg_ctl -w already waits; double-check with a TCP connect (bounded)."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, self.port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.1)
        return False

    def _read_pid(self) -> int | None:
        if self.data_dir is None:
            return None
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _bootstrap(self) -> None:
        self.psql(
            f"CREATE ROLE \"{APP_ROLE}\" LOGIN PASSWORD '{APP_PASSWORD}' "
            "NOSUPERUSER NOBYPASSRLS NOCREATEROLE CREATEDB NOREPLICATION"
        )


def _check_identifier(name: str) -> None:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"invalid database name {name!r} (use letters, digits and underscores)")


class RedisServer:
    """A throwaway redis-server without persistence for tests."""

    def __init__(self, *, timeout: float = 30.0, binary: str | None = None) -> None:
        self.timeout = timeout
        self.binary = binary
        self.host = HOST
        self.port: int | None = None
        self.base_dir: Path | None = None
        self.log_path: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``"""
        if self._proc is None or self.port is None:
            raise ServerError("RedisServer is not running (call start() first)")
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> RedisServer:
        if self.base_dir is not None:
            raise ServerError("RedisServer already started")
        self.binary = self.binary or require_binary("redis-server")
        self.base_dir = _make_tempdir("xynap-redis-", for_other_user=False)
        self.log_path = self.base_dir / "redis.log"
        atexit.register(self.stop)
        try:
            self._start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate redis-server (SIGKILL if it lingers) and remove its directory."""
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is not None:
            self._terminate(proc)
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = self.log_path = None

    def __enter__(self) -> Self:
        return self if self.base_dir is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def ping(self) -> bool:
        """True if the server answers PING with PONG (raw RESP, no client library)."""
        if self.port is None:
            return False
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def read_log(self) -> str:
        return _tail(self.log_path) if self.log_path else "(no log)"

    @staticmethod
    def _terminate(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def _start_server(self) -> None:
        assert self.base_dir is not None and self.log_path is not None and self.binary
        last_error = ""
        for _attempt in range(5):
            self.port = free_port()
            with open(self.log_path, "wb") as log:
                self._proc = subprocess.Popen(
                    [
                        self.binary,
                        "--bind",
                        HOST,
                        "--port",
                        str(self.port),
                        "--dir",
                        str(self.base_dir),
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--daemonize",
                        "no",
                        "--logfile",
                        "",
                        "--protected-mode",
                        "yes",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.base_dir,
                )
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    break
                if self.ping():
                    return
                time.sleep(0.05)
            code = self._proc.poll()
            self._terminate(self._proc)
            self._proc = None
            log_text = self.read_log()
            if code is None:
                last_error = f"no PONG within {self.timeout}s"
            else:
                last_error = f"redis-server exited with code {code}"
            last_error += f"\n--- server log ---\n{log_text}"
            if code is None or not any(marker in log_text for marker in _BIND_ERRORS):
                break
        raise ServerError(f"redis-server did not start\n{last_error}")


class PostfixServer:
    """A throwaway Postfix (Debian's ``postfix`` package) that accepts mail for ``xynap.test``.

    Its own configuration, queue, data and mail directories live in one temporary directory;
    it is started with ``postfix -c <confdir> start`` next to (and independent of) any system
    Postfix. SMTP listens on 127.0.0.1:``port`` without TLS and without authentication; every
    address ``<anything>@xynap.test`` is delivered by virtual(8) into one Maildir (no system
    users needed), all other recipients are refused (no relaying, nothing leaves the machine).
    ``wait_for_mail(user)`` returns the messages delivered to one address. Postfix needs root
    to start (master drops privileges to the ``postfix`` user itself).

    Attributes after ``start()``: ``port``, ``host``, ``base_dir``, ``config_dir``,
    ``queue_dir``, ``maildir``, ``log_path``.
    """

    DOMAIN = "xynap.test"
    # virtual(8) writes the Maildir as this user (nobody/nogroup on Debian).
    MAIL_UID = 65534
    MAIL_GID = 65534

    def __init__(self, *, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.host = HOST
        self.port: int | None = None
        self.base_dir: Path | None = None
        self.config_dir: Path | None = None
        self.queue_dir: Path | None = None
        self.data_dir: Path | None = None
        self.maildir: Path | None = None
        self.log_path: Path | None = None
        self._postfix: str | None = None
        self._pid: int | None = None

    # -- lifecycle ---------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._pid is not None and _pid_alive(self._pid)

    def start(self) -> PostfixServer:
        if self.base_dir is not None:
            raise ServerError("PostfixServer already started")
        # /usr/sbin is not always on PATH for ordinary users
        self._postfix = shutil.which("postfix") or shutil.which("postfix", path="/usr/sbin:/sbin")
        if self._postfix is None:
            raise _missing("postfix")
        if os.geteuid() != 0:
            raise ServerError("postfix must be started as root (its master drops privileges itself)")
        import grp
        import pwd

        try:
            postfix_user = pwd.getpwnam("postfix")
            grp.getgrnam("postdrop")
        except KeyError:
            raise ServerError("the users/groups 'postfix' and 'postdrop' are missing; "
                              "reinstall the postfix package") from None
        self.base_dir = _make_tempdir("xynap-postfix-", for_other_user=True)
        atexit.register(self.stop)
        try:
            self.base_dir.chmod(0o755)  # virtual(8) runs as nobody and must reach the maildir
            self.config_dir = self.base_dir / "conf"
            self.queue_dir = self.base_dir / "queue"
            self.data_dir = self.base_dir / "data"
            self.maildir = self.base_dir / "mail"
            self.log_path = self.base_dir / "maillog"
            for path in (self.config_dir, self.queue_dir, self.data_dir, self.maildir):
                path.mkdir(mode=0o755)
            os.chown(self.data_dir, postfix_user.pw_uid, postfix_user.pw_gid)
            os.chown(self.maildir, self.MAIL_UID, self.MAIL_GID)
            self.maildir.chmod(0o700)
            (self.config_dir / "mailboxes").write_text(f"@{self.DOMAIN} {self.DOMAIN}/\n")
            self._start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """``postfix stop`` (SIGKILL for a master that lingers), then remove the directory."""
        atexit.unregister(self.stop)
        if self.base_dir is None:
            return
        try:
            pid = self._pid or self._read_pid()
            if pid is not None and self._postfix and self.config_dir is not None:
                try:
                    self._postfix_cmd("stop", check=False)
                except (OSError, subprocess.SubprocessError):
                    pass
            if pid is not None and not _wait_gone(pid, 10):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                _wait_gone(pid, 10)
        finally:
            self._pid = None
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = self.config_dir = self.queue_dir = self.data_dir = None
            self.maildir = self.log_path = None

    def __enter__(self) -> Self:
        return self if self.base_dir is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- public helpers -------------------------------------------------------------

    def address(self, user: str) -> str:
        """``user@xynap.test``"""
        return f"{user}@{self.DOMAIN}"

    def messages(self, user: str | None = None) -> list[EmailMessage]:
        """Delivered messages (oldest first), for one address (``user`` or ``user@xynap.test``) or all."""
        if self.maildir is None:
            raise ServerError("PostfixServer is not running (call start() first)")
        import email
        import email.policy

        wanted = None if user is None else (user if "@" in user else self.address(user)).casefold()
        box = self.maildir / self.DOMAIN
        files = [f for sub in ("new", "cur") if (box / sub).is_dir() for f in (box / sub).iterdir() if f.is_file()]
        out: list[tuple[float, str, EmailMessage]] = []
        for path in files:
            try:
                raw = path.read_bytes()
                mtime = path.stat().st_mtime
            except OSError:  # moved between listing and reading
                continue
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            if wanted is not None and str(msg.get("Delivered-To", "")).strip().casefold() != wanted:
                continue
            out.append((mtime, path.name, msg))
        return [msg for _mtime, _name, msg in sorted(out, key=lambda t: (t[0], t[1]))]

    def wait_for_mail(self, user: str, timeout: float = 10.0, count: int = 1) -> list[EmailMessage]:
        """Wait until at least ``count`` messages were delivered to ``user``; return all of them.

        Raises ServerError (with the mail log) when they do not arrive within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(user)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise ServerError(f"{len(found)} of {count} mail(s) for {user!r} arrived within {timeout}s\n"
                                  f"--- mail log ---\n{self.read_log()}")
            time.sleep(0.05)

    def read_log(self) -> str:
        return _tail(self.log_path) if self.log_path else "(no log)"

    # -- internals ------------------------------------------------------------------

    def _postfix_cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self._postfix and self.config_dir is not None
        env = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
        env.update(LC_ALL="C", LANG="C")
        cmd = [self._postfix, "-c", str(self.config_dir), *args]
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              cwd=self.base_dir, env=env, timeout=self.timeout + 30)
        if check and proc.returncode != 0:
            raise ServerError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n"
                              f"stdout:\n{proc.stdout.strip()}\nstderr:\n{proc.stderr.strip()}")
        return proc

    def _write_config(self) -> None:
        assert self.config_dir is not None and self.base_dir is not None
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "meta_directory": "/etc/postfix",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "syslog_name": f"xynap-postfix-{self.port}",
            "maillog_file": str(self.log_path),
            "maillog_file_prefixes": str(self.base_dir),
            "myhostname": f"mx.{self.DOMAIN}",
            "mydomain": self.DOMAIN,
            "myorigin": self.DOMAIN,
            "mydestination": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "inet_interfaces": HOST,
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            # only xynap.test is accepted, everything else is refused at RCPT TO
            "smtpd_relay_restrictions": "reject_unauth_destination",
            "relayhost": "",
            "default_transport": "error:this test server delivers nothing outside xynap.test",
            "relay_transport": "error:this test server delivers nothing outside xynap.test",
            "smtpd_tls_security_level": "none",
            "smtp_tls_security_level": "none",
            "smtpd_banner": "$myhostname ESMTP xynap test server",
            "virtual_mailbox_domains": self.DOMAIN,
            "virtual_mailbox_base": str(self.maildir),
            # virtual(8) allows no regexp substitution: one Maildir for the whole domain;
            # the Delivered-To header tells the recipients apart.
            "virtual_mailbox_maps": f"texthash:{self.config_dir / 'mailboxes'}",
            "virtual_minimum_uid": "1",
            "virtual_uid_maps": f"static:{self.MAIL_UID}",
            "virtual_gid_maps": f"static:{self.MAIL_GID}",
            "biff": "no",
            "delay_warning_time": "0h",
        }
        (self.config_dir / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
        # service type private unpriv chroot wakeup maxproc command; no chroot anywhere
        services = [
            f"{HOST}:{self.port} inet n - n - - smtpd",
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "proxywrite unix - - n - 1 proxymap",
            "smtp unix - - n - - smtp",
            "relay unix - - n - - smtp",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "virtual unix - n n - - virtual",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ]
        (self.config_dir / "master.cf").write_text("\n".join(services) + "\n")

    def _start_server(self) -> None:
        assert self.log_path is not None
        last_error = ""
        for _attempt in range(5):
            self.port = free_port()
            self._write_config()
            self.log_path.write_text("")
            self.log_path.chmod(0o644)
            proc = self._postfix_cmd("start", check=False)
            pid = self._read_pid()
            if proc.returncode == 0 and pid is not None and self._wait_ready(pid):
                self._pid = pid
                return
            log_text = self.read_log()
            last_error = (f"postfix start exited {proc.returncode}: {proc.stderr.strip()}\n"
                          f"--- mail log ---\n{log_text}")
            self._postfix_cmd("stop", check=False)
            if pid is not None and not _wait_gone(pid, 10):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                _wait_gone(pid, 10)
            if "Address already in use" not in log_text and "bind" not in log_text:
                break
        raise ServerError(f"Postfix did not start\n{last_error}")

    def _wait_ready(self, pid: int) -> bool:
        """The master opens the listener itself; wait for the smtpd greeting (bounded)."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                return False
            try:
                with socket.create_connection((HOST, self.port), timeout=2) as sock:
                    sock.settimeout(5)
                    if sock.recv(512).startswith(b"220"):
                        sock.sendall(b"QUIT\r\n")
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def _read_pid(self) -> int | None:
        if self.queue_dir is None:
            return None
        try:
            return int((self.queue_dir / "pid" / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None
