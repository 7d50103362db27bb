"""Predicates on the ``journey_state`` rows of a chunk, read the same way by every action."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists

from tidings.store.tables import customers, entries, journey_state


def chunk_member(claim_id: str) -> ColumnElement[bool]:
    """The rows of the chunk claimed under ``claim_id``."""
    return journey_state.c.claim_id == claim_id


def customer_matches(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Lift a predicate on ``customers`` to one on ``journey_state`` rows."""
    return exists().where(customers.c.id == journey_state.c.customer_id, condition)


def in_control_group() -> ColumnElement[bool]:
    """Predicate on ``journey_state`` rows whose entry was put in the control group (D1)."""
    return exists().where(entries.c.id == journey_state.c.entry_id, entries.c.is_control.is_(True))
