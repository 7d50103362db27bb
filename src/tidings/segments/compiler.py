"""Compile a condition tree to one SQL boolean expression over ``customers`` (bound parameters only).

The tree's inner nodes are compiled here; each leaf kind has a compiling function registered in ``LEAVES``
(customer fields and subscriptions in ``conditions_fields``; memberships, orders, events, messages and
campaign participation in ``conditions_activity``). Aggregates are correlated ``EXISTS`` or scalar
subqueries on indexed columns, so the same expression filters a chunk of a campaign or the whole base.

Time is injected: every "today", "last N days" and "N days ago" is the account day of ``now`` in the account
time zone, and every window is a pair of instants computed here and bound as parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import ColumnElement, String, and_, false, func, not_, or_, true

from tidings.model.conditions import AllOf, AnyOf, Condition, Not, Period

Leaf = Callable[["ConditionCompiler", Any], ColumnElement[bool]]

#: How each leaf kind compiles, filled in by the ``conditions_*`` modules.
LEAVES: dict[type[BaseModel], Leaf] = {}


class ConditionCompiler:
    """Turns conditions into SQL. ``now`` and the account time zone come in as arguments (time is injected)."""

    def __init__(self, now: datetime, timezone: str) -> None:
        self.now = now
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)

    def compile(self, condition: Condition) -> ColumnElement[bool]:
        if isinstance(condition, AllOf):
            return and_(true(), *(self.compile(child) for child in condition.all))
        if isinstance(condition, AnyOf):
            return or_(false(), *(self.compile(child) for child in condition.any))
        if isinstance(condition, Not):
            return self.negate(self.compile(condition.not_))
        leaf = LEAVES.get(type(condition))
        if leaf is None:
            raise TypeError(f"no compiler for condition {type(condition).__name__}")
        return leaf(self, condition)

    @staticmethod
    def negate(condition: ColumnElement[bool]) -> ColumnElement[bool]:
        # NOT NULL is NULL: coalesce so that `not X` is the exact complement of X
        return not_(func.coalesce(condition, false()))

    # -- account days ----------------------------------------------------------------------------------
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def start_of(self, day: date) -> datetime:
        """The instant an account day begins (DST-safe: midnight that does not exist moves forward)."""
        return datetime.combine(day, time(), self.zone).astimezone(UTC)

    def days_window(self, first: date, last: date) -> tuple[datetime, datetime]:
        """``[start of first, start of the day after last)``."""
        return self.start_of(first), self.start_of(last + timedelta(days=1))

    def period_window(self, period: Period) -> tuple[datetime, datetime]:
        if period.last_days is not None:
            return self.days_window(self.today() - timedelta(days=period.last_days), self.today())
        assert period.between is not None
        return self.days_window(period.between[0], period.between[1])

    def within(self, instant: ColumnElement[Any], period: Period | None) -> ColumnElement[bool]:
        if period is None:
            return true()
        low, high = self.period_window(period)
        return and_(instant >= low, instant < high)

    # -- comparisons shared by fields and aggregates ---------------------------------------------------
    def instant_op(self, instant: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
        """A date-time operator on an instant (a ``Timestamp``-typed expression). A date value means that
        whole account day: before D = before D starts, after D = from the day after D."""
        today = self.today()
        if op == "empty":
            return instant.is_(None)
        if op == "not_empty":
            return instant.is_not(None)
        if op == "in_last_days":
            low, high = self.days_window(today - timedelta(days=value), today)
        elif op == "days_ago":
            low, high = self.days_window(today - timedelta(days=value), today - timedelta(days=value))
        elif op == "before":
            return instant < (value if isinstance(value, datetime) else self.start_of(value))
        elif op == "after":
            if isinstance(value, datetime):
                return instant > value
            return instant >= self.start_of(value + timedelta(days=1))
        elif op == "between":
            first, last = value
            if isinstance(first, datetime):
                return and_(instant >= first, instant <= last)
            low, high = self.days_window(first, last)
        else:
            raise ValueError(f"no date-time operator {op!r}")
        return and_(instant >= low, instant < high)

    def date_op(
        self, day: ColumnElement[Any], op: str, value: Any, bind: Callable[[date], date | str] = lambda d: d
    ) -> ColumnElement[bool]:
        """A date operator on a calendar date (a ``Date`` column, or ISO ``YYYY-MM-DD`` text with ``bind``
        turning dates into the same text)."""
        today = self.today()
        if op == "empty":
            return day.is_(None)
        if op == "not_empty":
            return day.is_not(None)
        if op == "in_last_days":
            return day.between(bind(today - timedelta(days=value)), bind(today))
        if op == "days_ago":
            return day == bind(today - timedelta(days=value))
        if op == "day_and_month_today":
            return func.substr(func.cast(day, String()), 6, 5) == today.strftime("%m-%d")
        if op == "between":
            return day.between(bind(value[0]), bind(value[1]))
        bound = bind(value)
        if op == "on":
            return day == bound
        return day < bound if op == "before" else day > bound


def _register() -> None:
    from tidings.segments import conditions_activity, conditions_fields

    LEAVES.update(conditions_fields.LEAVES)
    LEAVES.update(conditions_activity.LEAVES)


_register()
