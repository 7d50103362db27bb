"""A `tidings worker` killed with SIGKILL in the middle of SMTP delivery; after a restart every message has
reached the SMTP server once and only once (PostgreSQL, real worker processes, a real aiosmtpd server).

Deterministic: the server stalls on one message after its DATA, before answering ``250``, and the test kills
the worker while it waits. At that moment exactly one message is ``sending`` — every earlier one was recorded
``sent`` before the next was handed over — and the rest are untouched (with four SMTP connections, the other
three finish the chunk meanwhile, each result recorded as it comes). A fresh worker resends the one in doubt
under the same ``Message-ID`` and sends the rest.

The second case is the documented limit (``delivery.pipeline``): a server that had already kept the stalled
message (its ``250`` was lost with the worker) gets that one message twice, with the same ``Message-ID``, and
nothing else twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session
from sqlalchemy import func, select

from tests.databases import postgres_clone
from tests.delivery.conftest import EphemeralController
from tidings.core.clock import SystemClock
from tidings.model.customers import CustomerIn
from tidings.services import Services
from tidings.settings import Settings
from tidings.store import messages as message_sql
from tidings.store.customers import upsert_customers
from tidings.store.tables import messages

CUSTOMERS = 120
STALL_AT = 70  # the 70th message the server receives stalls
CHUNK = 25  # so it is the 20th of the third chunk (messages 51–75)
TIDINGS = Path(sys.executable).parent / "tidings"


class StallingHandler:
    """Accepts every message, except that the ``stall_at``-th DATA never gets its reply: the handler waits until
    the client's connection dies (aiosmtpd then cancels it). With ``keep`` the server has already kept that
    message, as a server that committed it before its ``250`` was lost would have."""

    def __init__(self, stall_at: int, *, keep: bool) -> None:
        self.stall_at = stall_at
        self.keep = keep
        self.data_commands = 0
        self.kept: list[str] = []
        self.stalled = threading.Event()
        self.stalled_id = ""

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.original_content, bytes)
        message_id = str(message_from_bytes(envelope.original_content, policy=policy.default)["Message-ID"])
        self.data_commands += 1
        if self.data_commands == self.stall_at:
            self.stalled_id = message_id
            if self.keep:
                self.kept.append(message_id)
            self.stalled.set()
            await asyncio.Event().wait()  # until the connection is lost
        self.kept.append(message_id)
        return "250 Message accepted for delivery"


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    with postgres_clone(pg_template) as url:
        yield url


def _worker(url: str, smtp_port: int, connections: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")},
        "TIDINGS_DATABASE_URL": url,
        "TIDINGS_SECRET_KEY": "worker-test-secret-key-0123456789",  # a worker refuses to start without one
        "TIDINGS_RUNTIME": "direct",
        "TIDINGS_EMAIL_PROVIDER": "smtp",
        "TIDINGS_PUBLIC_URL": "https://mail.example.com",  # bulk mail's one-click unsubscribe must be https
        "TIDINGS_SMTP_HOST": "127.0.0.1",
        "TIDINGS_SMTP_PORT": str(smtp_port),
        "TIDINGS_SMTP_CONNECTIONS": str(connections),
        "TIDINGS_DELIVERY_CHUNK_SIZE": str(CHUNK),
        "TIDINGS_LEASE_SECONDS": "3",
        "TIDINGS_TICK_SECONDS": "0.05",
    }
    with log.open("wb") as output:
        return subprocess.Popen([str(TIDINGS), "worker"], env=env, stdout=output, stderr=subprocess.STDOUT)


def _statuses(services: Services) -> Counter[str]:
    with services.db.engine.connect() as conn:
        query = select(messages.c.status, func.count()).group_by(messages.c.status)
        return Counter({status: int(count) for status, count in conn.execute(query)})


@pytest.mark.parametrize("connections", [1, 4], ids=["one_connection", "four_connections"])
@pytest.mark.parametrize("keep", [False, True], ids=["reply_never_sent", "reply_lost_after_the_server_kept_it"])
def test_a_worker_killed_mid_delivery_sends_nothing_twice_after_a_restart(
    pg_url: str, tmp_path: Path, keep: bool, connections: int
) -> None:
    handler = StallingHandler(STALL_AT, keep=keep)
    controller = EphemeralController(handler, hostname="127.0.0.1", server_hostname="localhost")
    controller.start()
    services = Services.build(Settings(database_url=pg_url), clock=SystemClock())
    workers: list[subprocess.Popen[bytes]] = []
    try:
        rows = [CustomerIn(external_id=f"c{i}", email=f"c{i}@example.com") for i in range(CUSTOMERS)]
        with services.db.engine.begin() as conn:
            upsert_customers(conn, services.db.dialect, rows, services.clock.now())
        document = {
            "name": "Crash during delivery",
            "trigger": {"id": "trigger", "type": "api_enrollment", "config": {}},
            "nodes": [{"id": "e1", "type": "send_email", "config": {"subject": "Hi", "body_html": "<p>Hi</p>"}}],
            "edges": [{"source": "trigger", "target": "e1"}],
        }
        campaign_id = services.campaigns.create(document)["id"]
        services.campaigns.transition(campaign_id, "activate")
        assert services.campaigns.enroll(campaign_id, [row.external_id for row in rows], None)["entered"] == CUSTOMERS

        doomed = _worker(pg_url, controller.port, connections, tmp_path / "doomed.log")
        workers.append(doomed)
        assert handler.stalled.wait(120), (
            "the worker never reached the stalling message: " + (tmp_path / "doomed.log").read_text()
        )
        # With one connection nothing moves while the server stalls; with more, the other connections finish the
        # chunk, and each of their results is recorded at once (none waits for the stalled message).
        last_sent = STALL_AT - 1 if connections == 1 else CHUNK * (STALL_AT // CHUNK + 1) - 1
        expected = Counter({"sent": last_sent, "sending": 1, "queued": CUSTOMERS - last_sent - 1})
        settle = time.monotonic() + 10
        while (at_the_kill := _statuses(services)) != expected and time.monotonic() < settle:
            time.sleep(0.05)
        time.sleep(0.2)
        assert _statuses(services) == at_the_kill == expected
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()

        survivor = _worker(pg_url, controller.port, connections, tmp_path / "survivor.log")
        workers.append(survivor)
        deadline = time.monotonic() + 120
        while _statuses(services) != Counter({"sent": CUSTOMERS}):
            assert survivor.poll() is None, (tmp_path / "survivor.log").read_text()
            assert time.monotonic() < deadline, f"not delivered: {_statuses(services)}"
            time.sleep(0.1)
    finally:
        for process in workers:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        controller.stop()

    try:
        copies = Counter(handler.kept)
        with services.db.engine.connect() as conn:
            sent = dict(conn.execute(select(messages.c.provider_message_id, messages.c.error)).all())  # type: ignore[arg-type]
        assert set(copies) == set(sent) and len(sent) == CUSTOMERS
        expected = {handler.stalled_id: 2} if keep else {}
        assert {message_id: n for message_id, n in copies.items() if n > 1} == expected
        assert sent[handler.stalled_id] == message_sql.IN_DOUBT  # the resend is on the record
        assert [error for message_id, error in sent.items() if message_id != handler.stalled_id] == [None] * (
            CUSTOMERS - 1
        )
    finally:
        services.close()
