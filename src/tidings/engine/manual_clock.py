"""Advancing the manual clock: step to every moment something becomes due, run it, and stop at the target."""

from __future__ import annotations

from datetime import datetime

from tidings.core.clock import ManualClock
from tidings.engine.scheduler import TIMED_JOBS, Scheduler, TickReport
from tidings.store.database import Database


class ClockAdvancer:
    def __init__(self, db: Database, clock: ManualClock, scheduler: Scheduler) -> None:
        self.db = db
        self.clock = clock
        self.scheduler = scheduler

    def advance_to(self, target: datetime) -> TickReport:
        """Run everything that becomes due up to ``target``, each at its own moment, then stop at ``target``."""
        if target < self.clock.now():
            raise ValueError(
                f"cannot move the clock back to {target.isoformat()}; it is {self.clock.now().isoformat()}"
            )
        total = self.scheduler.run_until_idle()
        while True:
            upcoming = self._earliest(self.clock.now())
            if upcoming is None or upcoming > target:
                break
            self.clock.set(upcoming)
            total = total + self.scheduler.run_until_idle()
        self.clock.set(target)
        return total + self.scheduler.run_until_idle()

    def _earliest(self, after: datetime) -> datetime | None:
        """The earliest moment strictly after ``after`` at which any timed job has work."""
        with self.db.engine.connect() as conn:
            moments: list[datetime | None] = [
                conn.execute(job.next_due(after=after)).scalar() for job in TIMED_JOBS if job.next_due is not None
            ]
        present = [moment for moment in moments if moment is not None]
        return min(present) if present else None
