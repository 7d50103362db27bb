"""Recording the domain events of data changes (``tidings.model.domain_events``), in the caller's transaction.

Each function stores one batch's events under one ingest batch and routes them to the inbox of the active
campaigns listening to them (``campaigns.route_events_to_inbox``), as ``events.insert_events`` does for posted
events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Insert, Select, String, func, insert, literal, select

from tidings.model.domain_events import (
    CUSTOMER_REGISTERED,
    ORDER_CANCELLED,
    ORDER_CREATED,
    ORDER_PAID,
    ORDER_STATUS_CHANGED,
    RECEIPT_ISSUED,
)
from tidings.model.orders import OrderIn
from tidings.store import campaigns as campaign_sql
from tidings.store.events import NewEvent, insert_events
from tidings.store.tables import customers, events
from tidings.store.types import Json, Timestamp

#: The columns every event insert fills, in order.
EVENT_COLUMNS = ("customer_id", "name", "properties", "occurred_at", "received_at", "ingest_batch")


def registered_events(source: Any, *, ingest_batch: str, now: datetime) -> Insert:
    """``customer_registered`` for each customer ``source`` selects (a query of one column of customer ids), at
    their ``registered_at`` (else ``now``): one ``INSERT … SELECT``."""
    if isinstance(source, Select):
        source = source.correlate(None)  # the ids are the query's own, never the outer customer's
    rows = select(
        customers.c.id,
        literal(CUSTOMER_REGISTERED, String()),
        literal({}, Json),
        func.coalesce(customers.c.registered_at, literal(now, Timestamp())),
        literal(now, Timestamp()),
        literal(ingest_batch, String()),
    ).where(customers.c.id.in_(source))
    return insert(events).from_select(list(EVENT_COLUMNS), rows)


def record_registrations(conn: Connection, new_ids: Sequence[int], now: datetime) -> int:
    """Record that the customers ``new_ids`` were created; returns how many events were stored."""
    if not new_ids:
        return 0
    batch = str(uuid.uuid4())
    stored = conn.execute(registered_events(list(new_ids), ingest_batch=batch, now=now)).rowcount
    conn.execute(campaign_sql.route_events_to_inbox(batch))
    return stored


def route(conn: Connection, ingest_batch: str) -> None:
    """Hand the events stored under ``ingest_batch`` to the event triggers of the active campaigns."""
    conn.execute(campaign_sql.route_events_to_inbox(ingest_batch))


def order_properties(order: OrderIn, categories: Sequence[str | None], old_status: str | None) -> dict[str, Any]:
    return {
        "order": order.external_id,
        "kind": order.kind,
        "status": order.stored_status,
        "old_status": old_status,
        "total": float(order.stored_total),
        "store": order.store,
        "items": [
            {
                "sku": line.sku,
                "category": categories[index],
                "quantity": float(line.quantity),
                "price": float(line.price),
                "amount": float(line.amount),
            }
            for index, line in enumerate(order.lines)
        ],
    }


#: One stored order: (customer id, the order, each line's category, the status before, whether it existed).
OrderChange = tuple[int, OrderIn, Sequence[str | None], str | None, bool]


def order_events(changes: Iterable[OrderChange], now: datetime) -> list[NewEvent]:
    """The events of storing each order, received at ``now``."""
    found: list[NewEvent] = []
    for customer_id, order, categories, old, existed in changes:
        properties = order_properties(order, categories, old)
        if order.kind == "receipt":
            if not existed:
                found.append(NewEvent(customer_id, RECEIPT_ISSUED, properties, order.placed_at))
            continue
        if not existed:
            found.append(NewEvent(customer_id, ORDER_CREATED, properties, order.placed_at))
        if order.stored_status != old:
            found.append(NewEvent(customer_id, ORDER_STATUS_CHANGED, properties, now))
            if order.stored_status == "paid":
                found.append(NewEvent(customer_id, ORDER_PAID, properties, order.paid_at or now))
            elif order.stored_status == "cancelled":
                found.append(NewEvent(customer_id, ORDER_CANCELLED, properties, order.cancelled_at or now))
    return found


def record_order_events(conn: Connection, changes: Iterable[OrderChange], now: datetime) -> int:
    """Store the events of a batch of orders (``order_events``) in one statement and route them; returns how
    many."""
    return insert_events(conn, order_events(changes, now), str(uuid.uuid4()), now)
