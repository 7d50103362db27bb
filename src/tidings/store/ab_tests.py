"""Statements on A/B tests (D2, D3): each test's round state, its assignments, its decisions.

One ``ab_tests`` row per A/B node is the test's state and its lock: every chunk at the node, and every
decision or restart, first takes that row (``lock_test``), so concurrent workers deal the sample in one
sequence and decide once. Variants are numbered from 1; variant k leaves by port ``variant-k``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    Update,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)

from tidings.core.dialect import Dialect
from tidings.store.journey_rows import probe
from tidings.store.tables import (
    ab_assignments,
    ab_decisions,
    ab_tests,
    attributions,
    campaigns,
    journey_state,
    messages,
    orders,
)
from tidings.store.types import Timestamp

Criterion = Literal["opens", "clicks", "orders"]

STATE_COLUMNS = ("round", "assigned", "sample_full_at", "decide_at", "winner", "restart_at")


def _test(campaign_id: int, node_id: str) -> ColumnElement[bool]:
    return and_(ab_tests.c.campaign_id == campaign_id, ab_tests.c.node_id == node_id)


def lock_test(dialect: Dialect, *, campaign_id: int, node_id: str) -> Insert:
    """Create the test's row if missing and lock it for this transaction; returns its state (``STATE_COLUMNS``).

    ``ON CONFLICT DO UPDATE`` (adding 0 to ``assigned``) takes the row lock on PostgreSQL, so a concurrent
    worker at the same node waits here until this transaction commits and then reads the new state; SQLite's
    ``BEGIN IMMEDIATE`` already serialises writers.
    """
    statement = dialect.insert_adding(ab_tests, ["campaign_id", "node_id"], "assigned")
    return statement.values(campaign_id=campaign_id, node_id=node_id, assigned=0).returning(
        *(ab_tests.c[name] for name in STATE_COLUMNS)
    )


def save_state(campaign_id: int, node_id: str, **values: Any) -> Update:
    """Write the given state columns of the (locked) test."""
    return update(ab_tests).where(_test(campaign_id, node_id)).values(**values)


def restart(campaign_id: int, node_id: str) -> Update:
    """Start the next round: counters reset, the next customers form a new sample."""
    return save_state(
        campaign_id,
        node_id,
        round=ab_tests.c.round + 1,
        assigned=0,
        sample_full_at=None,
        decide_at=None,
        winner=None,
        restart_at=None,
    )


def assign(
    *,
    member: ColumnElement[bool],
    campaign_id: int,
    node_id: str,
    round_: int,
    assigned: int,
    room: int,
    variants: int,
    now: datetime,
) -> Insert:
    """Deal the chunk's unassigned entries, by entry id, round-robin over the variants, continuing after the
    ``assigned`` customers dealt before; at most ``room`` of them. An entry already dealt in this round (it
    arrives again through a merged branch) keeps its variant and is not dealt twice."""
    js = journey_state
    dealt = exists().where(
        ab_assignments.c.campaign_id == campaign_id,
        ab_assignments.c.node_id == node_id,
        ab_assignments.c.round == round_,
        ab_assignments.c.entry_id == js.c.entry_id,
    )
    ranked = (
        select(
            js.c.entry_id,
            js.c.customer_id,
            func.row_number().over(order_by=js.c.entry_id).label("position"),
        )
        .where(member, ~dealt)
        .group_by(js.c.entry_id, js.c.customer_id)
        .subquery("ranked")
    )
    rows = select(
        literal(campaign_id),
        literal(node_id),
        literal(round_),
        ranked.c.entry_id,
        ranked.c.customer_id,
        (literal(assigned) + ranked.c.position - 1) % variants + 1,
        literal(now, Timestamp()),
    ).where(ranked.c.position <= room)
    columns = ["campaign_id", "node_id", "round", "entry_id", "customer_id", "variant", "assigned_at"]
    return insert(ab_assignments).from_select(columns, rows)


def dealt_to(*, campaign_id: int, node_id: str, round_: int, variant: int) -> ColumnElement[bool]:
    """Predicate on ``journey_state``: the row's entry was dealt ``variant`` in this round."""
    return probe(
        ab_assignments.c.campaign_id == campaign_id,
        ab_assignments.c.node_id == node_id,
        ab_assignments.c.round == round_,
        ab_assignments.c.entry_id == journey_state.c.entry_id,
        ab_assignments.c.variant == variant,
    )


def _round(campaign_id: int, node_id: str, round_: int) -> ColumnElement[bool]:
    return and_(
        ab_assignments.c.campaign_id == campaign_id,
        ab_assignments.c.node_id == node_id,
        ab_assignments.c.round == round_,
    )


def first_assigned_at(*, campaign_id: int, node_id: str, round_: int) -> Select[Any]:
    """When the round dealt its first customer (null before that)."""
    return select(func.min(ab_assignments.c.assigned_at)).where(_round(campaign_id, node_id, round_))


def decided_at(*, campaign_id: int, node_id: str, round_: int) -> Select[Any]:
    """When the round was decided (null while it is not)."""
    return select(func.max(ab_decisions.c.decided_at)).where(
        ab_decisions.c.campaign_id == campaign_id, ab_decisions.c.node_id == node_id, ab_decisions.c.round == round_
    )


def customers_of_round(*, campaign_id: int, node_id: str, round_: int) -> Select[Any]:
    """The customers dealt in this round (one column), e.g. to re-attribute their orders before a decision."""
    return select(ab_assignments.c.customer_id).where(_round(campaign_id, node_id, round_))


def variant_counts(
    *,
    campaign_id: int,
    node_id: str,
    round_: int,
    criterion: Criterion,
    downstream: Sequence[str],
    now: datetime,
) -> Select[Any]:
    """Per variant dealt in the round: (variant, customers, metric). The metric counts what happened downstream
    of the test in the same entry, up to ``now``: distinct customers who opened (or clicked) a message sent at a
    node in ``downstream``, or orders attributed to such a message."""
    a = ab_assignments
    customers = func.count(a.c.customer_id.distinct())
    if criterion == "orders":
        placed = attributions.join(orders, and_(orders.c.id == attributions.c.order_id, orders.c.placed_at <= now))
        credited = and_(attributions.c.entry_id == a.c.entry_id, attributions.c.node_id.in_(downstream))
        return (
            select(a.c.variant, customers, func.count(attributions.c.order_id.distinct()))
            .select_from(a.outerjoin(placed, credited))
            .where(_round(campaign_id, node_id, round_))
            .group_by(a.c.variant)
        )
    moment = messages.c.opened_at if criterion == "opens" else messages.c.clicked_at
    reacted = exists().where(
        messages.c.entry_id == a.c.entry_id,
        messages.c.customer_id == a.c.customer_id,
        messages.c.node_id.in_(downstream),
        moment <= now,
    )
    return (
        select(a.c.variant, customers, func.count(case((reacted, a.c.customer_id)).distinct()))
        .where(_round(campaign_id, node_id, round_))
        .group_by(a.c.variant)
    )


def record_decision(
    *,
    campaign_id: int,
    node_id: str,
    round_: int,
    criterion: Criterion,
    winner: int,
    counts: list[dict[str, Any]],
    now: datetime,
) -> Insert:
    return insert(ab_decisions).values(
        campaign_id=campaign_id,
        node_id=node_id,
        round=round_,
        criterion=criterion,
        winner=winner,
        counts=counts,
        decided_at=now,
    )


# -- the scheduler and the manual clock --------------------------------------------------------------------
def _moment() -> ColumnElement[Any]:
    """The next moment a test needs the scheduler: its decision while undecided, else its restart."""
    return case((ab_tests.c.winner.is_(None), ab_tests.c.decide_at), else_=ab_tests.c.restart_at)


def due_tests(*, now: datetime) -> Select[Any]:
    """(campaign_id, node_id, current version) of the tests of active campaigns whose decision or restart is
    due."""
    return (
        select(ab_tests.c.campaign_id, ab_tests.c.node_id, campaigns.c.current_version)
        .join(campaigns, campaigns.c.id == ab_tests.c.campaign_id)
        .where(campaigns.c.status == "active", _moment() <= now)
        .order_by(ab_tests.c.campaign_id, ab_tests.c.node_id)
    )


def next_due_at(*, after: datetime) -> Select[Any]:
    """The earliest decision or restart of an active campaign's test strictly after ``after``."""
    moment = _moment()
    return (
        select(func.min(moment))
        .join(campaigns, campaigns.c.id == ab_tests.c.campaign_id)
        .where(campaigns.c.status == "active", moment > after)
    )


# -- reading (the campaign report) -------------------------------------------------------------------------
def tests_of_campaign(campaign_id: int) -> Select[Any]:
    return select(ab_tests).where(ab_tests.c.campaign_id == campaign_id).order_by(ab_tests.c.node_id)


def decisions_of_campaign(campaign_id: int) -> Select[Any]:
    return (
        select(ab_decisions)
        .where(ab_decisions.c.campaign_id == campaign_id)
        .order_by(ab_decisions.c.node_id, ab_decisions.c.round, ab_decisions.c.id)
    )


def assigned_per_variant(campaign_id: int) -> Select[Any]:
    """(node_id, round, variant, customers) of every round of the campaign's tests."""
    a = ab_assignments
    return (
        select(a.c.node_id, a.c.round, a.c.variant, func.count())
        .where(a.c.campaign_id == campaign_id)
        .group_by(a.c.node_id, a.c.round, a.c.variant)
        .order_by(a.c.node_id, a.c.round, a.c.variant)
    )
