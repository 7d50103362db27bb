"""The loyalty tests talk to a fake loyalty program over real HTTP, on both databases, with the manual clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.loyalty.fake_server import TOKEN, FakeLoyalty, fake_loyalty
from tidings.core.clock import ManualClock
from tidings.services import Services
from tidings.settings import Settings

#: The client gives up after this long; the fake's "slow" answers come later.
TIMEOUT = 0.3
RETRY_BASE = 60.0
MAX_ATTEMPTS = 4


@pytest.fixture
def loyalty_server() -> Iterator[FakeLoyalty]:
    with fake_loyalty() as fake:
        fake.slow_seconds = 3 * TIMEOUT
        yield fake


def http_settings(database_url: str, url: str) -> Settings:
    return Settings(
        database_url=database_url,
        clock="manual",
        loyalty_adapter="http",
        loyalty_url=url,
        loyalty_auth_header=f"Authorization: {TOKEN}",
        loyalty_timeout_seconds=TIMEOUT,
        loyalty_retry_base_seconds=RETRY_BASE,
        loyalty_max_attempts=MAX_ATTEMPTS,
        loyalty_concurrency=4,
    )


@pytest.fixture
def http_services(database_url: str, clock: ManualClock, loyalty_server: FakeLoyalty) -> Iterator[Services]:
    built = Services.build(http_settings(database_url, loyalty_server.url), clock=clock)
    yield built
    built.close()
