"""Report tests talk HTTP to the real app where the API is what they test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import serve
from tidings.api.app import create_app
from tidings.services import Services


@pytest.fixture
def client(services: Services) -> Iterator[httpx.Client]:
    with (
        serve(create_app(services=services)) as url,
        httpx.Client(base_url=f"{url}/api/v1", timeout=60, trust_env=False) as http,
    ):
        yield http
