"""The scheduler: fires triggers, claims due chunks for the runtime, and drives delivery.

Each kind of timed work is declared once, as a ``TimedJob`` of ``TIMED_JOBS``: each ``tick`` runs one round of
every job's step, in that order, and the ``TickReport`` says how much each did — so loops can sleep when idle and
the manual clock (``tidings.engine.manual_clock``) can run "until nothing is due", stepping to the moments the
jobs' ``next_due`` queries find.

Every job belongs to a lane: the engine's work (entering, chunks), which the database does, or the calls to
providers (delivery, loyalty), which mostly run in Python and wait on the network. A worker runs the two lanes
side by side (``tidings.engine.worker``), so neither waits for the other's round.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import Select

from tidings.core.account import AccountSettings
from tidings.core.clock import Clock
from tidings.document.cache import DocumentCache
from tidings.engine.ab_decisions import settle_due
from tidings.engine.advance import DueNode
from tidings.engine.runtime import Runtime
from tidings.engine.triggering import fire_event_triggers, fire_schedules
from tidings.segments.segments import recompute_due
from tidings.store import ab_tests as ab_sql
from tidings.store import campaigns as campaign_sql
from tidings.store import journeys
from tidings.store import loyalty as loyalty_sql
from tidings.store import messages as message_sql
from tidings.store import segments as segment_sql
from tidings.store.account import load_account
from tidings.store.database import Database

#: Delivers due messages at ``now``; returns how many it handled.
Delivery = Callable[[datetime], int]
#: Sends due loyalty requests at ``now``; returns how many it handled.
Loyalty = Callable[[datetime], int]


class NextDue(Protocol):
    def __call__(self, *, after: datetime) -> Select[Any]:
        """A query for the earliest moment strictly after ``after`` at which the work is due (NULL: never)."""
        ...


#: One round of a kind of work at ``now``; returns how much it did, by report count.
Step = Callable[["Scheduler", datetime, AccountSettings], Mapping[str, int]]

#: Which loop of a worker runs a job: ``engine`` (the database moves customers) or ``providers`` (messages and
#: loyalty requests handed to the outside world).
Lane = Literal["engine", "providers"]
LANES: tuple[Lane, ...] = ("engine", "providers")


@dataclass(frozen=True)
class TimedJob:
    """A kind of timed work: what a tick runs (``step``), what the report counts of it (``counts``), and when
    it next has work (``next_due``; None when the work has no moment of its own — it is due as soon as it
    exists, and whatever creates it is another job or a request)."""

    name: str
    counts: tuple[str, ...]
    step: Step
    next_due: NextDue | None
    lane: Lane = "engine"

    def run(self, scheduler: Scheduler, now: datetime, account: AccountSettings) -> TickReport:
        done = self.step(scheduler, now, account)
        undeclared = set(done) - set(self.counts)
        if undeclared:
            raise ValueError(f"timed job {self.name!r} reported {sorted(undeclared)}; it declares {self.counts}")
        return TickReport(done)


def _refresh_statistics(scheduler: Scheduler, now: datetime, account: AccountSettings) -> Mapping[str, int]:
    return {"analyzed": len(scheduler.db.refresh_run_statistics())}


def _recompute_segments(scheduler: Scheduler, now: datetime, account: AccountSettings) -> Mapping[str, int]:
    return {"segments": recompute_due(scheduler.db, now, account)}


def _fire_schedules(scheduler: Scheduler, now: datetime, account: AccountSettings) -> Mapping[str, int]:
    return {"entered": fire_schedules(scheduler.db, scheduler.documents, now, account)}


def _drain_inbox(scheduler: Scheduler, now: datetime, account: AccountSettings) -> Mapping[str, int]:
    work = fire_event_triggers(scheduler.db, scheduler.documents, now, account, scheduler.chunk_size)
    return {"entered": work.entered, "inbox": work.consumed}


def _settle_ab_tests(scheduler: Scheduler, now: datetime, account: AccountSettings) -> Mapping[str, int]:
    return {"ab_settled": settle_due(scheduler.db, scheduler.documents, now)}


def _advance_chunks(scheduler: Scheduler, now: datetime, account: AccountSettings) -> Mapping[str, int]:
    return {"chunks": scheduler.advance_due(now)}


def _deliver(scheduler: Scheduler, now: datetime, account: AccountSettings) -> Mapping[str, int]:
    return {"delivered": scheduler.delivery(now)}


def _call_loyalty(scheduler: Scheduler, now: datetime, account: AccountSettings) -> Mapping[str, int]:
    return {"loyalty": scheduler.loyalty(now)}


#: Every kind of timed work, in the order a tick runs them: segment newcomers reach the inbox drained after
#: them; A/B tests are settled before the customers waiting for them move.
TIMED_JOBS: tuple[TimedJob, ...] = (
    # tables whose planner statistics were sampled again: a campaign run grows them from nothing, and plans made on
    # the statistics of an empty table read whole tables where an index would read a few rows
    TimedJob("statistics", ("analyzed",), _refresh_statistics, None),
    # segments recomputed
    TimedJob("segments", ("segments",), _recompute_segments, segment_sql.next_recompute_time),
    # customers entered by schedule triggers
    TimedJob("schedules", ("entered",), _fire_schedules, campaign_sql.next_fire_time),
    # customers entered from the trigger inbox, and the inbox rows used up (entered or not)
    TimedJob("inbox", ("entered", "inbox"), _drain_inbox, None),
    # A/B tests decided or restarted
    TimedJob("ab_tests", ("ab_settled",), _settle_ab_tests, ab_sql.next_due_at),
    # chunks of customers advanced through nodes
    TimedJob("chunks", ("chunks",), _advance_chunks, journeys.next_due_at),
    # messages handled by delivery (sent, failed, retried, expired or switched to SMS)
    TimedJob("delivery", ("delivered",), _deliver, message_sql.next_send_after, lane="providers"),
    # loyalty requests handled
    TimedJob("loyalty", ("loyalty",), _call_loyalty, loyalty_sql.next_attempt_at, lane="providers"),
)

#: The counts of a report, in the order of the jobs that declare them.
REPORT_COUNTS: tuple[str, ...] = tuple(dict.fromkeys(name for job in TIMED_JOBS for name in job.counts))


class TickReport:
    """How much work one or more ticks did, by report count (``REPORT_COUNTS``); a count not given is 0."""

    def __init__(self, counts: Mapping[str, int] | None = None) -> None:
        given = counts or {}
        unknown = set(given) - set(REPORT_COUNTS)
        if unknown:
            raise KeyError(f"no timed job reports {sorted(unknown)}; the counts are {', '.join(REPORT_COUNTS)}")
        self.counts: dict[str, int] = {name: given.get(name, 0) for name in REPORT_COUNTS}

    def __getitem__(self, name: str) -> int:
        if name not in self.counts:
            raise KeyError(f"no timed job reports {name!r}; the counts are {', '.join(REPORT_COUNTS)}")
        return self.counts[name]

    def __repr__(self) -> str:
        return f"TickReport({self.counts})"

    @property
    def busy(self) -> bool:
        return any(self.counts.values())  # every count is work done

    def __add__(self, other: TickReport) -> TickReport:
        return TickReport({name: count + other[name] for name, count in self.counts.items()})


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
        loyalty: Loyalty,
        max_chunks_per_tick: int = 8,
    ) -> None:
        self.db = db
        self.documents = documents
        self.clock = clock
        self.runtime = runtime
        self.delivery = delivery
        self.loyalty = loyalty
        self.chunk_size = chunk_size
        self.max_chunks = max_chunks_per_tick

    def tick(self, lane: Lane | None = None) -> TickReport:
        """One round of every job, or of the jobs of one ``lane``."""
        now = self.clock.now()
        with self.db.engine.connect() as conn:
            account = load_account(conn)
        report = TickReport()
        for job in TIMED_JOBS:
            if lane is None or job.lane == lane:
                report = report + job.run(self, now, account)
        return report

    def advance_due(self, now: datetime) -> int:
        """Run (or schedule) chunks at the nodes where customers are due at ``now``, at most ``max_chunks`` at once
        (counting those another process scheduled and no worker finished); return how many."""
        nodes = self._campaign_nodes()
        if not nodes:
            return 0
        room = self.max_chunks - self.runtime.in_flight()
        chunks = 0
        while chunks < room:
            with self.db.engine.connect() as conn:
                due = [DueNode(*row) for probe in journeys.due_nodes(nodes, now=now) for row in conn.execute(probe)]
            ran = self.runtime.submit(due[: room - chunks], limit=self.chunk_size) if due else 0
            chunks += ran
            if not ran or not self.runtime.synchronous:
                break  # nothing was due (or only rows other workers hold), or the queue has them now
        return chunks

    def _campaign_nodes(self) -> list[tuple[int, str]]:
        """(campaign, node) of every node of every active campaign's current version: where chunks may be due.
        Probing these few index heads (``journeys.due_nodes``) never scans the waiting customers."""
        with self.db.engine.connect() as conn:
            campaigns = conn.execute(journeys.active_campaigns()).all()
            return [
                (campaign_id, node.id)
                for campaign_id, version in campaigns
                for node in self.documents.get(conn, campaign_id, version).nodes
            ]

    def run_until_idle(self, max_ticks: int = 1_000_000) -> TickReport:
        """Tick until a tick finds nothing to do (the manual clock's "run everything that is due")."""
        total = TickReport()
        for _ in range(max_ticks):
            report = self.tick()
            total = total + report
            if not report.busy:
                return total
        raise RuntimeError(f"still busy after {max_ticks} ticks")
