"""Compile a condition tree to one SQL boolean expression over ``customers`` (bound parameters only)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, String, and_, exists, false, func, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement as Col

from tidings.model.conditions import (
    CUSTOMER_FIELDS,
    AllOf,
    AnyOf,
    Condition,
    FieldCondition,
    Not,
    SubscriptionCondition,
)
from tidings.store.tables import category_subscriptions, channel_subscriptions, customers, mailing_categories


class ConditionCompiler:
    """Turns conditions into SQL. ``now`` and the account time zone come in as arguments (time is injected)."""

    def __init__(self, now: datetime, timezone: str) -> None:
        self.now = now
        self.timezone = timezone

    def compile(self, condition: Condition) -> ColumnElement[bool]:
        if isinstance(condition, AllOf):
            return and_(true(), *(self.compile(child) for child in condition.all))
        if isinstance(condition, AnyOf):
            return or_(false(), *(self.compile(child) for child in condition.any))
        if isinstance(condition, Not):
            # NOT NULL is NULL: coalesce so that `not X` is the exact complement of X
            return not_(func.coalesce(self.compile(condition.not_), false()))
        if isinstance(condition, FieldCondition):
            return self._field(condition)
        if isinstance(condition, SubscriptionCondition):
            return self._subscription(condition)
        raise TypeError(f"no compiler for condition {type(condition).__name__}")

    # -- customer fields -------------------------------------------------------------------------------
    def _field(self, cond: FieldCondition) -> ColumnElement[bool]:
        column = customers.c[cond.field]
        kind = CUSTOMER_FIELDS[cond.field]
        if cond.op == "empty":
            return column.is_(None) | (column == "") if kind == "text" else column.is_(None)
        if cond.op == "not_empty":
            return column.is_not(None) & (column != "") if kind == "text" else column.is_not(None)
        if kind == "text":
            return _TEXT[cond.op](column, cond.value)
        if kind == "number":
            return _NUMBER[cond.op](column, cond.value)
        if kind == "boolean":
            return column.is_(True) if cond.op == "is_true" else column.is_not(True)
        return self._temporal(column, kind == "datetime", cond.op, cond.value)

    def _temporal(self, column: Col[Any], is_instant: bool, op: str, value: Any) -> ColumnElement[bool]:
        today = self._today()
        if op == "in_last_days":
            low, high = today - timedelta(days=value), today
            return self._between_days(column, is_instant, low, high)
        if op == "days_ago":
            day = today - timedelta(days=value)
            return self._between_days(column, is_instant, day, day)
        if op == "day_and_month_today":
            return func.substr(func.cast(column, String()), 6, 5) == today.strftime("%m-%d")
        if op == "between":
            low, high = value
            return (column >= low) & (column <= high) if is_instant else column.between(low, high)
        comparisons: dict[str, ColumnElement[bool]] = {
            "on": column == value,
            "before": column < value,
            "after": column > value,
        }
        return comparisons[op]

    def _between_days(self, column: Col[Any], is_instant: bool, low: date, high: date) -> ColumnElement[bool]:
        if not is_instant:
            return column.between(low, high)
        return (column >= self._start_of(low)) & (column < self._start_of(high + timedelta(days=1)))

    def _today(self) -> date:
        return self.now.astimezone(ZoneInfo(self.timezone)).date()

    def _start_of(self, day: date) -> datetime:
        return datetime.combine(day, time(), ZoneInfo(self.timezone)).astimezone(UTC)

    # -- subscriptions ---------------------------------------------------------------------------------
    def _subscription(self, cond: SubscriptionCondition) -> ColumnElement[bool]:
        target = cond.subscription
        if target.category is None:
            opted_out = exists().where(
                channel_subscriptions.c.customer_id == customers.c.id,
                channel_subscriptions.c.channel == target.channel,
                channel_subscriptions.c.status == "N",
            )
            subscribed: ColumnElement[bool] = not_(opted_out)
        else:
            subscribed = exists().where(
                category_subscriptions.c.customer_id == customers.c.id,
                category_subscriptions.c.channel == target.channel,
                category_subscriptions.c.status == "Y",
                category_subscriptions.c.category_id
                == select(mailing_categories.c.id)
                .where(mailing_categories.c.code == target.category)
                .scalar_subquery(),
            )
        return subscribed if cond.op == "subscribed" else not_(subscribed)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_TEXT: dict[str, Callable[[Col[Any], Any], ColumnElement[bool]]] = {
    "equals": lambda c, v: c == v,
    "not_equals": lambda c, v: (c != v) | c.is_(None),
    "contains": lambda c, v: c.like(f"%{_like_escape(v)}%", escape="\\"),
    "starts_with": lambda c, v: c.like(f"{_like_escape(v)}%", escape="\\"),
    "in": lambda c, v: c.in_(v),
}

_NUMBER: dict[str, Callable[[Col[Any], Any], ColumnElement[bool]]] = {
    "eq": lambda c, v: c == v,
    "ne": lambda c, v: (c != v) | c.is_(None),
    "lt": lambda c, v: c < v,
    "lte": lambda c, v: c <= v,
    "gt": lambda c, v: c > v,
    "gte": lambda c, v: c >= v,
    "between": lambda c, v: c.between(v[0], v[1]),
}
