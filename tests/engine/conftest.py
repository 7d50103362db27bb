"""Fixtures of the engine's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.databases import ReusedDatabase
from tidings.core.clock import ManualClock
from tidings.services import Services
from tidings.settings import Settings


@pytest.fixture
def pg_services(pg_database: ReusedDatabase, clock: ManualClock) -> Iterator[Services]:
    """PostgreSQL only: what SQLite cannot show (a chunk running beside another, the planner's statistics)."""
    built = Services.build(Settings(database_url=pg_database.url, clock="manual"), clock=clock)
    yield built
    built.close()
    pg_database.reset()
