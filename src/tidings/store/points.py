"""Statements on the internal points ledger (D10) and the balance kept beside it in ``customers.points_balance``.

Every credit or debit is one ``points_ledger`` row; a row written by a campaign is unique per (entry, node,
customer), so a replayed chunk or a repeated loyalty request never counts twice. The balance is updated in the
same transaction as the rows, set-at-a-time, after the customers concerned were locked in id order: two writers
touching the same customers wait for each other (PostgreSQL row locks; SQLite's ``BEGIN IMMEDIATE`` already
serialises writers), so the check "is there a row already?" made after the lock is exact.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Numeric,
    Select,
    Update,
    bindparam,
    func,
    literal,
    select,
    update,
)

from tidings.core.dialect import Dialect
from tidings.store.tables import customers, journey_state, points_ledger

js = journey_state
LEDGER_KEY = ["entry_id", "node_id", "customer_id"]
_AMOUNT = Numeric(18, 2)


def amount_literal(amount: Decimal) -> Any:
    return literal(amount, _AMOUNT)


def lock_customers(customer_ids: Select[Any]) -> Select[Any]:
    """Lock the customers ``customer_ids`` (one column) selects, in id order, for this transaction."""
    return (
        select(customers.c.id)
        .where(customers.c.id.in_(customer_ids.scalar_subquery()))
        .order_by(customers.c.id)
        .with_for_update()
    )


def lock_customers_by_id(customer_ids: Collection[int]) -> Select[Any]:
    """Lock the given customers (those that exist), in id order, for this transaction."""
    return lock_customers(select(customers.c.id).where(customers.c.id.in_(customer_ids)))


def chunk_customers(member: ColumnElement[bool]) -> Select[Any]:
    return select(js.c.customer_id).where(member)


# -- a campaign node's award (award_points) ------------------------------------------------------------------
def balance_below(amount: Decimal) -> ColumnElement[bool]:
    """Predicate on ``customers``: adding ``amount`` (negative) would take the balance below zero."""
    below: ColumnElement[bool] = customers.c.points_balance + amount_literal(amount) < 0
    return below


def add_to_chunk_balances(*, rows: ColumnElement[bool], amount: Decimal) -> Update:
    """Add ``amount`` to the balance of every customer of the chunk's ``journey_state`` rows that ``rows`` holds
    for, e.g. ``Batch.performed()`` (at most one row per customer: a chunk is one node of one campaign and a
    customer has one active entry in it)."""
    leaving = select(js.c.customer_id).where(rows)
    return (
        update(customers)
        .where(customers.c.id.in_(leaving.scalar_subquery()))
        .values(points_balance=customers.c.points_balance + amount_literal(amount))
    )


def ledger_rows_from_chunk(
    dialect: Dialect,
    *,
    node_id: str,
    rows: ColumnElement[bool],
    amount: Decimal,
    reason: str | None,
    now: datetime,
) -> Insert:
    """One ledger row of node ``node_id`` (the chunk's) per ``journey_state`` row that ``rows`` holds for."""
    entries = select(
        js.c.customer_id,
        amount_literal(amount),
        literal(reason, points_ledger.c.reason.type),
        js.c.campaign_id,
        js.c.entry_id,
        literal(node_id),
        literal(now, points_ledger.c.created_at.type),
    ).where(rows)
    columns = ["customer_id", "amount", "reason", "campaign_id", "entry_id", "node_id", "created_at"]
    return dialect.insert_ignoring_conflicts(points_ledger, LEDGER_KEY).from_select(columns, entries)


# -- rows given by value (loyalty requests credited by the built-in adapter, the points API) ------------------
def insert_ledger_rows(dialect: Dialect) -> Insert:
    """Executed with many rows: customer_id, amount, reason, campaign_id, entry_id, node_id, created_at,
    expires_at. A row whose (entry, node, customer) exists already is skipped; returns the new rows' ids."""
    return dialect.insert_ignoring_conflicts(points_ledger, LEDGER_KEY).returning(points_ledger.c.id)


def add_ledger_rows_to_balances(ledger_ids: list[int]) -> Update:
    """Add the amounts of the given ledger rows to their customers' balances, in one statement."""
    ids: Any = bindparam("ledger_ids", ledger_ids, expanding=True)
    total = (
        select(func.coalesce(func.sum(points_ledger.c.amount), 0))
        .where(points_ledger.c.id.in_(ids), points_ledger.c.customer_id == customers.c.id)
        .scalar_subquery()
    )
    owners = select(points_ledger.c.customer_id).where(points_ledger.c.id.in_(ids))
    return (
        update(customers)
        .where(customers.c.id.in_(owners.scalar_subquery()))
        .values(points_balance=customers.c.points_balance + total)
    )


# -- reading -------------------------------------------------------------------------------------------------
def balance_of(customer_id: int) -> Select[Any]:
    return select(customers.c.points_balance).where(customers.c.id == customer_id)


def ledger_of(customer_id: int, *, limit: int, offset: int) -> Select[Any]:
    return (
        select(points_ledger)
        .where(points_ledger.c.customer_id == customer_id)
        .order_by(points_ledger.c.created_at.desc(), points_ledger.c.id.desc())
        .limit(limit)
        .offset(offset)
    )


def count_ledger_of(customer_id: int) -> Select[Any]:
    return select(func.count()).select_from(points_ledger).where(points_ledger.c.customer_id == customer_id)
