"""The scheduler: fires triggers, claims due chunks for the runtime, and drives delivery.

Each ``tick`` does one round of every kind of work and says how much it did, so loops can sleep when idle
and the manual clock can run "until nothing is due".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta

from tidings.core.clock import Clock, SystemClock
from tidings.document.cache import DocumentCache
from tidings.engine.ab_decisions import settle_due
from tidings.engine.runtime import Runtime
from tidings.engine.triggering import fire_event_triggers, fire_schedules
from tidings.segments.segments import recompute_due
from tidings.store import journeys
from tidings.store.account import load_account
from tidings.store.database import Database

#: Delivers due messages at ``now``; returns how many it handled.
Delivery = Callable[[datetime], int]
#: Sends due loyalty requests at ``now``; returns how many it handled.
Loyalty = Callable[[datetime], int]


@dataclass
class TickReport:
    entered: int = 0
    chunks: int = 0
    delivered: int = 0
    segments: int = 0  # segments recomputed
    inbox: int = 0  # trigger inbox rows consumed
    ab_settled: int = 0  # A/B tests decided or restarted
    loyalty: int = 0  # loyalty requests handled

    @property
    def busy(self) -> bool:
        return any(astuple(self))  # every field counts work done

    def __add__(self, other: TickReport) -> TickReport:
        return TickReport(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


class Scheduler:
    def __init__(
        self,
        db: Database,
        documents: DocumentCache,
        clock: Clock,
        runtime: Runtime,
        delivery: Delivery,
        *,
        chunk_size: int,
        lease_seconds: float,
        max_chunks_per_tick: int = 8,
        loyalty: Loyalty | None = None,
    ) -> None:
        self.db = db
        self.documents = documents
        self.clock = clock
        self.runtime = runtime
        self.delivery = delivery
        self.loyalty = loyalty
        self.chunk_size = chunk_size
        self.lease = timedelta(seconds=lease_seconds)
        self.max_chunks = max_chunks_per_tick
        self.wall = SystemClock()  # leases are about real worker deaths, never simulated time

    def tick(self) -> TickReport:
        now = self.clock.now()
        report = TickReport()
        with self.db.engine.begin() as conn:
            account = load_account(conn)
            conn.execute(journeys.release_expired_claims(wall_now=self.wall.now()))
        report.segments = recompute_due(self.db, now, account)  # newcomers reach the inbox drained below
        report.entered += fire_schedules(self.db, self.documents, now, account)
        inbox = fire_event_triggers(self.db, self.documents, now, account, self.chunk_size)
        report.entered += inbox.entered
        report.inbox = inbox.consumed
        report.ab_settled = settle_due(self.db, self.documents, now)  # before the customers waiting for it
        claims = self.claim_chunks(now)
        self.runtime.submit(claims)
        report.chunks = len(claims)
        report.delivered = self.delivery(now)
        if self.loyalty is not None:
            report.loyalty = self.loyalty(now)
        return report

    def claim_chunks(self, now: datetime) -> list[str]:
        claims: list[str] = []
        room = self.max_chunks
        if not self.runtime.synchronous:  # back-pressure: never run ahead of the workers
            with self.db.engine.connect() as conn:
                room -= conn.execute(journeys.chunks_in_flight()).scalar_one()
        while len(claims) < room:
            with self.db.engine.begin() as conn:
                group = conn.execute(journeys.next_due_group(now=now)).first()
                if group is None:
                    break
                claim_id = str(uuid.uuid4())
                claimed = conn.execute(
                    journeys.claim_group(
                        self.db.dialect,
                        campaign_id=group.campaign_id,
                        version=group.version,
                        node_id=group.node_id,
                        now=now,
                        limit=self.chunk_size,
                        claim_id=claim_id,
                        lease_until=self.wall.now() + self.lease,
                    )
                ).rowcount
            if claimed:
                claims.append(claim_id)
            if self.runtime.synchronous:
                break  # run it before claiming more, so the next claim sees its effects
        return claims

    def run_until_idle(self, max_ticks: int = 1_000_000) -> TickReport:
        """Tick until a tick finds nothing to do (the manual clock's "run everything that is due")."""
        total = TickReport()
        for _ in range(max_ticks):
            report = self.tick()
            total = total + report
            if not report.busy:
                return total
        raise RuntimeError(f"still busy after {max_ticks} ticks")
