"""The one back-off rule, shared by message delivery and loyalty requests (``core.retry``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tidings.core.retry import RetryPolicy, retry_after_seconds

POLICY = RetryPolicy(max_attempts=5, base=timedelta(seconds=60), cap=timedelta(seconds=600))


def test_the_wait_doubles_from_the_base_up_to_the_cap() -> None:
    assert [POLICY.delay(n) for n in (1, 2, 3, 4, 5, 50, 10_000)] == [
        timedelta(seconds=s) for s in (60, 120, 240, 480, 600, 600, 600)
    ]


def test_the_servers_retry_after_is_the_wait_whether_shorter_or_longer_than_the_back_off() -> None:
    assert POLICY.delay(3, 5.0) == timedelta(seconds=5)  # the back-off would be 240 s: the server is ready sooner
    assert POLICY.delay(3, 0.0) == timedelta(0)
    assert POLICY.delay(1, 300.0) == timedelta(seconds=300)  # the back-off would be 60 s: never before it asked


def test_a_retry_after_beyond_the_cap_waits_the_cap() -> None:
    assert POLICY.delay(1, 10_000.0) == timedelta(seconds=600)
    assert POLICY.delay(1, 1e300) == timedelta(seconds=600)  # no overflow


def test_a_call_is_given_up_after_max_attempts() -> None:
    assert [POLICY.exhausted(n) for n in (1, 4, 5, 6)] == [False, False, True, True]


WALL = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        ("2.5", 2.5),
        ("-3", 0.0),  # never negative
        ("soon", None),
        ("inf", None),
        ("nan", None),
        ("Mon, 05 Jan 2026 10:02:00 GMT", 120.0),  # an HTTP date, read against the wall clock
        ("Mon, 05 Jan 2026 09:00:00 GMT", 0.0),  # already past
        ("Mon, 05 Jan 2026 10:02:00 -0000", None),  # no zone: unreadable as a moment
    ],
)
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, WALL) == seconds
