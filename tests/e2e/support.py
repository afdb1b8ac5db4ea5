"""Shared values and steps of the browser tests (the demo logins, the server handle, logging in, waiting)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from playwright.sync_api import Page, expect

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


COMPANY = "Müller & Partner GmbH"


@contextmanager
def api_login(server: Server, email: str = ADMIN_EMAIL, password: str = PASSWORD,
              host: str | None = None) -> Iterator[httpx.Client]:
    """`with api_login(server) as client:` an API client logged in as `email` (the demo company unless `host`
    names another tenant slug)."""
    with server.api() as client:
        if host is not None:
            client.headers["X-Tenant"] = host
        response = client.post("/api/login", json={"email": email, "password": password})
        response.raise_for_status()
        client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        yield client


def outbox_links(server: Server, to: str, path: str) -> list[str]:
    """Links to `path` (e.g. "/reset-password") in the demo company's outbox mails to `to`, newest first."""
    import re

    with api_login(server) as client:
        page = client.get("/api/mail/outbox", params={"limit": 50})
        page.raise_for_status()
        links: list[str] = []
        for mail in page.json()["items"]:
            if mail["to"].casefold() != to.casefold():
                continue
            links += re.findall(rf"https?://[^\s]+{re.escape(path)}#token=[\w.~-]+", mail["body_text"])
        return links


def reset_preferences(server: Server, *emails: str) -> None:
    """Forget what the browser tests saved in these users' preferences (language, theme, layout)."""
    for email in emails:
        try:
            with api_login(server, email) as client:
                client.put("/api/me/preferences", json={"data": {}})
        except httpx.HTTPError:
            pass


def login(page: Page, email: str = ADMIN_EMAIL, password: str = PASSWORD, base: str = "") -> None:
    """Log in through the login form (German, the default) and wait for the dashboard."""
    page.goto(f"{base}/login")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort", exact=True).fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("dashboard-title")).to_be_visible()


def eventually(read: Callable[[], object], expected: object, timeout: float = 15) -> None:
    """Poll ``read()`` until it gives ``expected`` (the server side of what the page just did)."""
    deadline = time.monotonic() + timeout
    while (value := read()) != expected:
        assert time.monotonic() < deadline, f"still {value!r}, expected {expected!r}"
        time.sleep(0.2)


def open_crm_tab(page: Page, name: str) -> None:
    """Move between CRM pages inside the app via its tab row (no full page load), as people do."""
    page.get_by_test_id("crm-nav").get_by_role("link", name=name, exact=True).click()
