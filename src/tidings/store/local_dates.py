"""The calendar day of an instant in a time zone, in SQL: the one time-zone seam the date triggers need.

``LocalDate(instant, timezone)`` is the ``YYYY-MM-DD`` text of the day a ``Timestamp`` column falls on in
``timezone`` (an IANA name), NULL for NULL. PostgreSQL computes it with ``AT TIME ZONE``; SQLite, which has no
time-zone rules, calls ``tidings_local_date`` — ``local_date_text`` below, registered on every connection by the
SQLite dialect — so both read the same rules as ``zoneinfo``.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from tidings.store.types import EPOCH

#: The name of the SQLite function behind ``LocalDate``.
SQLITE_FUNCTION = "tidings_local_date"


class LocalDate(FunctionElement[str]):
    """The ``YYYY-MM-DD`` day of a ``Timestamp`` expression in a time zone."""

    type = String()
    inherit_cache = True

    def __init__(self, instant: ColumnElement[Any], timezone: ColumnElement[str]) -> None:
        super().__init__(instant, timezone)


@compiles(LocalDate, "postgresql")
def _postgresql(element: LocalDate, compiler: SQLCompiler, **kw: Any) -> str:
    instant, timezone = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"to_char(to_timestamp(({instant}) / 1000000.0) AT TIME ZONE {timezone}, 'YYYY-MM-DD')"


@compiles(LocalDate, "sqlite")
def _sqlite(element: LocalDate, compiler: SQLCompiler, **kw: Any) -> str:
    instant, timezone = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"{SQLITE_FUNCTION}({instant}, {timezone})"


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date_text(micros: int | None, timezone: str) -> str | None:
    """The SQLite function: microseconds since the epoch → the ``YYYY-MM-DD`` day in ``timezone``."""
    if micros is None:
        return None
    return (EPOCH + timedelta(microseconds=micros)).astimezone(_zone(timezone)).date().isoformat()
