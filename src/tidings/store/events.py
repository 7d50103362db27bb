"""Statements on customer events. Storing events also routes them to the inbox of matching event triggers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Insert, Select, func, insert, select

from tidings.core.dialect import Dialect
from tidings.store import campaigns as campaign_sql
from tidings.store.tables import events


@dataclass(frozen=True)
class NewEvent:
    customer_id: int
    name: str
    properties: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None  # None: it happened when it was received


def insert_event_rows() -> Insert:
    """Executed with many rows: customer_id, name, properties, occurred_at, received_at, ingest_batch."""
    return insert(events)


def insert_events(conn: Connection, rows: Sequence[NewEvent], ingest_batch: str, now: datetime) -> int:
    """Store ``rows`` under ``ingest_batch`` and, in the same transaction, hand them to the event triggers of
    active campaigns, so a trigger can never miss an event that committed. Returns how many were stored."""
    if not rows:
        return 0
    conn.execute(
        insert_event_rows(),
        [
            {
                "customer_id": row.customer_id,
                "name": row.name,
                "properties": row.properties,
                "occurred_at": row.occurred_at or now,
                "received_at": now,
                "ingest_batch": ingest_batch,
            }
            for row in rows
        ],
    )
    conn.execute(campaign_sql.route_events_to_inbox(ingest_batch))
    return len(rows)


def events_by_id(dialect: Dialect, event_ids: Sequence[int]) -> Select[Any]:
    return select(events.c.id, events.c.name, events.c.properties, events.c.occurred_at).where(
        dialect.among(events.c.id, event_ids)
    )


def last_occurrences(name: str) -> Select[Any]:
    """(customer_id, at): when each customer's latest event called ``name`` occurred."""
    return (
        select(events.c.customer_id.label("customer_id"), func.max(events.c.occurred_at).label("at"))
        .where(events.c.name == name, events.c.customer_id.is_not(None))
        .group_by(events.c.customer_id)
    )


def last_of_any(names: Sequence[str]) -> Select[Any]:
    """(customer_id, at): when each customer's latest event called one of ``names`` occurred."""
    return (
        select(events.c.customer_id.label("customer_id"), func.max(events.c.occurred_at).label("at"))
        .where(events.c.name.in_(names), events.c.customer_id.is_not(None))
        .group_by(events.c.customer_id)
    )
