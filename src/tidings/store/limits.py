"""Statements on participant limits (D4): the per-node, per-period counters and what they close."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Insert, Select, Update, and_, exists, false, func, or_, select, update

from tidings.core.dialect import Dialect
from tidings.store.tables import campaigns, journey_state, limit_counters

#: The period key of a limit that counts over the whole life of the campaign.
WHOLE_CAMPAIGN = "all"


def _counter(campaign_id: int, node_id: str, period: str) -> ColumnElement[bool]:
    return and_(
        limit_counters.c.campaign_id == campaign_id,
        limit_counters.c.node_id == node_id,
        limit_counters.c.period == period,
    )


def lock_counter(dialect: Dialect, *, campaign_id: int, node_id: str, period: str) -> Insert:
    """Create the counter row if missing and lock it for this transaction; returns ``passed``.

    ``ON CONFLICT DO UPDATE`` (adding 0) takes the row lock on PostgreSQL, so a concurrent worker at the same
    node and period waits here until this transaction commits and then reads the new count; SQLite's
    ``BEGIN IMMEDIATE`` already serialises writers.
    """
    statement = dialect.insert_adding(limit_counters, ["campaign_id", "node_id", "period"], "passed")
    return statement.values(campaign_id=campaign_id, node_id=node_id, period=period, passed=0).returning(
        limit_counters.c.passed
    )


def first_rows(member: ColumnElement[bool], count: int) -> ColumnElement[bool]:
    """Predicate on ``journey_state``: the first ``count`` rows of the chunk, by id."""
    if count <= 0:
        return false()
    first = select(journey_state.c.id).where(member).order_by(journey_state.c.id).limit(count)
    return journey_state.c.id.in_(first.scalar_subquery())


def add_passed(*, campaign_id: int, node_id: str, period: str, rows: ColumnElement[bool]) -> Update:
    """Add the ``journey_state`` rows that ``rows`` holds for (``Batch.performed()``) to the (locked) counter."""
    passed = select(func.count()).select_from(journey_state).where(rows).scalar_subquery()
    return (
        update(limit_counters)
        .where(_counter(campaign_id, node_id, period))
        .values(passed=limit_counters.c.passed + passed)
    )


def reached(*, campaign_id: int, node_id: str, period: str, limit: int) -> ColumnElement[bool]:
    return exists().where(_counter(campaign_id, node_id, period), limit_counters.c.passed >= limit)


def note_closed(campaign_id: int, *, reason: str, when: ColumnElement[bool] | None = None) -> Update:
    """Say on the campaign why it admits nobody new (``when`` the condition holds); a no-op if it already does."""
    statement = update(campaigns).where(
        campaigns.c.id == campaign_id,
        or_(campaigns.c.status_reason.is_(None), campaigns.c.status_reason != reason),
    )
    if when is not None:
        statement = statement.where(when)
    return statement.values(status_reason=reason)


def unnote_closed(campaign_id: int, *, reasons: list[str]) -> Update:
    """Clear the campaign's status reason if it is one of ``reasons`` (admission is open again)."""
    return (
        update(campaigns)
        .where(campaigns.c.id == campaign_id, campaigns.c.status_reason.in_(reasons))
        .values(status_reason=None)
    )


def holds(predicate: ColumnElement[bool]) -> Select[Any]:
    """One row, one boolean: whether the predicate holds."""
    return select(predicate)
