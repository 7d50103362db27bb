"""The scheduler: chunks skip the customers another worker holds; each kind of timed work is declared once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import TextClause, select, text

from tests.databases import ReusedDatabase
from tests.engine.helpers import add_customers, campaign, email_node, mailbox_count, start
from tidings.core.clock import ManualClock
from tidings.engine.scheduler import REPORT_COUNTS, TIMED_JOBS, TickReport
from tidings.services import Services
from tidings.settings import Settings
from tidings.store.journeys import campaign_for_chunk, due_nodes
from tidings.store.tables import journey_state, mailbox


@pytest.fixture
def pg_services(pg_database: ReusedDatabase, clock: ManualClock) -> Iterator[Services]:
    """PostgreSQL only: on SQLite one writer holds the whole database, so no chunk runs beside another."""
    built = Services.build(Settings(database_url=pg_database.url, clock="manual"), clock=clock)
    yield built
    built.close()
    pg_database.reset()


def test_customers_another_worker_holds_are_skipped_then_advanced_once_when_its_transaction_dies(
    pg_services: Services,
) -> None:
    services = pg_services
    ids = add_customers(
        services, {"external_id": "ann", "email": "ann@example.com"}, {"external_id": "bob", "email": "bob@example.com"}
    )
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    services.campaigns.enroll(campaign_id, ["ann", "bob"], None)
    with services.db.engine.connect() as worker:  # another worker, mid-chunk: it holds ann's row
        worker.begin()
        ann_row = select(journey_state.c.id).where(journey_state.c.customer_id == ids["ann"]).with_for_update()
        assert worker.execute(ann_row).scalar_one()

        assert services.scheduler.tick()["chunks"] == 1
        assert (mailbox_count(services, "ann@example.com"), mailbox_count(services, "bob@example.com")) == (0, 1)

        worker.rollback()  # the worker dies: its transaction ends and the rows it held are free
    assert services.scheduler.run_until_idle()["chunks"] == 1
    assert (mailbox_count(services, "ann@example.com"), mailbox_count(services, "bob@example.com")) == (1, 1)


def test_the_report_counts_what_the_timed_jobs_declare_and_nothing_else() -> None:
    assert REPORT_COUNTS == ("analyzed", "segments", "entered", "inbox", "ab_settled", "chunks", "delivered", "loyalty")
    assert len({job.name for job in TIMED_JOBS}) == len(TIMED_JOBS)
    report = TickReport({"entered": 2}) + TickReport({"entered": 1, "chunks": 1})
    assert (report["entered"], report["chunks"], report["delivered"], report.busy) == (3, 1, 0, True)
    assert not TickReport().busy
    with pytest.raises(KeyError, match="bogus"):
        TickReport({"bogus": 1})
    with pytest.raises(KeyError, match="bogus"):
        TickReport()["bogus"]


def test_the_due_probe_takes_any_number_of_nodes(services: Services) -> None:
    """One probe per active node, batched so that SQLite's limit on a compound SELECT (500 parts) is never hit."""
    add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    services.campaigns.enroll(campaign_id, ["ann"], None)
    nodes = [(campaign_id, f"n{i}") for i in range(1_000)] + [(campaign_id, "e1")]
    with services.db.engine.connect() as conn:
        due = [tuple(row) for probe in due_nodes(nodes, now=services.clock.now()) for row in conn.execute(probe)]
    assert due == [(campaign_id, "e1")]


def test_an_edit_waits_for_the_chunks_in_flight_and_strands_nobody_at_the_old_version(pg_services: Services) -> None:
    services = pg_services
    add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    document = campaign(email_node("e1", subject="First"), edges=[("trigger", "e1")])
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, ["ann"], None)
    edited = campaign(email_node("e1", subject="Second"), edges=[("trigger", "e1")])
    with services.db.engine.connect() as chunk:  # a chunk in flight: it holds the campaign share-locked
        chunk.execute(campaign_for_chunk(campaign_id)).one()
        editing = threading.Thread(target=services.campaigns.update, args=(campaign_id, edited))
        editing.start()
        waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT%'")
        deadline = time.monotonic() + 30
        while not _count(services, waiting):
            assert time.monotonic() < deadline, "the edit did not wait for the chunk"
            time.sleep(0.02)
        assert editing.is_alive()
        chunk.rollback()
    editing.join(timeout=30)
    assert not editing.is_alive()
    with services.db.engine.connect() as conn:
        assert conn.execute(select(journey_state.c.version)).scalars().all() == [2]
    services.scheduler.run_until_idle()
    with services.db.engine.connect() as conn:
        assert conn.execute(select(mailbox.c.subject)).scalars().all() == ["Second"]  # sent by the edited node


def _count(services: Services, query: TextClause) -> int:
    with services.db.engine.connect() as conn:  # a new snapshot of the statistics views each time
        return int(conn.execute(query).scalar_one())
