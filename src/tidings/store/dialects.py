"""The two implementations of ``core.dialect.Dialect``: every SQLite / PostgreSQL difference. Nothing else asks
which database it is."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Connection,
    Engine,
    Executable,
    MetaData,
    Select,
    Table,
    any_,
    bindparam,
    cast,
    event,
    func,
    literal,
    select,
    text,
)
from sqlalchemy import Dialect as SADialect
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeDecorator

from tidings.core.dialect import Dialect, Rows
from tidings.store.local_dates import SQLITE_FUNCTION, local_date_text

#: PostgreSQL stages sets of at least this many rows (``PostgresDialect.rows``). Below, the four statements of
#: staging and the truncation at commit cost more than a pipelined ``executemany``: a hand-over's group commit of
#: one SMTP worker's 32 results ran 35 % slower staged.
STAGED_FROM = 100

_POSTGRES: SADialect = pg.psycopg.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it untyped


def _encoders(columns: Sequence[Column[Any]], dialect: SADialect) -> list[Callable[[Any], Any] | None]:
    """How each column's value is written where SQLAlchemy does not bind it: a ``TypeDecorator`` (a ``Timestamp``)
    converts it, and a JSON column takes its JSON text."""
    encoders: list[Callable[[Any], Any] | None] = []
    for c in columns:
        if isinstance(c.type, TypeDecorator):
            encoders.append(partial(c.type.process_bind_param, dialect=dialect))
        elif isinstance(c.type, JSON):
            encoders.append(json.dumps)
        else:
            encoders.append(None)
    return encoders


class _Bound:
    """``Rows`` as a bound parameter per column, the statement executed once per row (``executemany``)."""

    def __init__(self, name: str, columns: Sequence[Column[Any]], rows: Sequence[Sequence[Any]]) -> None:
        self._keys = [f"{name}_{c.name}" for c in columns]
        self._params = {c.name: bindparam(key, type_=c.type) for key, c in zip(self._keys, columns, strict=True)}
        self._rows = rows

    def __getitem__(self, name: str) -> ColumnElement[Any]:
        return self._params[name]

    def match(self, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
        return column == self._params[name]

    def insert_into(self, table: Table) -> Insert:
        return table.insert().values(self._params)  # INSERT … SELECT run per row was three times slower here

    def write(self, conn: Connection, statement: Executable) -> int:
        """One ``executemany`` of the compiled statement, each row's parameters made here: SQLAlchemy would build
        and process a dictionary of every parameter for every row (a third of SQLite's delivery record)."""
        assert isinstance(statement, ClauseElement)
        dialect = conn.dialect
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
        at = {key: index for index, key in enumerate(self._keys)}
        # Per parameter: its index in a row (-1 for the statement's own), its bind processor, its value if fixed.
        plan: list[tuple[int, Callable[[Any], Any] | None, Any]] = []
        for name in names:
            bind = compiled.binds[name]
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if name in at:
                plan.append((at[name], processor, None))
            else:  # the statement's own value (``now``, a provider name, …)
                value = bind.effective_value
                plan.append((-1, None, value if processor is None else processor(value)))
        rows = [
            [
                value if index < 0 else row[index] if processor is None else processor(row[index])
                for index, processor, value in plan
            ]
            for row in self._rows
        ]
        if compiled.positional:
            return conn.exec_driver_sql(compiled.string, [tuple(row) for row in rows]).rowcount
        return conn.exec_driver_sql(compiled.string, [dict(zip(names, row, strict=True)) for row in rows]).rowcount


def _copy(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    raw = conn.connection.driver_connection
    assert raw is not None
    count = 0
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


class _Staged:
    """PostgreSQL's ``Rows`` for a big set: a TEMP table of the session, filled by COPY, the statement executed
    once."""

    def __init__(self, table: Table, encoders: list[Callable[[Any], Any] | None], rows: Sequence[Sequence[Any]]):
        self._table = table
        self._encoders = encoders
        self._rows = rows

    def __getitem__(self, name: str) -> ColumnElement[Any]:
        return self._table.c[name]

    def match(self, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
        # Joined on the staging table alone, the planner (which has no statistics of it) merge- or hash-joins the
        # whole of ``column``'s table; the values as an array give it the index lookups and the row count.
        at = self._table.columns.keys().index(name)
        values = literal([row[at] for row in self._rows], pg.ARRAY(column.type))
        return (column == self._table.c[name]) & (column == any_(values))

    def insert_into(self, table: Table) -> Insert:
        return table.insert().from_select(self._table.columns.keys(), self._table.select())

    def write(self, conn: Connection, statement: Executable) -> int:
        table, encoders = self._table, self._encoders
        conn.execute(CreateTable(table, if_not_exists=True))
        conn.execute(table.delete())  # empty unless this transaction staged rows here before
        encoded = ([v if e is None else e(v) for v, e in zip(row, encoders, strict=True)] for row in self._rows)
        _copy(conn, table, [c.name for c in table.columns], encoded)
        return conn.execute(statement).rowcount


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
            # time-zone rules, which SQLite lacks (``local_dates.LocalDate``)
            dbapi_conn.create_function(SQLITE_FUNCTION, 2, local_date_text, deterministic=True)

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # A writer takes the lock up front, so two claimers never both read the same due rows.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    def lock_for_claim(self, query: Select[Any]) -> Select[Any]:
        return query  # BEGIN IMMEDIATE already serialises writers

    def refresh_statistics(self, conn: Connection, tables: Sequence[str]) -> list[str]:
        return []  # SQLite plans without sampled statistics unless asked to; its defaults favour index lookups

    def count_changes_at_commit(self, conn: Connection) -> None:
        return None  # nothing is sampled (``refresh_statistics``)

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

    def among(self, column: ColumnElement[Any], values: Sequence[Any] | Select[Any]) -> ColumnElement[bool]:
        return column.in_(values)

    def rows(self, name: str, columns: Sequence[Column[Any]], rows: Sequence[Sequence[Any]]) -> Rows:
        return _Bound(name, columns, rows)


#: Tables changed by more rows than they had when last sampled, and by at least 1,000: a plan goes wrong when a
#: table's size is off by orders of magnitude, not by a tenth, and each sample of a big table costs a few hundred
#: milliseconds, so a table growing from empty to millions is sampled about twenty times, not two hundred.
_STALE_STATISTICS = text(
    "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
    "WHERE s.schemaname = current_schema() AND s.relname = ANY(:tables) "
    "AND s.n_mod_since_analyze > 1000 + greatest(c.reltuples, 0) ORDER BY s.relname"
)


class PostgresDialect:
    name = "postgresql"
    stages_bulk_writes = True  # COPY into a TEMP table, then one INSERT … SELECT

    def __init__(self) -> None:
        self._staging = MetaData()  # the TEMP tables ``rows`` stages sets of rows in

    def prepare_engine(self, engine: Engine) -> None:
        return None

    def lock_for_claim(self, query: Select[Any]) -> Select[Any]:
        return query.with_for_update(skip_locked=True)

    def refresh_statistics(self, conn: Connection, tables: Sequence[str]) -> list[str]:
        stale = list(conn.execute(_STALE_STATISTICS, {"tables": list(tables)}).scalars())
        for name in stale:
            conn.execute(text(f'ANALYZE "{name}"'))  # our own table names (``tables``), never user input
        return stale

    def count_changes_at_commit(self, conn: Connection) -> None:
        conn.execute(text("SELECT pg_stat_force_next_flush()"))

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
        return _copy(conn, table, columns, rows)

    def among(self, column: ColumnElement[Any], values: Sequence[Any] | Select[Any]) -> ColumnElement[bool]:
        # One array parameter: a list of thousands of placeholders would be rendered, sent and parsed per chunk.
        array = pg.ARRAY(column.type)
        if isinstance(values, Select):
            selected = values.subquery()
            return column == any_(cast(select(func.array_agg(selected.c[0])).scalar_subquery(), array))
        return column == any_(literal(list(values), array))

    def rows(self, name: str, columns: Sequence[Column[Any]], rows: Sequence[Sequence[Any]]) -> Rows:
        if len(rows) < STAGED_FROM:
            return _Bound(name, columns, rows)
        # COPY rather than one parameter per row or column: psycopg writes COPY rows in C, where it escapes each
        # element of an array parameter (or a JSON document's strings) in Python, about three times slower.
        table = self._staging.tables.get(f"staging_{name}")
        if table is None:  # keep_existing: a thread that declared it meanwhile wins
            copied = [Column(c.name, c.type) for c in columns]
            table = Table(f"staging_{name}", self._staging, *copied, prefixes=["TEMPORARY"], keep_existing=True)
            table.dialect_options["postgresql"]["on_commit"] = "DELETE ROWS"  # emptied by every commit
        if [c.name for c in table.columns] != [c.name for c in columns]:
            raise ValueError(f"rows {name!r} are staged with the columns {list(table.columns.keys())}, not others")
        return _Staged(table, _encoders(columns, _POSTGRES), rows)


def dialect_for(engine: Engine) -> Dialect:
    if engine.dialect.name == "sqlite":
        return SQLiteDialect()
    if engine.dialect.name == "postgresql":
        return PostgresDialect()
    raise ValueError(f"unsupported database {engine.dialect.name!r}: use SQLite or PostgreSQL")
