"""Statements of the refused provider and bounce-mailbox reports, kept as they arrived for someone to inspect."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Select, insert, select

from tidings.store.tables import feedback_reports

#: A report is kept up to this many characters (a bounce may quote a whole message).
MAX_BODY = 1_000_000


def keep_refused(*, source: str, error: str, body: str, at: datetime) -> Insert:
    return insert(feedback_reports).values(
        source=source, outcome="refused", error=error[:4000], body=body[:MAX_BODY], received_at=at
    )


def refused_reports(*, limit: int, source: str | None = None) -> Select[Any]:
    """The latest refused reports first."""
    query = select(feedback_reports).order_by(feedback_reports.c.id.desc()).limit(limit)
    if source is not None:
        query = query.where(feedback_reports.c.source == source)
    return query
