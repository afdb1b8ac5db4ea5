"""Shared values of the browser tests (the demo logins, the server handle)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

ADMIN_EMAIL = "admin@demo.example.com"
STAFF_EMAIL = "julia.weber@demo.example.com"
OWNER_EMAIL = "owner@xynap.example.com"  # the platform owner `xynap demo` creates
PASSWORD = "demo-password-2026"
# Short-lived access tokens, so the silent refresh runs for real during the tests.
ACCESS_TTL_SECONDS = 8


@dataclass(frozen=True)
class Server:
    port: int
    base_url: str  # the demo company: http://demo.localhost:<port>
    console_url: str  # the platform's own host: http://localhost:<port>

    def api(self) -> httpx.Client:
        """An API client for the demo company (the tenant via X-Tenant; no proxies from the environment)."""
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers={"X-Tenant": "demo"},
                            trust_env=False, timeout=30)
