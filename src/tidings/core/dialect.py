"""The contract behind which every SQLite / PostgreSQL difference lives (implemented in ``store.dialects``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import Column, ColumnElement, Connection, Engine, Executable, Select, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert


class Rows(Protocol):
    """A set of rows the caller holds, as one statement reads them (``UPDATE … FROM``, ``INSERT … SELECT``):
    ``rows[name]`` is their column ``name``; ``write`` runs that statement over them."""

    def __getitem__(self, name: str) -> ColumnElement[Any]: ...

    def match(self, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
        """``column`` equals the rows' column ``name``, looked up through ``column``'s index however big its
        table."""

    def insert_into(self, table: Table) -> Insert:
        """The statement that inserts the rows into ``table``, each column into the column of the same name."""

    def write(self, conn: Connection, statement: Executable) -> int:
        """Run ``statement`` over the rows in one pass, whatever their number (``Dialect.rows`` says how); returns
        how many rows it changed."""


class Dialect(Protocol):
    name: str
    #: True where big writes are fastest through a staging table filled by ``bulk_load`` and merged with one
    #: ``INSERT … SELECT``; False where an ``executemany`` of the statement itself is already the fast path.
    stages_bulk_writes: bool

    def prepare_engine(self, engine: Engine) -> None:
        """Install connect-time settings (pragmas, transaction mode)."""

    def lock_for_claim(self, query: Select[Any]) -> Select[Any]:
        """Let concurrent claimers skip each other's rows."""

    def refresh_statistics(self, conn: Connection, tables: Sequence[str]) -> list[str]:
        """Re-sample the planner statistics of those of ``tables`` that changed a lot since they were last sampled
        (as autovacuum would, were it on and keeping up); return their names."""

    def count_changes_at_commit(self, conn: Connection) -> None:
        """Have this transaction's row changes counted as soon as it commits, so that ``refresh_statistics`` right
        after sees them (PostgreSQL otherwise counts them up to a second later)."""

    def insert_ignoring_conflicts(self, table: Table, index_elements: Sequence[str]) -> Insert:
        """``INSERT … ON CONFLICT (…) DO NOTHING``."""

    def insert_adding(self, table: Table, index_elements: Sequence[str], column: str) -> Insert:
        """``INSERT … ON CONFLICT (…) DO UPDATE SET column = column + excluded.column``."""

    def upsert(self, table: Table, index_elements: Sequence[str], update_columns: Sequence[str]) -> Insert:
        """``INSERT … ON CONFLICT (…) DO UPDATE SET`` the given columns from the new row."""

    def is_unique_violation(self, error: DBAPIError) -> bool: ...

    def bulk_load(self, conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Append rows to an (empty, staging) table as fast as the database allows."""

    def among(self, column: ColumnElement[Any], values: Sequence[Any] | Select[Any]) -> ColumnElement[bool]:
        """``column IN (values)``, a list as long as a chunk or a one-column query, looked up through ``column``'s
        index however big its table. PostgreSQL takes either as one array (``= ANY``): a list's statement text stays
        the same whatever its length, and a query is read first (it would hash-join an ``IN (query)`` with a scan of
        the whole table); SQLite lists the values or reads the query."""

    def rows(self, name: str, columns: Sequence[Column[Any]], rows: Sequence[Sequence[Any]]) -> Rows:
        """``rows`` (each one value per column, in order, as the column's type takes it) with these columns (named
        and typed as they are), for one statement to read. As ``stages_bulk_writes`` says, PostgreSQL COPYs a big
        set into a TEMP table of the session (``staging_<name>``, emptied by every commit) and runs the statement
        once over it: four statements whatever their number; a small set (a hand-over's few results) costs less as
        psycopg's pipelined ``executemany``, one round trip. SQLite always runs the statement once per row from its
        one prepared form (``executemany``: in process, with nothing to send or parse, that is its fast path; one
        statement over a JSON document of the rows cost half as much again)."""
