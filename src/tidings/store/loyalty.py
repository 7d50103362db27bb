"""Statements on loyalty requests: writing them from a chunk, claiming them for the adapter, recording outcomes.

A request is ``pending`` until the adapter answers ``done`` or ``failed``; a transient failure keeps it pending
with a later ``next_attempt_at``. A claim sets ``leased_until`` (wall-clock time) and counts the attempt; a
worker that dies mid-call leaves the lease to expire, and the request is claimed again — and sent with the same
idempotency key. A finished request wakes the customers held at its node, so they move on at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    Update,
    and_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)

from tidings.core.dialect import Dialect
from tidings.model.statuses import LoyaltyRequestStatus
from tidings.store.journey_rows import probe
from tidings.store.tables import campaigns, customers, journey_state, loyalty_requests
from tidings.store.types import Json

js = journey_state
lr = loyalty_requests
BONUS = "bonus"
#: Campaign statuses after which a bonus still pending is not sent.
ENDED = ("stopped", "archived")


def _ts(value: datetime) -> Any:
    return literal(value, lr.c.created_at.type)


# -- written by a campaign node ------------------------------------------------------------------------------
def of_token(node: ColumnElement[str]) -> ColumnElement[bool]:
    """Joins a request to the ``journey_state`` row of the same entry and customer at ``node``: the row's own
    ``node_id`` for a held row, the chunk's node for a chunk's row (a chunk that continues into a node due at once has
    not moved its rows there)."""
    return and_(lr.c.entry_id == js.c.entry_id, lr.c.node_id == node, lr.c.customer_id == js.c.customer_id)


def lock_chunk_requests(member: ColumnElement[bool], *, node_id: str) -> Select[Any]:
    """Lock the requests of the chunk's tokens (in id order) before reading their status: the processor records
    an outcome under the same locks, so the chunk either sees it or is seen (and woken) by it."""
    return select(lr.c.id).join(js, of_token(literal(node_id))).where(member).order_by(lr.c.id).with_for_update(of=lr)


def request_is(node_id: str, status: LoyaltyRequestStatus, reason: str | None = None) -> ColumnElement[bool]:
    """Predicate on ``journey_state``: the token's request at node ``node_id`` has ``status`` (and, for ``failed``,
    ``reason``)."""
    condition = and_(of_token(literal(node_id)), lr.c.status == status)
    if reason is not None:
        condition = and_(condition, lr.c.response["reason"].as_string() == reason)
    return probe(condition)


def failure_reasons(member: ColumnElement[bool], *, node_id: str) -> Select[Any]:
    """The distinct reason codes of the chunk's failed requests at node ``node_id``."""
    return (
        select(lr.c.response["reason"].as_string())
        .join(js, of_token(literal(node_id)))
        .where(member, lr.c.status == "failed")
        .distinct()
    )


def request_from_chunk(
    dialect: Dialect, *, kind: str, node_id: str, rows: ColumnElement[bool], payload: dict[str, Any], now: datetime
) -> Insert:
    """One pending request of node ``node_id`` (the chunk's) per ``journey_state`` row that ``rows`` holds for (e.g.
    ``Batch.held()``); a (entry, node, customer) that has one keeps it."""
    requests = select(
        literal(kind),
        js.c.campaign_id,
        js.c.entry_id,
        literal(node_id),
        js.c.customer_id,
        literal(payload, Json),
        literal("pending"),
        _ts(now),
    ).where(rows)
    insert = dialect.insert_ignoring_conflicts(lr, ["entry_id", "node_id", "customer_id"])
    columns = ["kind", "campaign_id", "entry_id", "node_id", "customer_id", "payload", "status", "created_at"]
    return insert.from_select(columns, requests)


# -- the processor -------------------------------------------------------------------------------------------
def claim_due(dialect: Dialect, *, now: datetime, wall_now: datetime, limit: int, lease_until: datetime) -> Update:
    """Lease up to ``limit`` pending requests that are due (and not leased by a live worker); counts the attempt.
    The bonuses of a paused campaign wait for it to resume, like its customers."""
    paused = exists().where(campaigns.c.id == lr.c.campaign_id, campaigns.c.status == "paused")
    due = select(lr.c.id).where(
        lr.c.status == "pending",
        or_(lr.c.next_attempt_at.is_(None), lr.c.next_attempt_at <= now),
        or_(lr.c.leased_until.is_(None), lr.c.leased_until < wall_now),
        ~and_(lr.c.kind == BONUS, paused),
    )
    due = dialect.lock_for_claim(due.order_by(lr.c.id).limit(limit))
    return (
        update(lr)
        .where(lr.c.id.in_(due.scalar_subquery()))
        .values(leased_until=lease_until, attempts=lr.c.attempts + 1)
        .returning(lr.c.id)
    )


def calls(ids: list[int]) -> Select[Any]:
    """The claimed requests with their customer's external id and their campaign's status, in id order."""
    return (
        select(lr, customers.c.external_id, campaigns.c.status.label("campaign_status"))
        .join(customers, customers.c.id == lr.c.customer_id)
        .outerjoin(campaigns, campaigns.c.id == lr.c.campaign_id)
        .where(lr.c.id.in_(ids))
        .order_by(lr.c.id)
    )


def attempts_of(ids: list[int]) -> Select[Any]:
    return select(lr.c.id, lr.c.attempts).where(lr.c.id.in_(ids))


def mark_finished(*, now: datetime) -> Update:
    """Executed with many rows: b_id, b_status (done | failed), b_response, b_error."""
    return (
        update(lr)
        .where(lr.c.id == bindparam("b_id"), lr.c.status == "pending")
        .values(
            status=bindparam("b_status"),
            response=bindparam("b_response", type_=Json),
            error=bindparam("b_error"),
            finished_at=now,
            next_attempt_at=None,
            leased_until=None,
        )
    )


def mark_retry() -> Update:
    """Executed with many rows: b_id, b_next_attempt_at, b_error."""
    return (
        update(lr)
        .where(lr.c.id == bindparam("b_id"), lr.c.status == "pending")
        .values(
            next_attempt_at=bindparam("b_next_attempt_at", type_=lr.c.next_attempt_at.type),
            error=bindparam("b_error"),
            leased_until=None,
        )
    )


def wake_waiting(ids: list[int], *, now: datetime) -> Update:
    """Make the tokens held at the nodes of these (finished) requests due now (found through their entries)."""
    entries = select(lr.c.entry_id).where(lr.c.id.in_(ids), lr.c.entry_id.is_not(None))
    finished = exists().where(lr.c.id.in_(ids), of_token(js.c.node_id))
    return (
        update(js).where(js.c.entry_id.in_(entries.scalar_subquery()), js.c.due_at > now, finished).values(due_at=now)
    )


def next_attempt_at(*, after: datetime) -> Select[Any]:
    """The earliest retry strictly after ``after`` (for the manual clock)."""
    return select(func.min(lr.c.next_attempt_at)).where(lr.c.status == "pending", lr.c.next_attempt_at > after)


# -- reading -------------------------------------------------------------------------------------------------
def list_requests(
    *,
    customer_id: int | None,
    campaign_id: int | None,
    kind: str | None,
    status: LoyaltyRequestStatus | None,
    limit: int,
    offset: int,
) -> Select[Any]:
    query = select(lr, customers.c.external_id).join(customers, customers.c.id == lr.c.customer_id)
    if customer_id is not None:
        query = query.where(lr.c.customer_id == customer_id)
    if campaign_id is not None:
        query = query.where(lr.c.campaign_id == campaign_id)
    if kind is not None:
        query = query.where(lr.c.kind == kind)
    if status is not None:
        query = query.where(lr.c.status == status)
    return query.order_by(lr.c.id).limit(limit).offset(offset)
