"""Memberships, order aggregates, events, messages and campaign participation, in SQL.

Every condition here is a correlated subquery on an indexed column (``customer_id`` leads each index):
counts become ``EXISTS`` probes ("at least k" = a k-th matching row exists), so no count is ever larger
than the threshold it is compared with, and PostgreSQL turns the plain ``EXISTS`` into a semi-join.

Meanings (the reference evaluator in ``tests/segments/reference.py`` states the same rules in Python):

* orders — the customer's orders / receipts of the kind, status, store and period (``placed_at``); with a
  product or category, only orders having such a line, and sum / average add up those lines' amounts
  instead of the order totals. count and sum of no orders are 0; average, first and last date are unknown.
* events — events of the name whose properties all hold, in the period (``occurred_at``). Days since the
  last one count account days: an event today is 0 days ago.
* messages — received = delivered, or for e-mail sent (a provider that reports no delivery); opened;
  clicked. The period applies to that moment (received: delivery time, else the e-mail's send time).
* campaigns — an entry (``entries.entered_at`` in the period), whatever became of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.sql.selectable import Select

from tidings.model.conditions import (
    AudienceCondition,
    CampaignCondition,
    EventCondition,
    MessageCondition,
    OrdersCondition,
    SegmentCondition,
)
from tidings.segments.conditions_fields import NUMBER_OPS
from tidings.segments.event_properties import property_holds
from tidings.store.tables import (
    audience_members,
    customers,
    entries,
    events,
    messages,
    order_lines,
    orders,
    segment_members,
)
from tidings.store.types import Timestamp

if TYPE_CHECKING:
    from tidings.segments.compiler import ConditionCompiler


def at_least(count: int, rows: Select[Any]) -> ColumnElement[bool]:
    """Whether ``rows`` has at least ``count`` rows: the ``count``-th one exists."""
    if count <= 0:
        return true()
    if count == 1:
        return rows.exists()
    return rows.offset(count - 1).limit(1).exists()


def compare_count(rows: Select[Any], op: str, value: Any) -> ColumnElement[bool]:
    """A number operator on how many rows ``rows`` has, as "at least k" probes."""

    def fewer_than(count: int) -> ColumnElement[bool]:
        return not_(at_least(count, rows)) if count > 0 else false()

    if op == "gte":
        return at_least(math.ceil(value), rows)
    if op == "gt":
        return at_least(math.floor(value) + 1, rows)
    if op == "lte":
        return fewer_than(math.floor(value) + 1)
    if op == "lt":
        return fewer_than(math.ceil(value))
    if op == "between":
        low, high = value
        return and_(at_least(math.ceil(low), rows), fewer_than(math.floor(high) + 1))
    exactly = and_(at_least(int(value), rows), fewer_than(int(value) + 1)) if float(value).is_integer() else false()
    if op == "eq":
        return exactly
    if op == "ne":
        return not_(exactly)
    raise ValueError(f"no count operator {op!r}")


# -- memberships -----------------------------------------------------------------------------------------
def compile_audience(compiler: ConditionCompiler, cond: AudienceCondition) -> ColumnElement[bool]:
    member = exists().where(
        audience_members.c.customer_id == customers.c.id, audience_members.c.audience_id == cond.audience
    )
    return member if cond.op == "member" else not_(member)


def compile_segment(compiler: ConditionCompiler, cond: SegmentCondition) -> ColumnElement[bool]:
    member = exists().where(
        segment_members.c.customer_id == customers.c.id, segment_members.c.segment_id == cond.segment
    )
    return member if cond.op == "member" else not_(member)


# -- orders ----------------------------------------------------------------------------------------------
def compile_orders(compiler: ConditionCompiler, cond: OrdersCondition) -> ColumnElement[bool]:
    spec = cond.orders
    where: list[ColumnElement[bool]] = [
        orders.c.customer_id == customers.c.id,
        compiler.within(orders.c.placed_at, spec.period),
    ]
    if spec.kind != "any":
        where.append(orders.c.kind == spec.kind)
    if spec.status is not None:
        where.append(orders.c.status == spec.status)
    if spec.store is not None:
        where.append(orders.c.store_code == spec.store)
    lines: list[ColumnElement[bool]] = [order_lines.c.order_id == orders.c.id]
    if spec.product is not None:
        lines.append(order_lines.c.sku == spec.product)
    if spec.category is not None:
        lines.append(order_lines.c.category_code == spec.category)
    by_line = len(lines) > 1
    matching = [*where, exists().where(*lines)] if by_line else where

    metric = spec.metric
    if metric == "count":
        return compare_count(select(literal(1)).select_from(orders).where(*matching), cond.op, cond.value)
    if metric in ("first_date", "last_date"):
        if cond.op in ("empty", "not_empty"):
            found = exists().where(*matching)
            return found if cond.op == "not_empty" else not_(found)
        extreme = func.min(orders.c.placed_at) if metric == "first_date" else func.max(orders.c.placed_at)
        moment = type_coerce(select(extreme).where(*matching).scalar_subquery(), Timestamp)
        return compiler.instant_op(moment, cond.op, cond.value)
    # Money adds up in whole cents, so both databases sum exactly (SQLite stores NUMERIC as a double).
    if by_line:
        cents = select(func.sum(func.round(order_lines.c.amount * 100)))
        cents = cents.select_from(orders.join(order_lines, and_(*lines))).where(*where)
    else:
        cents = select(func.sum(func.round(orders.c.total * 100))).where(*where)
    if metric == "sum":
        value: ColumnElement[Any] = func.coalesce(cents.scalar_subquery(), 0) / 100.0
    else:
        count = select(func.count()).select_from(orders).where(*matching).scalar_subquery()
        value = cents.scalar_subquery() / (cast(func.nullif(count, 0), Float) * 100.0)
    number = type_coerce(value, Float)
    if cond.op == "empty":
        return number.is_(None)
    if cond.op == "not_empty":
        return number.is_not(None)
    return NUMBER_OPS[cond.op](number, cond.value)


# -- events ----------------------------------------------------------------------------------------------
def compile_event(compiler: ConditionCompiler, cond: EventCondition) -> ColumnElement[bool]:
    spec = cond.event
    where: list[ColumnElement[bool]] = [
        events.c.customer_id == customers.c.id,
        events.c.name == spec.name,
        compiler.within(events.c.occurred_at, spec.period),
        *(property_holds(prop) for prop in spec.properties),
    ]
    rows = select(literal(1)).select_from(events).where(*where)
    if cond.op == "at_least":
        return at_least(cond.value, rows)
    if cond.op == "at_most":
        return not_(at_least(cond.value + 1, rows))
    today = compiler.today()
    if cond.op == "days_since_last_lte":  # the last one is on or after today - N
        since = compiler.start_of(today - timedelta(days=cond.value))
        return exists().where(*where, events.c.occurred_at >= since)
    # days_since_last_gte: there is one, and the last one is before the day after today - N
    last = type_coerce(select(func.max(events.c.occurred_at)).where(*where).scalar_subquery(), Timestamp)
    return last < compiler.start_of(today - timedelta(days=cond.value - 1))


# -- messages and campaigns ------------------------------------------------------------------------------
def message_moment(status: str) -> ColumnElement[Any]:
    """When a message reached ``status`` (NULL if it has not)."""
    if status == "opened":
        return messages.c.opened_at
    if status == "clicked":
        return messages.c.clicked_at
    return func.coalesce(messages.c.delivered_at, case((messages.c.channel == "email", messages.c.sent_at)))


def compile_message(compiler: ConditionCompiler, cond: MessageCondition) -> ColumnElement[bool]:
    spec = cond.message
    moment = type_coerce(message_moment(spec.status), Timestamp)
    where: list[ColumnElement[bool]] = [messages.c.customer_id == customers.c.id, moment.is_not(None)]
    if spec.campaign is not None:
        where.append(messages.c.campaign_id == spec.campaign)
    if spec.node is not None:
        where.append(messages.c.node_id == spec.node)
    if spec.channel is not None:
        where.append(messages.c.channel == spec.channel)
    where.append(compiler.within(moment, spec.period))
    found = exists().where(*where)
    return found if cond.op == "yes" else not_(found)


def compile_campaign(compiler: ConditionCompiler, cond: CampaignCondition) -> ColumnElement[bool]:
    target = cond.campaign
    found = exists().where(
        entries.c.campaign_id == target.id,
        entries.c.customer_id == customers.c.id,
        compiler.within(entries.c.entered_at, target.period),
    )
    return found if cond.op == "participated" else not_(found)


LEAVES: dict[type[BaseModel], Callable[[ConditionCompiler, Any], ColumnElement[bool]]] = {
    AudienceCondition: compile_audience,
    SegmentCondition: compile_segment,
    OrdersCondition: compile_orders,
    EventCondition: compile_event,
    MessageCondition: compile_message,
    CampaignCondition: compile_campaign,
}
