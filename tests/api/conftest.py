"""API tests talk HTTP to the real app, served by uvicorn on a loopback port, on both databases."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tidings.api.access import CSRF_HEADER, SESSION_COOKIE
from tidings.api.app import create_app
from tidings.model.users import Role, UserIn
from tidings.services import Services


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` in a thread on an ephemeral port; yield its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", ws="none", http="h11", loop="asyncio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.002)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def credentials(services: Services, role: Role = "admin") -> dict[str, str]:
    """Request headers of a signed-in user with ``role``, created for it (``<role>@tidings.test``): the session
    cookie and its CSRF token, as the editor sends them."""
    with services.db.engine.begin() as conn:
        user = services.accounts.create_user(conn, UserIn(email=f"{role}@tidings.test", name=role.title(), role=role))
        session = services.accounts.open_session(conn, user)
    assert session.principal.csrf_token is not None
    return {"Cookie": f"{SESSION_COOKIE}={session.token}", CSRF_HEADER: session.principal.csrf_token}


@contextmanager
def api_client(services: Services, *, path: str = "/api/v1") -> Iterator[httpx.Client]:
    """The app served on a loopback port, and a client signed in as an admin (every existing test's caller)."""
    with (
        serve(create_app(services=services)) as url,
        httpx.Client(base_url=f"{url}{path}", headers=credentials(services), timeout=60, trust_env=False) as http,
    ):
        yield http


@pytest.fixture
def client(services: Services) -> Iterator[httpx.Client]:
    with api_client(services) as http:
        yield http
