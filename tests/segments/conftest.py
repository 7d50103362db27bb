"""Condition-language tests: a World (data in the database plus the same data as reference records) per test,
on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.segments.world import World
from tidings.store.database import Database


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    opened = Database.open(database_url)
    yield opened
    opened.dispose()


@pytest.fixture
def world(db: Database) -> World:
    return World(db.engine)
