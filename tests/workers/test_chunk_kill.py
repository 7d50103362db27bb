"""A worker killed with SIGKILL while it holds a chunk of pure-SQL work: the chunk is run again by another worker,
and every customer of it is advanced exactly once.

The test makes the kill land mid-chunk on purpose: it starts inserting one customer's message itself and does not
commit, so the worker's chunk at the send node that queues that customer's message waits at its insert, holding
its customers' rows. PostgreSQL only: chunks of several workers skipping
each other's rows is the production deployment.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.databases import postgres_clone
from tests.workers.helpers import enrol_in_filter_then_email, start_worker
from tidings.core.clock import SystemClock
from tidings.model.customers import CustomerIn
from tidings.services import Services
from tidings.settings import Settings
from tidings.store.tables import entries, journey_state, journey_trace, mailbox, messages

CUSTOMERS = 1_000
CHUNK = 250


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    with postgres_clone(pg_template) as url:
        yield url


def _worker(url: str, name: str, log: Path) -> subprocess.Popen[bytes]:
    # PGAPPNAME names the worker's database sessions, so the test can tell whose they are
    return start_worker(url, log, TIDINGS_RUNTIME="direct", TIDINGS_CHUNK_SIZE=str(CHUNK), PGAPPNAME=name)


def _wait_for(condition: object, what: str, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what}; worker log:\n{log.read_text()}"
        time.sleep(0.05)


def _waiting_to_queue(services: Services, name: str) -> bool:
    """The worker's session waits for another transaction at its insert of messages."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name AND wait_event = 'transactionid' "
        "AND query LIKE 'INSERT INTO messages%'"
    )
    with services.db.engine.connect() as conn:  # a new transaction each time: the statistics views are snapshots
        return bool(conn.execute(waiting, {"name": name}).scalar_one())


def _held_customers(services: Services) -> set[int]:
    """The customers whose journey rows another transaction holds (a chunk in flight): the rows a skip-locked read
    cannot take."""
    with services.db.engine.begin() as conn:
        every = set(conn.execute(select(journey_state.c.customer_id)).scalars())
        free = set(conn.execute(select(journey_state.c.customer_id).with_for_update(skip_locked=True)).scalars())
    return every - free


def test_a_chunk_whose_worker_is_killed_is_run_again_by_another_worker_once(pg_url: str, tmp_path: Path) -> None:
    services = Services.build(Settings(database_url=pg_url), clock=SystemClock())
    rows = [CustomerIn(external_id=f"c{i}", email=f"c{i}@example.com") for i in range(CUSTOMERS)]
    first = enrol_in_filter_then_email(services, rows, "Kill mid-chunk")["c0"]

    doomed_log, survivor_log = tmp_path / "doomed.log", tmp_path / "survivor.log"
    survivor = None
    with services.db.engine.connect() as blocker:
        entry = blocker.execute(select(entries).where(entries.c.customer_id == first)).one()
        blocker.execute(
            messages.insert().values(
                campaign_id=entry.campaign_id,
                version=entry.version,
                entry_id=entry.id,
                node_id="e1",
                customer_id=first,
                channel="email",
                recipient="c0@example.com",
                status="queued",
                send_after=services.clock.now(),
                created_at=services.clock.now(),
            )
        )  # not committed: the chunk queueing this customer's message waits for this transaction to end
        doomed = _worker(pg_url, "doomed", doomed_log)
        try:
            _wait_for(
                lambda: _waiting_to_queue(services, "doomed"), "the worker never reached the send node", doomed_log
            )
            held = _held_customers(services)
            assert first in held
            assert len(held) == CHUNK, "the worker should be holding exactly one chunk at the send node"
            doomed.send_signal(signal.SIGKILL)
            doomed.wait()
        finally:
            if doomed.poll() is None:
                doomed.kill()
                doomed.wait()
        blocker.rollback()  # the orphaned session finishes its statement, finds its client gone and rolls back

    try:
        survivor = _worker(pg_url, "survivor", survivor_log)

        def finished() -> bool:
            with services.db.engine.connect() as conn:
                left = conn.execute(select(func.count()).select_from(journey_state)).scalar_one()
                unsent = conn.execute(select(func.count()).where(messages.c.status != "sent")).scalar_one()
            return left == 0 and unsent == 0

        _wait_for(finished, "the other worker did not finish the run", survivor_log, seconds=120)
    finally:
        if survivor is not None and survivor.poll() is None:
            survivor.terminate()
            survivor.wait(timeout=30)

    with services.db.engine.connect() as conn:
        visits = (
            select(journey_trace.c.customer_id, journey_trace.c.node_id, func.count().label("n"))
            .group_by(journey_trace.c.customer_id, journey_trace.c.node_id)
            .subquery()
        )
        assert conn.execute(select(func.count()).where(visits.c.n > 1)).scalar_one() == 0, "advanced twice"
        assert conn.execute(select(func.count()).select_from(journey_trace)).scalar_one() == 3 * CUSTOMERS
        assert conn.execute(select(func.count()).select_from(messages)).scalar_one() == CUSTOMERS
        of_held_chunk = select(func.count()).where(messages.c.customer_id.in_(held), messages.c.status == "sent")
        assert conn.execute(of_held_chunk).scalar_one() == CHUNK  # the killed chunk's customers: once each
        assert conn.execute(select(func.count(mailbox.c.recipient.distinct()))).scalar_one() == CUSTOMERS
    services.close()
