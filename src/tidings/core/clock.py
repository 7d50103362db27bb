"""Injected time. Nothing in the engine reads the wall clock; it asks a ``Clock``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests, demos, `TIDINGS_CLOCK=manual`)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC).replace(second=0, microsecond=0)).astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        """Move to ``moment``; a manual clock never goes backwards."""
        moment = moment.astimezone(UTC)
        with self._lock:
            if moment < self._now:
                raise ValueError(
                    f"the manual clock cannot go back from {self._now.isoformat()} to {moment.isoformat()}"
                )
            self._now = moment
