"""Delivery windows (D16): SMS, Viber and push go out only while the account's daily window (default
09:00–21:00) is open in the recipient's local time — the customer's time zone, else the account's.

A message created outside the window gets ``send_after`` = the next opening. Openings are computed in Python
per distinct time zone (a batch has few) and written by one ``CASE`` on the customer's time zone, so a chunk
of any size is still a handful of statements. An opening that falls into a daylight-saving gap resolves to
the next valid instant (``core.localtime``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, case, literal
from sqlalchemy.types import TypeEngine

from tidings.core.account import AccountSettings
from tidings.core.localtime import local_instant

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Window:
    """Minutes after local midnight: open from ``start`` (inclusive) to ``end`` (exclusive). ``start > end``
    spans midnight; ``start == end`` is always open."""

    start: int
    end: int

    @classmethod
    def of(cls, account: AccountSettings) -> Window:
        return cls(account.delivery_window_start % MINUTES_PER_DAY, account.delivery_window_end)

    def is_open_at(self, minute: int) -> bool:
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def opening(self, instant: datetime, timezone: str) -> datetime:
        """``instant`` itself when the window is open then in ``timezone``, else the moment it next opens."""
        local = instant.astimezone(ZoneInfo(timezone))
        minute = local.hour * 60 + local.minute
        if self.is_open_at(minute):
            return instant
        day = local.date() if minute < self.start else local.date() + timedelta(days=1)
        opens = local_instant(day, time(self.start // 60, self.start % 60), timezone)
        return max(opens, instant)


@functools.lru_cache(maxsize=1024)
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_of(customer_zone: str | None, account_zone: str) -> str:
    """The time zone a customer's local time is read in: their own when it is a known zone, else the account's."""
    return customer_zone if customer_zone and _known_zone(customer_zone) else account_zone


def openings_by_zone(
    zone_column: ColumnElement[Any],
    timestamp: TypeEngine[Any],
    zones: Iterable[str | None],
    window: Window,
    account: AccountSettings,
    instant: datetime,
    offset: timedelta,
) -> ColumnElement[Any]:
    """A SQL expression (of type ``timestamp``) over the customers' time-zone column: the window's next opening at
    or after ``instant`` in each customer's time zone, plus ``offset``. ``zones`` are the customers' distinct time
    zones; any other value (and NULL) reads the account's zone."""
    fallback = window.opening(instant, account.timezone) + offset
    whens = {
        zone: literal(window.opening(instant, zone_of(zone, account.timezone)) + offset, timestamp)
        for zone in zones
        if zone is not None
    }
    if not whens:
        return literal(fallback, timestamp)
    return case(whens, value=zone_column, else_=literal(fallback, timestamp))
