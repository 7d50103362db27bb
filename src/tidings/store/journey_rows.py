"""Predicates on the ``journey_state`` rows of a chunk, read the same way by every action.

A predicate that looks a chunk row up in another table is written as ``probe`` (one index lookup per row), not as
``EXISTS``: inside the ``CASE`` of a routing statement PostgreSQL may turn an ``EXISTS`` into a hashed subplan that
reads the whole other table — every customer, every message, the whole trace — once per chunk, so a chunk would
cost in proportion to the base instead of to itself.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Table, exists, false, func, literal, or_, select

from tidings.core.outcomes import Outcome, encode
from tidings.store.tables import customers, entries, journey_chunk, journey_state, journey_trace


def chunk_member(outcomes: Collection[Outcome] | None = None) -> ColumnElement[bool]:
    """The rows of the chunk being advanced at its current node (kept in this transaction's scratch table,
    ``journey_chunk``; rows parked for a later step are not); with ``outcomes``, those the node's rules gave one of
    them."""
    return journey_state.c.id.in_(_claimed(outcomes))


def _claimed(outcomes: Collection[Outcome] | None = None) -> ScalarSelect[Any]:
    claimed = journey_chunk.alias("claimed")  # never the row of a statement that updates the chunk itself
    rows = select(claimed.c.id).where(claimed.c.parked_for.is_(None))
    if outcomes is not None:
        rows = rows.where(claimed.c.outcome.in_([encode(outcome) for outcome in outcomes]))
    return rows.scalar_subquery()


def probe(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """True when a row meets ``conditions`` (which correlate it to the chunk row): an ``EXISTS`` that the planner
    runs as a lookup per chunk row, as a scalar subquery cannot be hashed."""
    found = select(literal(True)).where(*conditions).limit(1).scalar_subquery()
    return func.coalesce(found, false())


def customer_matches(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Lift a predicate on ``customers`` to one on ``journey_state`` rows."""
    return probe(customers.c.id == journey_state.c.customer_id, condition)


def in_control_group() -> ColumnElement[bool]:
    """Predicate on ``journey_state`` rows whose entry was put in the control group (D1)."""
    return probe(entries.c.id == journey_state.c.entry_id, entries.c.is_control.is_(True))


def has_row_here(table: Table, node_id: str) -> ColumnElement[bool]:
    """This row's entry and customer already have a row of node ``node_id`` (the chunk's) in ``table`` (an effect
    keyed by entry, node and customer: a message, an inbox item, a popup, a ledger row). The node is the chunk's,
    not the row's ``node_id``: a chunk that continues into a node due at once has not moved its rows there."""
    js = journey_state
    return probe(
        table.c.entry_id == js.c.entry_id,
        table.c.node_id == node_id,
        table.c.customer_id == js.c.customer_id,
    )


def left_here(node_id: str, *, reasons: Collection[str] | None = None) -> ColumnElement[bool]:
    """The trace shows this row's entry and customer leaving node ``node_id`` (the chunk's) before: with one of
    ``reasons`` (a suppression such as the control group's) or, without reasons, performed."""
    js, trace = journey_state, journey_trace
    which = trace.c.outcome == "performed" if reasons is None else trace.c.reason.in_(reasons)
    return probe(
        trace.c.customer_id == js.c.customer_id,
        trace.c.entry_id == js.c.entry_id,
        trace.c.node_id == node_id,
        which,
    )


def once_per_entry(*done: ColumnElement[bool], held_at: str | None = None) -> ColumnElement[bool]:
    """The rows a node does not perform because it acts once per entry (D15: merged branches bring an entry to a
    node twice): the node did its work for the entry already (any of ``done``), or an earlier token of the entry
    arrives with this one and is the one performed. Earlier tokens are looked for in this chunk and, for a node that
    holds its customers while it waits for an answer (``held_at``: its id), among those it holds."""
    js, twin = journey_state, journey_state.alias("twin")
    together: ColumnElement[bool] = twin.c.id.in_(_claimed())
    if held_at is not None:
        together = or_(together, twin.c.node_id == held_at)
    earlier_twin = exists().where(
        together,
        twin.c.entry_id == js.c.entry_id,
        twin.c.customer_id == js.c.customer_id,
        twin.c.id < js.c.id,
    )
    return or_(*done, earlier_twin)
