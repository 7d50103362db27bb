"""Every store, engine and API test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.databases import create_template, drop_database, postgres_clone
from tidings.core.clock import ManualClock
from tidings.services import Services
from tidings.settings import Settings
from tidings.store.database import Database
from tidings.store.migrate import upgrade

for _name in list(os.environ):
    if _name.startswith("TIDINGS_") and _name != "TIDINGS_TEST_PG":
        del os.environ[_name]

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday


@pytest.fixture(scope="session")
def pg_template(worker_id: str) -> Iterator[str]:
    name = create_template(f"tidings_template_{worker_id}_{os.getpid()}")  # concurrent runs never share one
    yield name
    drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, pg_template: str) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tidings.db'}"
        db = Database.open(url)
        upgrade(db)
        db.dispose()
        yield url
    else:
        with postgres_clone(pg_template) as url:
            yield url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def services(database_url: str, clock: ManualClock) -> Iterator[Services]:
    built = Services.build(Settings(database_url=database_url, clock="manual"), clock=clock)
    yield built
    built.close()
