"""Wall-clock times in a time zone, mapped to instants. DST gaps resolve to the next valid instant (D16)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def resolve_local(local: datetime) -> datetime:
    """The instant of an aware local time; a time skipped by a spring-forward gap becomes the gap's end."""
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    if back.replace(tzinfo=None) != local.replace(tzinfo=None):
        return back.replace(minute=0, second=0, microsecond=0)
    return local


def local_instant(day: date, at: time, timezone: str) -> datetime:
    """``day`` at ``at`` o'clock in ``timezone``, as UTC."""
    return resolve_local(datetime.combine(day, at, ZoneInfo(timezone))).astimezone(UTC)
