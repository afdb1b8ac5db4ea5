"""Process-wide settings, read from the environment (prefix XYNAP_) and an optional .env file."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XYNAP_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str = ""  # empty: SQLite under data_dir
    redis_url: str | None = None

    # "saas": many tenants under <slug>.<base_domain>; "selfhosted": one company, licensed modules.
    mode: Literal["saas", "selfhosted"] = "saas"
    base_domain: str = "localhost"
    # Tenant used when the host names no tenant (self-hosted installs answer on any host name).
    default_tenant: str | None = None

    secret_key: str = ""  # empty: generated once and kept in data_dir/secret.key
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    # A spent refresh token presented again by the same client (IP + user agent) this soon is a lost
    # response (a page reload mid-refresh), not a stolen copy: it gets fresh tokens instead of ending the login.
    refresh_reuse_grace_seconds: int = 30
    tenant_cache_ttl_seconds: float = 30.0
    permission_cache_ttl_seconds: float = 10.0

    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 30
    login_failure_window_seconds: int = 900

    max_body_bytes: int = 10 * 1024 * 1024
    max_upload_bytes: int = Field(default=512 * 1024 * 1024,
                                  description="limit for multipart file uploads (imports), streamed to disk")

    license_file: Path | None = None  # default: data_dir/license.json
    # Ed25519 public key (base64 raw 32 bytes) that signs licenses; the vendor key by default.
    license_public_key: str = "z9dBqsz2v6ePwaR3vD0uQ4w8dqsYgBcsfPbm3v1K4xE="
    license_check_url: str | None = None
    instance_id: str | None = None

    run_worker: bool = True  # `xynap serve` runs a job worker and event dispatcher in-process
    worker_concurrency: int = 4
    job_lease_seconds: int = 60
    log_level: str = "INFO"
    log_json: bool = True

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "XyNaP <noreply@localhost>"

    frontend_dir: Path | None = None  # built web app; default frontend/dist of the checkout

    db_read_pool_size: int = Field(
        default=10, ge=0, description="PostgreSQL connections for single-record reads (xynap.core.reads); 0 = off")
    bench_endpoints: bool = Field(default=False, description="expose /api/_bench/* for make bench")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'xynap.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def effective_license_file(self) -> Path:
        return self.license_file or self.data_dir / "license.json"

    @property
    def effective_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        self.secret_key = path.read_text().strip()
        return self.secret_key


@lru_cache
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
