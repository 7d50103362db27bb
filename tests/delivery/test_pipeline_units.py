"""The pieces of the pipeline that need no database: delivery windows, the rate limit, and the outbox that hands
messages to providers (the back-off is ``core.retry``'s, tested in ``tests/core``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tidings.core.windows import Window, zone_of
from tidings.delivery.channels.sms import OutboundSms
from tidings.delivery.providers import Outbox, SendResult, in_parallel
from tidings.delivery.rate_limit import RateLimit


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("window", "at", "opens"),
    [
        (Window(540, 1260), utc(5, 10), utc(5, 10)),  # open: at once
        (Window(540, 1260), utc(5, 8, 59), utc(5, 9)),  # before: today
        (Window(540, 1260), utc(5, 21), utc(6, 9)),  # the end is exclusive: tomorrow
        (Window(540, 1260), utc(5, 23, 30), utc(6, 9)),
        (Window(1320, 360), utc(5, 23), utc(5, 23)),  # 22:00–06:00 spans midnight: open
        (Window(1320, 360), utc(5, 3), utc(5, 3)),
        (Window(1320, 360), utc(5, 12), utc(5, 22)),  # closed at noon: tonight
        (Window(0, 0), utc(5, 3), utc(5, 3)),  # start == end: always open
    ],
)
def test_window_openings(window: Window, at: datetime, opens: datetime) -> None:
    assert window.opening(at, "UTC") == opens


def test_window_opening_in_the_recipients_zone_and_across_dst() -> None:
    window = Window(540, 1260)
    assert window.opening(utc(5, 23), "Asia/Tokyo") == utc(6, 0)  # 08:00 in Tokyo → 09:00 there, 00:00 UTC
    assert window.opening(utc(6, 1), "Asia/Tokyo") == utc(6, 1)  # 10:00 in Tokyo: open
    # New York falls back on 2026-11-01: 09:00 EST is 14:00 UTC (13:00 UTC the day before, in EDT)
    assert window.opening(datetime(2026, 11, 1, 3, tzinfo=UTC), "America/New_York") == datetime(
        2026, 11, 1, 14, tzinfo=UTC
    )
    # a window opening at 02:30 on the night New York springs forward (2026-03-08, 02:00 → 03:00): 03:00 EDT
    assert Window(150, 1260).opening(datetime(2026, 3, 8, 6, tzinfo=UTC), "America/New_York") == datetime(
        2026, 3, 8, 7, tzinfo=UTC
    )


def test_zone_of_falls_back_to_the_account_zone() -> None:
    assert zone_of("Europe/Riga", "UTC") == "Europe/Riga"
    assert zone_of(None, "Europe/Oslo") == zone_of("", "Europe/Oslo") == zone_of("Mars/Base", "Europe/Oslo")
    assert zone_of("Mars/Base", "Europe/Oslo") == "Europe/Oslo"


def test_rate_limit_is_a_token_bucket_of_one_second() -> None:
    clock = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        clock[0] += seconds

    limit = RateLimit(4, monotonic=lambda: clock[0], sleep=sleep)

    async def take(n: int) -> None:
        for _ in range(n):
            await limit.acquire()

    asyncio.run(take(6))
    assert slept == [0.25, 0.25]  # a burst of four, then one every quarter second
    clock[0] += 10  # idle: the bucket refills to one second's worth, no more
    slept.clear()
    asyncio.run(take(5))
    assert slept == [0.25]


def test_no_rate_limit_never_waits_and_a_negative_one_is_refused() -> None:
    async def never(seconds: float) -> None:
        raise AssertionError("slept")

    limit = RateLimit(0, sleep=never)
    asyncio.run(limit.acquire())
    with pytest.raises(ValueError, match="0 = unlimited"):
        RateLimit(-1)


def sms(n: int) -> OutboundSms:
    return OutboundSms(n, f"k{n}", f"+3712000000{n}", "Shop", "Hi")


def test_in_parallel_takes_no_message_before_the_results_ahead_of_it_were_handed_on() -> None:
    """With concurrency 2, the third message is taken only after the first result was consumed."""
    events: list[str] = []

    async def take(message: OutboundSms) -> bool:
        events.append(f"take {message.message_id}")
        return message.message_id != 4  # message 4 was taken over by another worker: skipped

    async def send_one(message: OutboundSms) -> SendResult:
        await asyncio.sleep(0.01 * message.message_id)
        if message.message_id == 2:
            raise RuntimeError("connection reset")
        return SendResult(message.message_id, True)

    async def run() -> list[SendResult]:
        outbox = Outbox([sms(i) for i in range(1, 6)], utc(5, 10), take=take)
        results = []
        async for result in in_parallel(outbox, 2, send_one):
            events.append(f"result {result.message_id}")
            results.append(result)
        return results

    results = asyncio.run(run())
    assert sorted((r.message_id, r.ok, r.transient) for r in results) == [
        (1, True, False),
        (2, False, True),  # an exception escaping a send is a transient result: retried under the same key
        (3, True, False),
        (5, True, False),
    ]
    assert events.index("take 3") > events.index("result 1")
    assert events[:2] == ["take 1", "take 2"]
