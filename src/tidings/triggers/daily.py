"""What the daily date triggers share: the daily fire at a launch hour, the account day a fire is for, and
dates of customers and orders as SQL.

A daily trigger fires every day at its launch hour (00:00 unless set) in the account time zone (spec 1.2, 4.1);
the day a fire is *for* is the account day of its scheduled time (``fire_at``), never the time it runs, so a fire
resumed after a crash enrols the same customers. Dates are compared as calendar days in the account time zone: an
instant (``registered_at``, ``placed_at``, a datetime custom field) is on day D when it falls in
``[D 00:00, D+1 00:00)`` there; a date (``birthday``, a date custom field) is its own day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, String, and_, case, cast, false, func, literal, or_

from tidings.core.account import AccountSettings
from tidings.core.localtime import local_instant
from tidings.store.local_dates import LocalDate

#: ``YYYY-MM-DD`` of 1970-01-01, the day ``day_number`` counts from.
_EPOCH_DAY = date(1970, 1, 1)


def next_daily_fire(after: datetime, hour: int, account: AccountSettings) -> datetime:
    """The first daily fire at ``hour`` in the account time zone strictly after ``after``."""
    day = after.astimezone(ZoneInfo(account.timezone)).date()
    while True:
        moment = local_instant(day, time(hour), account.timezone)
        if moment > after:
            return moment
        day += timedelta(days=1)


def fire_day(fire_at: datetime, account: AccountSettings) -> date:
    """The account day a fire scheduled at ``fire_at`` is for."""
    return fire_at.astimezone(ZoneInfo(account.timezone)).date()


def day_window(day: date, account: AccountSettings) -> tuple[datetime, datetime]:
    """``[day 00:00, next day 00:00)`` in the account time zone, as instants."""
    return (
        local_instant(day, time(), account.timezone),
        local_instant(day + timedelta(days=1), time(), account.timezone),
    )


@dataclass(frozen=True)
class DateOf:
    """A date of a customer or an order in SQL: ``day`` is its ``YYYY-MM-DD`` text in the account time zone (NULL
    when unknown); ``instant``, when it is an instant, lets "on day D" use a range (and an index) instead."""

    day: ColumnElement[Any]
    instant: ColumnElement[Any] | None = None

    @classmethod
    def of_instant(cls, instant: ColumnElement[Any], account: AccountSettings) -> DateOf:
        return cls(LocalDate(instant, text_of(account.timezone)), instant)

    @classmethod
    def of_date(cls, column: ColumnElement[Any]) -> DateOf:
        return cls(cast(column, String()))

    def on(self, day: date, account: AccountSettings) -> ColumnElement[bool]:
        """The date is ``day``."""
        if self.instant is not None:
            low, high = day_window(day, account)
            return and_(self.instant >= low, self.instant < high)
        return self.day == day.isoformat()


def either(*dates: ColumnElement[bool]) -> ColumnElement[bool]:
    return or_(false(), *dates)


def text_of(value: str) -> ColumnElement[str]:
    return literal(value, String())


# -- parts of a YYYY-MM-DD text, and its day number: integer arithmetic, the same on both databases -----------
def year_of(day: ColumnElement[Any]) -> ColumnElement[int]:
    return cast(func.substr(day, 1, 4), Integer)


def month_of(day: ColumnElement[Any]) -> ColumnElement[int]:
    return cast(func.substr(day, 6, 2), Integer)


def day_of(day: ColumnElement[Any]) -> ColumnElement[int]:
    return cast(func.substr(day, 9, 2), Integer)


def day_number(day: ColumnElement[Any]) -> ColumnElement[int]:
    """Days since 1970-01-01 of a ``YYYY-MM-DD`` text (days-from-civil), as ``date_number`` counts them."""
    year, month, dom = year_of(day), month_of(day), day_of(day)
    early = case((month <= 2, 1), else_=0)  # January and February count with the year before
    shifted = year - early + 400  # + 400: every division on positive numbers
    era = shifted // 400
    year_of_era = shifted - era * 400
    march_based = month + 12 * early - 3
    day_of_year = (153 * march_based + 2) // 5 + dom - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return (era - 1) * 146097 + day_of_era - 719468


def date_number(day: date) -> int:
    """Days since 1970-01-01 of ``day``."""
    return (day - _EPOCH_DAY).days


# -- recurring days: the anniversaries of a date -----------------------------------------------------------
def _last_of_month(day: date) -> bool:
    return (day + timedelta(days=1)).month != day.month


def yearly_on(text: ColumnElement[Any], day: date, every: int = 1) -> ColumnElement[bool]:
    """``day`` is an anniversary of the date ``text`` (``YYYY-MM-DD``): the same day and month, ``every`` years
    apart (a whole number of times, at least once). 29 February counts on 28 February in the years without one."""
    month_day = func.substr(text, 6, 5)
    same_day = month_day == day.strftime("%m-%d")
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        same_day = or_(same_day, month_day == "02-29")
    years = day.year - year_of(text)
    return and_(same_day, years > 0, years % every == 0)


def monthly_on(text: ColumnElement[Any], day: date, every: int = 1) -> ColumnElement[bool]:
    """``day`` is a monthly anniversary of ``text``, ``every`` months apart: the same day of the month; a day the
    month lacks (the 29th to 31st) counts on its last day."""
    dom = day_of(text)
    same_day = dom == day.day
    if _last_of_month(day):
        same_day = or_(same_day, dom > day.day)
    months = (day.year * 12 + day.month) - (year_of(text) * 12 + month_of(text))
    return and_(same_day, months > 0, months % every == 0)


def every_days_on(text: ColumnElement[Any], day: date, every: int) -> ColumnElement[bool]:
    """``day`` is a whole number of ``every`` days (at least once) after ``text``."""
    days = date_number(day) - day_number(text)
    return and_(days > 0, days % every == 0)
