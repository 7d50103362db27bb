"""Portable column types: one storage format on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, BigInteger, Dialect, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: JSON that becomes JSONB on PostgreSQL.
Json = JSON().with_variant(JSONB(), "postgresql")

#: 64-bit primary keys that stay SQLite rowid aliases.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} given where an aware UTC time is required")
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


class Timestamp(TypeDecorator[datetime]):
    """An instant stored as microseconds since the Unix epoch (UTC).

    Integers compare, index and add the same way on both databases, so waits and windows are plain
    arithmetic in SQL (``due_at + :micros``) with no dialect-specific date functions.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, int):
            return value
        return to_micros(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else from_micros(int(value))
