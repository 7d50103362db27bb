"""Two `tidings worker` processes on PostgreSQL share one campaign run; one is killed with SIGKILL mid-run.

The run must still complete with every customer advanced exactly once through every node and no e-mail
sent twice. This is PostgreSQL-only on purpose: several worker processes sharing chunks is the production
deployment, and SQLite is a single-process database.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.databases import drop_database, postgres_clone
from tests.workers.helpers import enrol_in_filter_then_email, start_worker
from tidings.core.clock import SystemClock
from tidings.model.customers import CustomerIn
from tidings.services import Services
from tidings.settings import Settings
from tidings.store.tables import journey_state, journey_trace, mailbox, messages

CUSTOMERS = 20_000


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    with postgres_clone(pg_template) as url:
        yield url
        drop_database(url.rpartition("/")[2] + "_dbos")


def _worker(url: str, log: Path) -> subprocess.Popen[bytes]:
    return start_worker(url, log, TIDINGS_RUNTIME="dbos", TIDINGS_CHUNK_SIZE="250", TIDINGS_LEASE_SECONDS="3")


def _count(services: Services, query: object) -> int:
    with services.db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())  # type: ignore[call-overload]


def test_killed_worker_loses_and_repeats_nothing(pg_url: str, tmp_path: Path) -> None:
    services = Services.build(Settings(database_url=pg_url), clock=SystemClock())
    rows = [
        CustomerIn(external_id=f"c{i}", email=f"c{i}@example.com", city="Riga" if i % 2 else "Oslo")
        for i in range(CUSTOMERS)
    ]
    enrol_in_filter_then_email(services, rows, "Crash test")

    doomed = _worker(pg_url, tmp_path / "doomed.log")
    survivor = _worker(pg_url, tmp_path / "survivor.log")
    try:
        deadline = time.monotonic() + 120
        while _count(services, select(func.count()).select_from(journey_trace)) < CUSTOMERS * 1.5:
            assert time.monotonic() < deadline, "workers made no progress: " + (tmp_path / "doomed.log").read_text()
            time.sleep(0.05)
        remaining = _count(services, select(func.count()).select_from(journey_state))
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        assert remaining > 0, "the run finished before the kill; make it larger"

        deadline = time.monotonic() + 180
        while _count(services, select(func.count()).select_from(journey_state)) or _count(
            services, select(func.count()).where(messages.c.status != "sent")
        ):
            assert survivor.poll() is None, (tmp_path / "survivor.log").read_text()
            assert time.monotonic() < deadline, "the survivor did not finish the run"
            time.sleep(0.2)
    finally:
        for process in (doomed, survivor):
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        services.close()

    services = Services.build(Settings(database_url=pg_url), clock=SystemClock())
    try:
        visits = (
            select(journey_trace.c.customer_id, journey_trace.c.node_id, func.count().label("n"))
            .group_by(journey_trace.c.customer_id, journey_trace.c.node_id)
            .subquery()
        )
        assert _count(services, select(func.count()).where(visits.c.n > 1)) == 0, "a customer was advanced twice"
        assert _count(services, select(func.count()).select_from(journey_trace)) == 3 * CUSTOMERS
        assert _count(services, select(func.count()).select_from(messages)) == CUSTOMERS
        assert _count(services, select(func.count()).select_from(mailbox)) == CUSTOMERS
        assert _count(services, select(func.count(mailbox.c.recipient.distinct()))) == CUSTOMERS
    finally:
        services.close()
