"""Statements the audience action runs on a chunk: audience membership and loyalty-program requests.

The audience service owns audiences and their API; these statements only create an audience named inline in a
campaign and add or remove the members a campaign node sends, set-at-a-time and idempotently.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Delete, Insert, Select, delete, literal, select

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


def _leaving(claim_id: str, outcome: str) -> Select[Any]:
    return select(journey_state.c.customer_id).where(
        journey_state.c.claim_id == claim_id, journey_state.c.outcome == outcome
    )


def add_members(dialect: Dialect, *, audience_id: int, claim_id: str, outcome: str, now: datetime) -> Insert:
    """Add the chunk's customers that left by ``outcome``; existing members stay as they are."""
    rows = select(
        literal(audience_id), journey_state.c.customer_id, literal(now, audience_members.c.added_at.type)
    ).where(journey_state.c.claim_id == claim_id, journey_state.c.outcome == outcome)
    insert = dialect.insert_ignoring_conflicts(audience_members, ["audience_id", "customer_id"])
    return insert.from_select(["audience_id", "customer_id", "added_at"], rows.distinct())


def remove_members(*, audience_id: int, claim_id: str, outcome: str) -> Delete:
    return delete(audience_members).where(
        audience_members.c.audience_id == audience_id,
        audience_members.c.customer_id.in_(_leaving(claim_id, outcome).scalar_subquery()),
    )


def request_loyalty(dialect: Dialect, *, claim_id: str, outcome: str, payload: dict[str, Any], now: datetime) -> Insert:
    """One pending ``audience`` request per (entry, node, customer) for the loyalty adapter."""
    rows = select(
        literal("audience"),
        journey_state.c.campaign_id,
        journey_state.c.entry_id,
        journey_state.c.node_id,
        journey_state.c.customer_id,
        literal(payload, Json),
        literal("pending"),
        literal(now, loyalty_requests.c.created_at.type),
    ).where(journey_state.c.claim_id == claim_id, journey_state.c.outcome == outcome)
    insert = dialect.insert_ignoring_conflicts(loyalty_requests, ["entry_id", "node_id", "customer_id"])
    columns = ["kind", "campaign_id", "entry_id", "node_id", "customer_id", "payload", "status", "created_at"]
    return insert.from_select(columns, rows)
