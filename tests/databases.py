"""Test databases: a fresh SQLite file or a PostgreSQL clone of a migrated template, per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from tidings.store.database import Database
from tidings.store.migrate import upgrade

PG_ADMIN = os.environ.get("TIDINGS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def pg_url(name: str) -> str:
    base, _, _ = PG_ADMIN.rpartition("/")
    return f"{base}/{name}"


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:  # a missing server fails the run; it is never skipped
        raise RuntimeError(
            f"PostgreSQL is required for the tests and is not reachable at {PG_ADMIN}: {error}. "
            "Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        ) from None


def create_template(name: str) -> str:
    with _admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db = Database.open(pg_url(name))
    upgrade(db)
    db.dispose()
    return name


def drop_database(name: str) -> None:
    with _admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def postgres_clone(template: str) -> Iterator[str]:
    name = f"tidings_t_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    try:
        yield pg_url(name)
    finally:
        drop_database(name)


@contextmanager
def postgres_empty() -> Iterator[str]:
    """A new PostgreSQL database without any table (for tests that migrate it step by step)."""
    name = f"tidings_e_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield pg_url(name)
    finally:
        drop_database(name)
