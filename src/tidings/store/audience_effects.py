"""Statements the audience action runs on a chunk: audience membership and loyalty-program requests.

The audience service owns audiences and their API; these statements only create an audience named inline in a
campaign and add or remove the members a campaign node sends, set-at-a-time and idempotently.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Delete, Insert, Select, delete, literal, select

from tidings.core.dialect import Dialect
from tidings.store.tables import audience_members, audiences, journey_state, loyalty_requests
from tidings.store.types import Json


def audience_by_id(audience_id: int) -> Select[Any]:
    return select(audiences.c.id, audiences.c.name).where(audiences.c.id == audience_id)


def create_audience(dialect: Dialect, *, name: str, now: datetime) -> Insert:
    """Create the audience unless one of that name exists (concurrent creators: one wins, none fails)."""
    return dialect.insert_ignoring_conflicts(audiences, ["name"]).values(name=name, created_at=now, updated_at=now)


def audience_by_name(name: str) -> Select[Any]:
    return select(audiences.c.id, audiences.c.name).where(audiences.c.name == name)


def add_members(dialect: Dialect, *, audience_id: int, rows: ColumnElement[bool], now: datetime) -> Insert:
    """Add the customers of the ``journey_state`` rows that ``rows`` holds for (e.g. ``Batch.performed()``);
    existing members stay as they are."""
    members = select(
        literal(audience_id), journey_state.c.customer_id, literal(now, audience_members.c.added_at.type)
    ).where(rows)
    insert = dialect.insert_ignoring_conflicts(audience_members, ["audience_id", "customer_id"])
    return insert.from_select(["audience_id", "customer_id", "added_at"], members.distinct())


def remove_members(*, audience_id: int, rows: ColumnElement[bool]) -> Delete:
    """Remove the customers of the ``journey_state`` rows that ``rows`` holds for."""
    leaving = select(journey_state.c.customer_id).where(rows)
    return delete(audience_members).where(
        audience_members.c.audience_id == audience_id,
        audience_members.c.customer_id.in_(leaving.scalar_subquery()),
    )


def request_loyalty(
    dialect: Dialect, *, node_id: str, rows: ColumnElement[bool], payload: dict[str, Any], now: datetime
) -> Insert:
    """One pending ``audience`` request of node ``node_id`` (the chunk's) for the loyalty adapter per
    ``journey_state`` row that ``rows`` holds for, at most one per (entry, node, customer)."""
    requests = select(
        literal("audience"),
        journey_state.c.campaign_id,
        journey_state.c.entry_id,
        literal(node_id),
        journey_state.c.customer_id,
        literal(payload, Json),
        literal("pending"),
        literal(now, loyalty_requests.c.created_at.type),
    ).where(rows)
    insert = dialect.insert_ignoring_conflicts(loyalty_requests, ["entry_id", "node_id", "customer_id"])
    columns = ["kind", "campaign_id", "entry_id", "node_id", "customer_id", "payload", "status", "created_at"]
    return insert.from_select(columns, requests)
