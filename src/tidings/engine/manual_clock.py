"""Advancing the manual clock: step to every moment something becomes due, run it, and stop at the target."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select

from tidings.core.clock import ManualClock
from tidings.engine.scheduler import Scheduler, TickReport
from tidings.store import ab_tests as ab_sql
from tidings.store import campaigns as campaign_sql
from tidings.store import journeys
from tidings.store import segments as segment_sql
from tidings.store.database import Database

#: Each returns a query for the earliest moment strictly after ``after`` at which that kind of work is due.
NextDue = Callable[[datetime], Select[Any]]


def default_next_due() -> list[NextDue]:
    return [
        lambda after: journeys.next_due_at(after=after),
        lambda after: campaign_sql.next_fire_time(after=after),
        lambda after: segment_sql.next_recompute_time(after=after),
        lambda after: ab_sql.next_due_at(after=after),
    ]


class ClockAdvancer:
    def __init__(self, db: Database, clock: ManualClock, scheduler: Scheduler, next_due: list[NextDue]) -> None:
        self.db = db
        self.clock = clock
        self.scheduler = scheduler
        self.next_due = next_due

    def advance_to(self, target: datetime) -> TickReport:
        """Run everything that becomes due up to ``target``, each at its own moment, then stop at ``target``."""
        if target < self.clock.now():
            raise ValueError(
                f"cannot move the clock back to {target.isoformat()}; it is {self.clock.now().isoformat()}"
            )
        total = TickReport() + self.scheduler.run_until_idle()
        while True:
            upcoming = self._earliest(self.clock.now())
            if upcoming is None or upcoming > target:
                break
            self.clock.set(upcoming)
            total = total + self.scheduler.run_until_idle()
        self.clock.set(target)
        return total + self.scheduler.run_until_idle()

    def _earliest(self, after: datetime) -> datetime | None:
        with self.db.engine.connect() as conn:
            moments: list[datetime | None] = [conn.execute(query(after)).scalar() for query in self.next_due]
        present = [moment for moment in moments if moment is not None]
        return min(present) if present else None
