"""Per-provider pacing: at most ``rate`` messages a second from this process (a token bucket holding one
second's worth, so a burst never exceeds the rate over any second). Limits are per worker process; run N
workers and the provider sees up to N × rate."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable


class RateLimit:
    def __init__(
        self,
        rate: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``rate`` messages per second; 0 means unlimited. Real (monotonic) time: pacing is about the provider's
        actual load, never the simulated clock."""
        if rate < 0:
            raise ValueError(f"a rate limit is a number of messages per second ≥ 0 (0 = unlimited), not {rate}")
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = monotonic()
        self._lock = threading.Lock()

    def _reserve(self) -> float:
        """Take a token (possibly borrowing against the future); return how long to wait before using it."""
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        if self.rate == 0:
            return
        delay = self._reserve()
        if delay > 0:
            await self._sleep(delay)
