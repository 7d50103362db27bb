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

from tidings.api.app import create_app
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


@pytest.fixture
def client(services: Services) -> Iterator[httpx.Client]:
    with (
        serve(create_app(services=services)) as url,
        httpx.Client(base_url=f"{url}/api/v1", timeout=60, trust_env=False) as http,
    ):
        yield http
