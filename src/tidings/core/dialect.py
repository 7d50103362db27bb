"""The contract behind which every SQLite / PostgreSQL difference lives (implemented in ``store.dialects``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import Column, ColumnElement, Connection, Engine, FromClause, Select, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert


class Dialect(Protocol):
    name: str
    #: True where big writes are fastest through a staging table filled by ``bulk_load`` and merged with one
    #: ``INSERT … SELECT``; False where an ``executemany`` of the statement itself is already the fast path.
    stages_bulk_writes: bool

    def prepare_engine(self, engine: Engine) -> None:
        """Install connect-time settings (pragmas, transaction mode)."""

    def lock_for_claim(self, query: Select[Any]) -> Select[Any]:
        """Let concurrent claimers skip each other's rows."""

    def insert_ignoring_conflicts(self, table: Table, index_elements: Sequence[str]) -> Insert:
        """``INSERT … ON CONFLICT (…) DO NOTHING``."""

    def insert_adding(self, table: Table, index_elements: Sequence[str], column: str) -> Insert:
        """``INSERT … ON CONFLICT (…) DO UPDATE SET column = column + excluded.column``."""

    def upsert(self, table: Table, index_elements: Sequence[str], update_columns: Sequence[str]) -> Insert:
        """``INSERT … ON CONFLICT (…) DO UPDATE SET`` the given columns from the new row."""

    def is_unique_violation(self, error: DBAPIError) -> bool: ...

    def bulk_load(self, conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Append rows to an (empty, staging) table as fast as the database allows."""

    def among(self, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
        """``column IN (values)`` for as many values as a chunk holds: on PostgreSQL one array parameter (``= ANY``),
        so the statement's text stays the same whatever their number; SQLite lists them."""

    def rows(self, name: str, columns: Sequence[Column[Any]], rows: Sequence[Sequence[Any]]) -> FromClause:
        """``rows`` (one value per column each, of the column's type) as a table named ``name`` with those columns,
        for one statement to read (``INSERT … SELECT``, ``UPDATE … FROM``). However many rows, the statement's text
        and its number of parameters stay the same: PostgreSQL ``unnest``s one array per column, SQLite reads one
        JSON document with ``json_each``."""
