"""Local wall-clock times to instants (D16): DST gaps resolve to the next valid instant, overlaps to the first."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tidings.core.localtime import local_instant, resolve_local

RIGA = ZoneInfo("Europe/Riga")


@pytest.mark.parametrize("minute", [0, 1, 30, 59])
def test_a_time_in_the_spring_forward_gap_becomes_the_end_of_the_gap(minute: int) -> None:
    # Riga, 2026-03-29: 03:00 EET (UTC+2) jumps to 04:00 EEST (UTC+3) at 01:00 UTC; 03:xx never happens.
    resolved = resolve_local(datetime(2026, 3, 29, 3, minute, tzinfo=RIGA))
    assert resolved.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert resolved.astimezone(RIGA).replace(tzinfo=None) == datetime(2026, 3, 29, 4, 0)


def test_times_next_to_the_gap_are_kept() -> None:
    before = resolve_local(datetime(2026, 3, 29, 2, 59, tzinfo=RIGA))
    after = resolve_local(datetime(2026, 3, 29, 4, 0, tzinfo=RIGA))
    assert before.astimezone(UTC) == datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    assert after.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_a_time_in_the_autumn_overlap_is_its_first_occurrence() -> None:
    # Riga, 2026-10-25: 04:00 EEST (UTC+3) falls back to 03:00 EET (UTC+2) at 01:00 UTC; 03:xx happens twice.
    resolved = resolve_local(datetime(2026, 10, 25, 3, 30, tzinfo=RIGA))
    assert resolved.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # the second occurrence, asked for explicitly, is kept
    second = resolve_local(datetime(2026, 10, 25, 3, 30, fold=1, tzinfo=RIGA))
    assert second.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_local_instant_on_dst_days() -> None:
    assert local_instant(date(2026, 3, 30), time(0, 0), "Europe/Riga") == datetime(2026, 3, 29, 21, 0, tzinfo=UTC)
    assert local_instant(date(2026, 3, 29), time(0, 0), "Europe/Riga") == datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    assert local_instant(date(2026, 3, 29), time(3, 0), "Europe/Riga") == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert local_instant(date(2026, 10, 25), time(3, 0), "Europe/Riga") == datetime(2026, 10, 25, 0, 0, tzinfo=UTC)
    assert local_instant(date(2026, 3, 8), time(2, 30), "America/New_York") == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_a_half_hour_gap_resolves_to_its_end() -> None:
    # Lord Howe Island moves its clocks by 30 minutes: on 2026-10-04, 02:00 (UTC+10:30) becomes 02:30 (UTC+11).
    zone = ZoneInfo("Australia/Lord_Howe")
    transition = datetime(2026, 10, 3, 15, 30, tzinfo=UTC)
    assert (transition - timedelta(microseconds=1)).astimezone(zone).utcoffset() == timedelta(hours=10, minutes=30)
    assert transition.astimezone(zone).utcoffset() == timedelta(hours=11)
    resolved = resolve_local(datetime(2026, 10, 4, 2, 15, tzinfo=zone))
    assert resolved.astimezone(UTC) == transition
