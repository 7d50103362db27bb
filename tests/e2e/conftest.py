"""Browser tests of the editor: the real app on a loopback port (SQLite, manual clock), driven by Debian's
Chromium through Python playwright. One browser per test session; a fresh browser context per test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.api.conftest import serve
from tests.conftest import QUICK_PASSWORDS, START
from tidings.api.app import create_app
from tidings.api.ui import UI_DIST
from tidings.core.clock import ManualClock
from tidings.model.users import UserIn
from tidings.services import Services
from tidings.settings import Settings
from tidings.store.database import Database
from tidings.store.migrate import upgrade

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FIXTURES = Path(__file__).parent / "fixtures"
# The first page of a session waits for the API to build its OpenAPI document; on a busy 2-core machine
# (make test runs two workers) that takes seconds.
expect.set_options(timeout=15_000)


#: The people of the browser tests; every test's browser signs in as the admin (``context``).
ADMIN = ("admin@example.com", "admin password 1")
ANALYST = ("analyst@example.com", "analyst password 1")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (UI_DIST / "index.html").is_file():
        raise RuntimeError(f"the editor is not built ({UI_DIST}); run `make frontend` (make test does)")
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'tidings.db'}"
    database = Database.open(url)
    upgrade(database)
    database.dispose()
    services = Services.build(Settings(database_url=url, clock="manual", **QUICK_PASSWORDS), clock=ManualClock(START))
    with services.db.engine.begin() as conn:
        for (email, password), role in ((ADMIN, "admin"), (ANALYST, "analyst")):
            user = UserIn(email=email, name=role.title(), role=role, password=password)
            services.accounts.create_user(conn, user)
    try:
        with serve(create_app(services=services)) as base:
            yield base
    finally:
        services.close()


@pytest.fixture(scope="session")
def api(app_url: str) -> Iterator[httpx.Client]:
    """The API, signed in as the admin as the editor is: the session cookie, and its CSRF token on every request."""
    with httpx.Client(base_url=f"{app_url}/api/v1", timeout=30, trust_env=False) as client:
        session = client.post("/session", json={"email": ADMIN[0], "password": ADMIN[1]})
        assert session.status_code == 200, session.text
        client.headers["X-CSRF-Token"] = session.json()["csrf_token"]
        yield client


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def sign_in(context: BrowserContext, email: str, password: str) -> None:
    """Sign ``context`` in through the API (its cookie jar is the browser's), as the sign-in page would."""
    signed_in = context.request.post("/api/v1/session", data={"email": email, "password": password})
    assert signed_in.ok, signed_in.text()


@pytest.fixture
def anonymous(browser: Browser, app_url: str) -> Iterator[BrowserContext]:
    """A browser context nobody has signed in to."""
    context = browser.new_context(base_url=app_url, viewport={"width": 1400, "height": 860})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def context(anonymous: BrowserContext) -> BrowserContext:
    """A browser context signed in as the admin: every test's editor."""
    sign_in(anonymous, *ADMIN)
    return anonymous


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def fixture_document(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return document


def create_campaign(api: httpx.Client, document: dict[str, Any]) -> int:
    response = api.post("/campaigns", json=document)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def document_of(api: httpx.Client, campaign_id: int) -> dict[str, Any]:
    response = api.get(f"/campaigns/{campaign_id}")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()["document"]
    return document
