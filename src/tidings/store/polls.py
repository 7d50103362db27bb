"""Statements on polls, their responses and the invitations a Limit poll node hands out (spec 5.7, D5).

Answering a poll, the transaction that runs several of them, is ``tidings.engine.polls.record_response``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Delete,
    Insert,
    Select,
    Update,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from tidings.core.dialect import Dialect
from tidings.store.journey_rows import probe
from tidings.store.tables import customers, journey_state, poll_invitations, poll_responses, polls

js = journey_state
pr = poll_responses
pi = poll_invitations

#: The event a submission records; the poll_completed trigger listens to it.
POLL_COMPLETED = "poll_completed"
LimitType = Literal["total", "per_store"]


def code_of(poll_id: int) -> str:
    return f"POLL-{poll_id}"


def _ts(value: datetime) -> Any:
    return literal(value, pi.c.invited_at.type)


# -- polls ---------------------------------------------------------------------------------------------------
def insert_poll(*, name: str, questions: list[dict[str, Any]], active: bool, now: datetime) -> Insert:
    """A new poll under a temporary code; ``set_code`` gives it ``POLL-<id>`` in the same transaction."""
    placeholder = f"new-{uuid.uuid4().hex[:28]}"
    return insert(polls).values(code=placeholder, name=name, questions=questions, active=active, created_at=now)


def set_code(poll_id: int) -> Update:
    return update(polls).where(polls.c.id == poll_id).values(code=code_of(poll_id))


def get_poll(poll_id: int) -> Select[Any]:
    return select(polls, _respondents()).where(polls.c.id == poll_id)


def lock_poll(poll_id: int) -> Select[Any]:
    """The poll row, locked for this transaction (answers and Limit poll nodes of one poll take turns)."""
    return select(polls).where(polls.c.id == poll_id).with_for_update()


def list_polls(*, limit: int, offset: int) -> Select[Any]:
    return select(polls, _respondents()).order_by(polls.c.id).limit(limit).offset(offset)


def count_polls() -> Select[Any]:
    return select(func.count()).select_from(polls)


def update_poll(poll_id: int, **values: Any) -> Update:
    return update(polls).where(polls.c.id == poll_id).values(**values)


def delete_poll(poll_id: int) -> Delete:
    """The poll; its responses and invitations go with it (``ON DELETE CASCADE``)."""
    return delete(polls).where(polls.c.id == poll_id)


def set_limit(poll_id: int, *, limit_type: LimitType, limit_value: int) -> Update:
    """Record the limit a Limit poll node sets (a no-op when it is already so)."""
    return (
        update(polls)
        .where(
            polls.c.id == poll_id,
            or_(
                polls.c.limit_type.is_(None),
                polls.c.limit_type != limit_type,
                polls.c.limit_value.is_(None),
                polls.c.limit_value != limit_value,
            ),
        )
        .values(limit_type=limit_type, limit_value=limit_value)
    )


def _respondents() -> Any:
    count = select(func.count()).select_from(pr).where(pr.c.poll_id == polls.c.id).scalar_subquery()
    return count.label("respondents")


# -- responses -----------------------------------------------------------------------------------------------
def responses_page(poll_id: int, *, customer_id: int | None, limit: int, offset: int) -> Select[Any]:
    query = (
        select(pr.c.answers, pr.c.store_code, pr.c.submitted_at, customers.c.external_id)
        .join(customers, customers.c.id == pr.c.customer_id)
        .where(pr.c.poll_id == poll_id)
    )
    if customer_id is not None:
        query = query.where(pr.c.customer_id == customer_id)
    return query.order_by(pr.c.id).limit(limit).offset(offset)


def count_responses(poll_id: int, *, customer_id: int | None = None) -> Select[Any]:
    query = select(func.count()).select_from(pr).where(pr.c.poll_id == poll_id)
    if customer_id is not None:
        query = query.where(pr.c.customer_id == customer_id)
    return query


def has_answered(poll_id: int, customer_id: int) -> Select[Any]:
    return select(exists().where(pr.c.poll_id == poll_id, pr.c.customer_id == customer_id))


def responses_in_scope(poll_id: int, *, limit_type: str | None, store_code: str | None) -> Select[Any]:
    """How many answers count against the poll's limit for a customer of ``store_code`` (all of them for a
    total limit; those of the same store — customers without one share one bucket — for a per-store limit)."""
    query = count_responses(poll_id)
    if limit_type == "per_store":
        query = query.where(pr.c.store_code.is_not_distinct_from(store_code))
    return query


def insert_response(
    dialect: Dialect, *, poll_id: int, customer_id: int, store_code: str | None, answers: dict[str, Any], now: datetime
) -> Insert:
    """Store one customer's answers, returning the new id; nothing (no row) when the customer has answered."""
    return (
        dialect.insert_ignoring_conflicts(pr, ["poll_id", "customer_id"])
        .values(poll_id=poll_id, customer_id=customer_id, store_code=store_code, answers=answers, submitted_at=now)
        .returning(pr.c.id)
    )


# -- invitations (Limit poll) --------------------------------------------------------------------------------
def customer_answered(poll_id: int) -> ColumnElement[bool]:
    """Predicate on ``journey_state``: the customer has answered the poll."""
    return probe(pr.c.poll_id == poll_id, pr.c.customer_id == js.c.customer_id)


def full_stores(poll_id: int, limit_value: int) -> Select[Any]:
    """The store codes (None: customers without a store) whose answers have reached ``limit_value``."""
    return (
        select(pr.c.store_code)
        .where(pr.c.poll_id == poll_id)
        .group_by(pr.c.store_code)
        .having(func.count() >= limit_value)
    )


def of_stores(codes: list[str | None]) -> ColumnElement[bool]:
    """Predicate on ``customers``: the customer's store is one of ``codes`` (None: has no store)."""
    known = [code for code in codes if code is not None]
    condition: ColumnElement[bool] = customers.c.store_code.in_(known)
    if None in codes:
        condition = or_(condition, customers.c.store_code.is_(None))
    return condition


def open_invitations(poll_id: int, *, campaign_id: int, node_id: str, since: datetime | None) -> Select[int, datetime]:
    """How many unanswered invitations this node handed out (after ``since``, when invitations expire), and when
    the oldest of them was."""
    conditions = [
        pi.c.poll_id == poll_id,
        pi.c.campaign_id == campaign_id,
        pi.c.node_id == node_id,
        pi.c.answered_at.is_(None),
    ]
    if since is not None:
        conditions.append(pi.c.invited_at > since)
    return select(func.count(), func.min(pi.c.invited_at)).select_from(pi).where(*conditions)


def close_invitation(poll_id: int, customer_id: int, *, now: datetime) -> Update:
    """Mark the customer's open invitation answered, returning the (campaign_id, node_id) that handed it out."""
    return (
        update(pi)
        .where(pi.c.poll_id == poll_id, pi.c.customer_id == customer_id, pi.c.answered_at.is_(None))
        .values(answered_at=now)
        .returning(pi.c.campaign_id, pi.c.node_id)
    )


def invite_from_chunk(
    dialect: Dialect, *, poll_id: int, node_id: str, rows: ColumnElement[bool], now: datetime
) -> Insert:
    """An open invitation from node ``node_id`` (the chunk's) for each ``journey_state`` row that ``rows`` holds
    for, e.g. ``Batch.performed()`` (renewed if the customer had one)."""
    invited = select(literal(poll_id), js.c.customer_id, js.c.campaign_id, js.c.entry_id, literal(node_id), _ts(now))
    invited = invited.where(rows)
    upsert = dialect.upsert(pi, ["poll_id", "customer_id"], ["campaign_id", "entry_id", "node_id", "invited_at"])
    return upsert.from_select(["poll_id", "customer_id", "campaign_id", "entry_id", "node_id", "invited_at"], invited)


def wake_next(campaign_id: int, node_id: str, *, now: datetime) -> Update:
    """The customer waiting longest at a Limit poll node becomes due now (one slot freed up)."""
    oldest = (
        select(js.c.id)
        .where(js.c.campaign_id == campaign_id, js.c.node_id == node_id, js.c.due_at > now)
        .order_by(js.c.id)
        .limit(1)
    )
    return update(js).where(js.c.id.in_(oldest.scalar_subquery())).values(due_at=now)


def inviting_nodes(poll_id: int) -> Select[Any]:
    """The (campaign, node) pairs that hand out invitations to the poll."""
    return (
        select(pi.c.campaign_id, pi.c.node_id)
        .where(pi.c.poll_id == poll_id, pi.c.campaign_id.is_not(None), pi.c.node_id.is_not(None))
        .distinct()
    )


def wake_node(campaign_id: int, node_id: str, *, now: datetime) -> Update:
    """Every customer waiting at the node becomes due now."""
    return (
        update(js).where(js.c.campaign_id == campaign_id, js.c.node_id == node_id, js.c.due_at > now).values(due_at=now)
    )
