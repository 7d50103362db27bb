"""The two implementations of ``core.dialect.Dialect``: every SQLite / PostgreSQL difference. Nothing else asks
which database it is."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Select, Table, event
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.dml import Insert

from tidings.core.dialect import Dialect


class SQLiteDialect:
    name = "sqlite"
    stages_bulk_writes = False

    def prepare_engine(self, engine: Engine) -> None:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below decide
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # A writer takes the lock up front, so two claimers never both read the same due rows.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    def lock_for_claim(self, query: Select[Any]) -> Select[Any]:
        return query  # BEGIN IMMEDIATE already serialises writers

    def insert_ignoring_conflicts(self, table: Table, index_elements: Sequence[str]) -> Insert:
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))

    def insert_adding(self, table: Table, index_elements: Sequence[str], column: str) -> Insert:
        stmt = sqlite.insert(table)
        return stmt.on_conflict_do_update(
            index_elements=list(index_elements), set_={column: table.c[column] + stmt.excluded[column]}
        )

    def upsert(self, table: Table, index_elements: Sequence[str], update_columns: Sequence[str]) -> Insert:
        stmt = sqlite.insert(table)
        return stmt.on_conflict_do_update(
            index_elements=list(index_elements), set_={column: stmt.excluded[column] for column in update_columns}
        )

    def is_unique_violation(self, error: DBAPIError) -> bool:
        return isinstance(error, IntegrityError) and "UNIQUE constraint failed" in str(error.orig)

    def bulk_load(self, conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        batch = [dict(zip(columns, row, strict=True)) for row in rows]
        if batch:
            conn.execute(table.insert(), batch)
        return len(batch)


class PostgresDialect:
    name = "postgresql"
    stages_bulk_writes = True  # COPY into a TEMP table, then one INSERT … SELECT

    def prepare_engine(self, engine: Engine) -> None:
        return None

    def lock_for_claim(self, query: Select[Any]) -> Select[Any]:
        return query.with_for_update(skip_locked=True)

    def insert_ignoring_conflicts(self, table: Table, index_elements: Sequence[str]) -> Insert:
        return pg.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))

    def insert_adding(self, table: Table, index_elements: Sequence[str], column: str) -> Insert:
        stmt = pg.insert(table)
        return stmt.on_conflict_do_update(
            index_elements=list(index_elements), set_={column: table.c[column] + stmt.excluded[column]}
        )

    def upsert(self, table: Table, index_elements: Sequence[str], update_columns: Sequence[str]) -> Insert:
        stmt = pg.insert(table)
        return stmt.on_conflict_do_update(
            index_elements=list(index_elements), set_={column: stmt.excluded[column] for column in update_columns}
        )

    def is_unique_violation(self, error: DBAPIError) -> bool:
        return getattr(error.orig, "sqlstate", None) == "23505"

    def bulk_load(self, conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        raw = conn.connection.driver_connection
        assert raw is not None
        count = 0
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count


def dialect_for(engine: Engine) -> Dialect:
    if engine.dialect.name == "sqlite":
        return SQLiteDialect()
    if engine.dialect.name == "postgresql":
        return PostgresDialect()
    raise ValueError(f"unsupported database {engine.dialect.name!r}: use SQLite or PostgreSQL")
