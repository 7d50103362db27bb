"""Every store, engine and API test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.databases import ReusedDatabase, create_template, drop_database, sqlite_copy, sqlite_template
from tidings.core.clock import ManualClock
from tidings.services import Services
from tidings.settings import Settings

for _name in list(os.environ):
    if _name.startswith("TIDINGS_") and _name != "TIDINGS_TEST_PG":
        del os.environ[_name]

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday
#: Argon2id at its cheapest for the services tests build: each hash or check of a password takes about half a second
#: at the production parameters on a busy 2-core machine, and the API and browser tests sign in hundreds of times.
#: Still Argon2id, still checked; the production parameters are tested in tests/api/test_session.py.
QUICK_PASSWORDS = {"password_hash_time_cost": 1, "password_hash_memory_kib": 8, "password_hash_parallelism": 1}


@pytest.fixture(scope="session")
def pg_template(worker_id: str) -> Iterator[str]:
    name = create_template(f"tidings_template_{worker_id}_{os.getpid()}")  # concurrent runs never share one
    yield name
    drop_database(name)


@pytest.fixture(scope="session")
def pg_database(pg_template: str, worker_id: str) -> Iterator[ReusedDatabase]:
    """This process's PostgreSQL test database: a clone of the template, brought back to the clone's state after
    each test that uses it (``ReusedDatabase.reset``)."""
    reused = ReusedDatabase(pg_template, f"tidings_w_{worker_id}_{os.getpid()}")
    yield reused
    reused.drop()


@pytest.fixture(scope="session")
def sqlite_migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, made once per process; each test gets a copy of it."""
    return sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_copy(request.getfixturevalue("sqlite_migrated"), tmp_path)
    else:
        database: ReusedDatabase = request.getfixturevalue("pg_database")
        yield database.url
        database.reset()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def services(database_url: str, clock: ManualClock) -> Iterator[Services]:
    built = Services.build(Settings(database_url=database_url, clock="manual", **QUICK_PASSWORDS), clock=clock)
    yield built
    built.close()
