"""The scheduler: leases follow the wall clock it is given; each kind of timed work is declared once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.engine.helpers import add_customers, campaign, email_node, mailbox_count, start
from tidings.core.clock import ManualClock
from tidings.engine.scheduler import REPORT_COUNTS, TIMED_JOBS, Scheduler, TickReport
from tidings.services import Services

#: Far from the real time: were the scheduler to read the system clock, every lease would have run out.
WALL = datetime(2000, 1, 1, tzinfo=UTC)


def test_a_dead_workers_chunk_is_claimed_again_once_the_injected_wall_clock_passes_its_lease(
    services: Services,
) -> None:
    add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    services.campaigns.enroll(campaign_id, ["ann"], None)
    wall = ManualClock(WALL)
    scheduler = Scheduler(
        services.db,
        services.documents,
        services.clock,
        services.runtime,
        services.delivery,
        wall=wall,
        chunk_size=100,
        lease_seconds=30,
        loyalty=services.loyalty,
    )
    assert len(scheduler.claim_chunks(services.clock.now())) == 1  # a worker claims the chunk and dies

    assert scheduler.tick()["chunks"] == 0  # the lease holds: nobody else takes it
    wall.set(WALL + timedelta(seconds=31))
    assert scheduler.tick()["chunks"] == 1
    assert mailbox_count(services, "ann@example.com") == 1


def test_the_report_counts_what_the_timed_jobs_declare_and_nothing_else() -> None:
    assert REPORT_COUNTS == ("segments", "entered", "inbox", "ab_settled", "chunks", "delivered", "loyalty")
    assert len({job.name for job in TIMED_JOBS}) == len(TIMED_JOBS)
    report = TickReport({"entered": 2}) + TickReport({"entered": 1, "chunks": 1})
    assert (report["entered"], report["chunks"], report["delivered"], report.busy) == (3, 1, 0, True)
    assert not TickReport().busy
    with pytest.raises(KeyError, match="bogus"):
        TickReport({"bogus": 1})
    with pytest.raises(KeyError, match="bogus"):
        TickReport()["bogus"]
