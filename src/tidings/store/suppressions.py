"""Statements of the e-mail suppression list: addresses that bounced hard or complained, never sent to again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Insert, Select, exists, func, select

from tidings.core.dialect import Dialect
from tidings.model.statuses import SuppressionReason
from tidings.store.tables import email_suppressions


@dataclass(frozen=True)
class Suppression:
    address: str  # as reported; stored lower case
    reason: SuppressionReason
    source: str
    detail: str
    message_id: int | None
    at: datetime


def suppress(dialect: Dialect, rows: Sequence[Suppression]) -> tuple[Insert, list[dict[str, Any]]]:
    """Add addresses to the list; an address already there keeps its first reason. Executed with the rows."""
    values = [
        {
            "address": row.address.strip().lower(),
            "reason": row.reason,
            "source": row.source,
            "detail": row.detail[:2000],
            "message_id": row.message_id,
            "created_at": row.at,
        }
        for row in rows
    ]
    return dialect.insert_ignoring_conflicts(email_suppressions, ["address"]), values


def is_suppressed(address: ColumnElement[Any]) -> ColumnElement[bool]:
    """A predicate: ``address`` (any case) is on the list — one primary-key lookup."""
    return exists().where(email_suppressions.c.address == func.lower(address))


def list_suppressions(*, limit: int, after: str | None = None) -> Select[Any]:
    """The list, by address."""
    query = select(email_suppressions).order_by(email_suppressions.c.address).limit(limit)
    if after is not None:
        query = query.where(email_suppressions.c.address > after)
    return query
