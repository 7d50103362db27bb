"""When to try a call again after a transient failure: one rule for message delivery and loyalty requests.

The wait doubles from ``base`` at each attempt (``base × 2^(attempt − 1)``), unless the server said how long to
wait (``Retry-After``): then it is exactly that — the server knows when it will take the call again; a guess of
ours would only come back too early (and be refused again) or later than needed (holding a message or a
customer for nothing). Either way the wait is at most ``cap``; a caller with a deadline of its own (a message's
lifetime) gives up when the next attempt would come after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base: timedelta
    cap: timedelta

    def exhausted(self, attempts: int) -> bool:
        """Whether a call that has failed ``attempts`` times is given up rather than tried again."""
        return attempts >= self.max_attempts

    def delay(self, attempt: int, retry_after: float | None = None) -> timedelta:
        """The wait after the ``attempt``-th (1-based) failed attempt; ``retry_after`` in seconds, when the server
        sent one."""
        if retry_after is not None:
            return timedelta(seconds=min(retry_after, self.cap.total_seconds()))
        return min(self.base * (1 << min(max(0, attempt - 1), 30)), self.cap)


def retry_after_seconds(header: str | None, wall_now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds, or an HTTP date read against ``wall_now``: the
    server's time is real time); None when absent or unreadable. Never negative."""
    if not header:
        return None
    try:
        seconds = float(header)
    except ValueError:
        try:
            moment = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = (moment - wall_now).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
