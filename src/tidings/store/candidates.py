"""Statements that select enrolment candidates: who a trigger offers to a campaign.

Every one has the same columns — ``customer_id``, ``context`` (the entry's context object), ``event_id`` (the
event that started the entry) — and one row per customer; ``journeys.insert_entries`` turns them into entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, cast, exists, func, literal, null, select

from tidings.store.tables import customers, events, trigger_inbox
from tidings.store.types import Json


def _no_context() -> Any:
    return cast(null(), Json).label("context")


def _no_event() -> Any:
    return cast(null(), BigInteger).label("event_id")


def whole_base() -> Select[Any]:
    """Every customer (D11: triggers with no natural audience)."""
    return select(customers.c.id.label("customer_id"), _no_context(), _no_event())


def slice_end(candidates: Select[Any], *, after: int | None, size: int) -> Select[Any, int]:
    """(last customer id, count) of the next ``size`` candidates by customer id after ``after`` (None: from the
    first); the id is None when none is left."""
    source = candidates.subquery("candidates")
    ids = select(source.c.customer_id).order_by(source.c.customer_id).limit(size)
    if after is not None:
        ids = ids.where(source.c.customer_id > after)
    head = ids.subquery("slice")
    return select(func.max(head.c.customer_id), func.count())


def in_slice(candidates: Select[Any], *, after: int | None, through: int) -> Select[Any]:
    """The candidates whose customer id is after ``after`` (None: any) and at most ``through``."""
    source = candidates.subquery("candidates")
    rows = select(source.c.customer_id, source.c.context, source.c.event_id).where(source.c.customer_id <= through)
    return rows if after is None else rows.where(source.c.customer_id > after)


def narrowed_base(customer_ids: Select[Any]) -> Select[Any]:
    """The customers ``customer_ids`` (one column, ``customer_id``) selects: the whole base as a node that narrows
    it would let it through (D11 fusion)."""
    narrowed = customer_ids.subquery("narrowed")
    return select(narrowed.c.customer_id, _no_context(), _no_event())


def chosen_customers(customer_ids: Sequence[int], context: dict[str, Any] | None) -> Select[Any]:
    """The given customers, each with ``context`` (API enrolment)."""
    return select(
        customers.c.id.label("customer_id"),
        _no_context() if context is None else literal(context, Json).label("context"),
        _no_event(),
    ).where(customers.c.id.in_(customer_ids))


def inbox_events(inbox_ids: list[int], *, now: datetime, matches: ColumnElement[bool] | None) -> Select[Any]:
    """The customers of claimed inbox rows that name an event, each with their first event that has happened by
    ``now`` and, given ``matches`` (a predicate on ``events``), matches it."""
    first_event = (
        select(func.min(events.c.id))
        .join(trigger_inbox, trigger_inbox.c.event_id == events.c.id)
        .where(trigger_inbox.c.id.in_(inbox_ids), events.c.occurred_at <= now)
        .group_by(events.c.customer_id)
    )
    if matches is not None:
        first_event = first_event.where(matches)
    return select(events.c.customer_id.label("customer_id"), _no_context(), events.c.id.label("event_id")).where(
        events.c.id.in_(first_event.scalar_subquery())
    )


def inbox_newcomers(inbox_ids: list[int]) -> Select[Any]:
    """The customers of claimed inbox rows that name a customer (segment newcomers a recompute handed over)."""
    return (
        select(trigger_inbox.c.customer_id.label("customer_id"), _no_context(), _no_event())
        .where(trigger_inbox.c.id.in_(inbox_ids), trigger_inbox.c.customer_id.is_not(None))
        .group_by(trigger_inbox.c.customer_id)
    )


def event_customer_holds(predicate: ColumnElement[bool]) -> ColumnElement[bool]:
    """The customer of the ``events`` row meets ``predicate`` (a condition over ``customers``)."""
    return exists().where(customers.c.id == events.c.customer_id, predicate)
