"""Report tests talk HTTP to the real app where the API is what they test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import api_client
from tidings.services import Services


@pytest.fixture
def client(services: Services) -> Iterator[httpx.Client]:
    with api_client(services) as http:
        yield http
