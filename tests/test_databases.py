"""The reused PostgreSQL test database comes back from every test exactly as a fresh clone of the template."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from tests.databases import ReusedDatabase

ROWS = (
    "INSERT INTO customers (external_id, created_at, updated_at) SELECT 'c' || g, 1, 1 FROM generate_series(1, 3000) g"
)


@pytest.fixture
def reused(pg_template: str, worker_id: str) -> Iterator[ReusedDatabase]:
    database = ReusedDatabase(pg_template, f"tidings_r_{worker_id}_{os.getpid()}")
    yield database
    database.drop()


def _one(url: str, query: str) -> object:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query).fetchone()
        assert row is not None
        return row[0]


def test_rows_sequences_counters_and_leftover_sessions_are_undone_without_a_new_clone(reused: ReusedDatabase) -> None:
    with psycopg.connect(reused.url, autocommit=True) as conn:
        conn.execute(ROWS)
        conn.execute("INSERT INTO customers (external_id, created_at, updated_at) VALUES ('gone', 1, 1)")
        conn.execute("DELETE FROM customers WHERE external_id = 'gone'")
        conn.execute("SELECT nextval(pg_get_serial_sequence('campaigns', 'id'))")  # a sequence moved without a row
        conn.execute("VACUUM customers")  # counts pages and tuples
    leftover = psycopg.connect(reused.url)  # a session a test forgot, inside a transaction that holds a lock
    leftover.execute("SELECT * FROM customers WHERE id = 1 FOR UPDATE")

    reused.reset()

    assert reused.clones == 1
    with pytest.raises(psycopg.OperationalError):  # ended, as DROP DATABASE … WITH (FORCE) would have ended it
        leftover.execute("SELECT 1")
    leftover.close()
    assert _one(reused.url, "SELECT count(*) FROM customers") == 0
    assert _one(reused.url, "SELECT nextval(pg_get_serial_sequence('customers', 'id'))") == 1
    assert _one(reused.url, "SELECT nextval(pg_get_serial_sequence('campaigns', 'id'))") == 1
    assert _one(reused.url, "SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'customers'") == 0
    assert (
        _one(reused.url, "SELECT relpages::text || ' ' || reltuples FROM pg_class WHERE relname = 'customers'")
        == "0 -1"
    )
    reused.reset()  # the queries above moved two sequences again
    with psycopg.connect(reused.url, autocommit=True) as conn:
        assert reused._state(conn) == reused._fresh_state


def test_anything_but_rows_gets_a_fresh_clone(reused: ReusedDatabase) -> None:
    changes = {
        "schema": "ALTER TABLE customers ADD COLUMN extra int",
        "planner statistics": "ANALYZE customers",
        "database setting": f"ALTER DATABASE {reused.name} SET work_mem = '8MB'",
    }
    for clones, (what, change) in enumerate(changes.items(), start=2):
        with psycopg.connect(reused.url, autocommit=True) as conn:
            conn.execute(ROWS)
            conn.execute(change)  # type: ignore[call-overload]

        reused.reset()

        assert reused.clones == clones, what
        with psycopg.connect(reused.url, autocommit=True) as conn:
            assert reused._state(conn) == reused._fresh_state, what
    assert (
        _one(
            reused.url, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'customers'::regclass AND attname = 'extra'"
        )
        == 0
    )
    assert _one(reused.url, "SELECT count(*) FROM pg_stats WHERE tablename = 'customers'") == 0
    assert _one(reused.url, "SHOW work_mem") != "8MB"
