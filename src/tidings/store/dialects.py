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
    FromClause,
    Select,
    Table,
    Text,
    any_,
    cast,
    column,
    event,
    func,
    literal,
    select,
)
from sqlalchemy import Dialect as SADialect
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeDecorator

from tidings.core.dialect import Dialect

_SQLITE = sqlite.dialect()
_POSTGRES: SADialect = pg.psycopg.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it untyped


def _document(columns: Sequence[Column[Any]], rows: Sequence[Sequence[Any]], dialect: SADialect, *, keyed: bool) -> str:
    """``rows`` as one JSON document (a list of lists, or of objects by column name when ``keyed``), each value as
    its column binds it: a ``TypeDecorator`` (a ``Timestamp``) converts it, and a JSON column carries its JSON text
    (so the document holds exactly what a bound parameter would have)."""
    encode: list[Callable[[Any], Any] | None] = []
    for c in columns:
        type_ = c.type
        if isinstance(type_, TypeDecorator):
            encode.append(partial(type_.process_bind_param, dialect=dialect))
        elif isinstance(type_, JSON):
            encode.append(json.dumps)
        else:
            encode.append(None)
    names = [c.name for c in columns]
    encoded: list[Any] = []
    for row in rows:
        values = [value if e is None else e(value) for value, e in zip(row, encode, strict=True)]
        encoded.append(dict(zip(names, values, strict=True)) if keyed else values)
    return json.dumps(encoded, ensure_ascii=False)


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

    def among(self, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
        return column.in_(values)

    def rows(self, name: str, columns: Sequence[Column[Any]], rows: Sequence[Sequence[Any]]) -> FromClause:
        each = func.json_each(literal(_document(columns, rows, _SQLITE, keyed=False))).table_valued("value")
        values = [func.json_extract(each.c.value, f"$[{i}]", type_=c.type).label(c.name) for i, c in enumerate(columns)]
        return select(*values).subquery(name)


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

    def among(self, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
        # A list of thousands of placeholders would be rendered, sent and parsed anew for every chunk.
        return column == any_(literal(list(values), pg.ARRAY(column.type)))

    def rows(self, name: str, columns: Sequence[Column[Any]], rows: Sequence[Sequence[Any]]) -> FromClause:
        # One JSON parameter rather than an array per column: psycopg escapes every element of a text array in
        # Python, and a chunk's bodies made that cost more than the statements it saved.
        document = cast(literal(_document(columns, rows, _POSTGRES, keyed=True), Text()), pg.JSON())
        fields = [column(c.name, Text() if isinstance(c.type, JSON) else c.type) for c in columns]
        record = func.json_to_recordset(document).table_valued(*fields).render_derived(with_types=True)
        values = [cast(record.c[c.name], c.type) if isinstance(c.type, JSON) else record.c[c.name] for c in columns]
        return select(*values).subquery(name)


def dialect_for(engine: Engine) -> Dialect:
    if engine.dialect.name == "sqlite":
        return SQLiteDialect()
    if engine.dialect.name == "postgresql":
        return PostgresDialect()
    raise ValueError(f"unsupported database {engine.dialect.name!r}: use SQLite or PostgreSQL")
