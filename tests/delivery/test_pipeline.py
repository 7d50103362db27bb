"""The delivery pipeline against a real HTTP provider on loopback (SMS gateway), on both databases: retries with
back-off under one idempotency key, lifetime, permanent failures, replay, recovery of a message a dead worker
left in doubt, the lease fence, concurrency and rate limits; and the sandbox for every channel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from tests.actions.helpers import node
from tests.api.conftest import api_client
from tests.delivery.fakes import FakeProvider, fake_provider, fake_provider_server, provider_settings
from tests.engine.helpers import add_customers, advance, campaign, email_node, start
from tidings.core.clock import ManualClock
from tidings.services import Services
from tidings.settings import Settings
from tidings.store import messages as message_sql
from tidings.store.tables import mailbox, messages, push_tokens

__all__ = ["fake_provider", "fake_provider_server"]  # fixtures

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def sms(node_id: str = "s1", **config: Any) -> dict[str, Any]:
    return node(node_id, "send_sms", **({"text": "Hi {{ customer.first_name }}", "deliver_immediately": True} | config))


@pytest.fixture
def http_services(database_url: str, clock: ManualClock, fake_provider: FakeProvider) -> Iterator[Services]:
    built = Services.build(
        Settings(database_url=database_url, clock="manual", **provider_settings(fake_provider)), clock=clock
    )
    yield built
    built.close()


def build(database_url: str, clock: ManualClock, fake: FakeProvider, **settings: Any) -> Services:
    return Services.build(
        Settings(database_url=database_url, clock="manual", **provider_settings(fake, **settings)), clock=clock
    )


def rows(services: Services) -> list[dict[str, Any]]:
    with services.db.engine.connect() as conn:
        return [dict(row) for row in conn.execute(select(messages).order_by(messages.c.id)).mappings()]


def one_sms(services: Services, **config: Any) -> int:
    add_customers(services, {"external_id": "ann", "phone": "+37120000001", "first_name": "Ann"})
    campaign_id = start(services, campaign(sms(**config), edges=[("trigger", "s1")]))
    services.campaigns.enroll(campaign_id, ["ann"], None)
    return campaign_id


def held_sms(services: Services) -> dict[str, Any]:
    """One SMS queued at 22:00 UTC, held for the window until 09:00: nothing sent yet."""
    services.advancer.advance_to(datetime(2026, 1, 5, 22, tzinfo=UTC))
    one_sms(services, deliver_immediately=False)
    advance(services, minutes=1)
    [row] = rows(services)
    assert (row["status"], row["send_after"]) == ("queued", datetime(2026, 1, 6, 9, tzinfo=UTC))
    return row


def test_a_sent_sms_is_one_request_with_the_body_template_auth_and_idempotency_key(
    http_services: Services, fake_provider: FakeProvider
) -> None:
    campaign_id = one_sms(http_services, sender="Shop")
    advance(http_services, minutes=1)

    [request] = fake_provider.to("/sms")
    [row] = rows(http_services)
    key = f"{campaign_id}.{row['entry_id']}.s1.{row['id']}"
    assert request.body == {"to": "+37120000001", "text": "Hi Ann", "sender": "Shop", "reference": key}
    assert request.headers["authorization"] == "Bearer sms-secret"
    assert request.headers["idempotency-key"] == key
    assert (row["status"], row["provider"], row["body"], row["attempts"]) == ("sent", "sms_http", "Hi Ann", 1)
    assert row["provider_message_id"].startswith("fake-")

    advance(http_services, days=1)  # replay: nothing is sent twice
    http_services.delivery(http_services.clock.now())
    assert len(fake_provider.to("/sms")) == 1


def test_429_then_200_retries_after_the_back_off_under_the_same_key(
    http_services: Services, fake_provider: FakeProvider
) -> None:
    fake_provider.answer(429, {"error": "slow down"})
    one_sms(http_services)
    start_at = http_services.clock.now()
    advance(http_services, seconds=1)
    [row] = rows(http_services)
    assert (row["status"], row["attempts"], row["send_after"]) == ("queued", 1, start_at + timedelta(seconds=60))
    assert row["error"].startswith("HTTP 429")

    advance(http_services, minutes=2)
    [row] = rows(http_services)
    assert (row["status"], row["attempts"], row["sent_at"]) == ("sent", 2, start_at + timedelta(seconds=60))
    first, second = fake_provider.to("/sms")
    assert first.key is not None and first.key == second.key


def test_back_off_doubles_and_retry_after_is_honoured(
    database_url: str, clock: ManualClock, fake_provider: FakeProvider
) -> None:
    services = build(database_url, clock, fake_provider, retry_base_seconds=10)
    try:
        fake_provider.answer(500, times=3)
        fake_provider.answer(503, headers={"Retry-After": "300"})
        one_sms(services)
        start_at = services.clock.now()
        advance(services, seconds=1)  # the first attempt
        sends = [rows(services)[0]["send_after"]]
        for _ in range(4):
            services.clock.set(sends[-1])
            services.delivery(services.clock.now())
            sends.append(rows(services)[0]["send_after"])
        assert [moment - start_at for moment in sends] == [
            timedelta(seconds=10),
            timedelta(seconds=30),
            timedelta(seconds=70),
            timedelta(seconds=370),
            timedelta(seconds=370),
        ]
        assert (rows(services)[0]["status"], rows(services)[0]["attempts"]) == ("sent", 5)
        assert len({request.key for request in fake_provider.to("/sms")}) == 1
    finally:
        services.close()


def test_a_message_still_failing_when_its_lifetime_ends_is_undeliverable(
    http_services: Services, fake_provider: FakeProvider
) -> None:
    fake_provider.answer(500, times=None)
    one_sms(http_services, lifetime={"amount": 5, "unit": "minutes"})
    advance(http_services, hours=1)
    [row] = rows(http_services)
    assert row["status"] == "undeliverable"
    assert "lifetime" in row["error"] and "HTTP 500" in row["error"]
    assert row["attempts"] == 3  # at 0, 1 and 3 minutes; the next (7) would be after the lifetime
    assert len(fake_provider.to("/sms")) == 3


def test_the_default_lifetime_runs_from_the_first_attempt_and_expires_a_waiting_message(
    database_url: str, clock: ManualClock, fake_provider: FakeProvider
) -> None:
    services = build(database_url, clock, fake_provider, message_lifetime_minutes=30, retry_base_seconds=3600)
    try:
        fake_provider.answer(503, times=None)
        one_sms(services)
        first = services.clock.now()
        advance(services, seconds=1)
        [row] = rows(services)
        assert row["expires_at"] == first + timedelta(minutes=30)
        # the retry would come after the lifetime: it waits for the lifetime to end, and expires then
        assert (row["status"], row["send_after"]) == ("queued", row["expires_at"])
        advance(services, minutes=30)
        [row] = rows(services)
        assert row["status"] == "undeliverable"
        assert row["error"].startswith("message lifetime ended; last error: HTTP 503")
        assert len(fake_provider.to("/sms")) == 1
    finally:
        services.close()


def test_a_windowed_message_failing_at_closing_time_keeps_trying_until_the_window_closes_and_expires_with_its_lifetime(
    http_services: Services, fake_provider: FakeProvider
) -> None:
    """Queued at 20:30 with a two-hour lifetime, the window closing at 21:00 and the provider down: tried until
    21:00, held while the window is closed, undeliverable at 22:30 — not at the first retry that would fall
    after closing time."""
    fake_provider.answer(500, times=None)
    http_services.advancer.advance_to(datetime(2026, 1, 5, 20, 30, tzinfo=UTC))
    one_sms(http_services, deliver_immediately=False, lifetime={"amount": 2, "unit": "hours"})
    for _ in range(29):
        advance(http_services, minutes=1)
    [row] = rows(http_services)
    assert (row["status"], row["expires_at"]) == ("queued", datetime(2026, 1, 5, 22, 30, tzinfo=UTC))
    tried_by_closing = len(fake_provider.to("/sms"))
    assert tried_by_closing >= 5

    http_services.advancer.advance_to(datetime(2026, 1, 5, 22, 29, tzinfo=UTC))
    assert rows(http_services)[0]["status"] == "queued"
    assert len(fake_provider.to("/sms")) == tried_by_closing  # nothing is sent while the window is closed

    http_services.advancer.advance_to(datetime(2026, 1, 5, 22, 31, tzinfo=UTC))
    [row] = rows(http_services)
    assert row["status"] == "undeliverable"
    assert row["error"].startswith("message lifetime ended; last error: HTTP 500")
    assert len(fake_provider.to("/sms")) == tried_by_closing


def test_a_queued_message_past_its_lifetime_expires_without_an_attempt(
    http_services: Services, fake_provider: FakeProvider
) -> None:
    row = held_sms(http_services)
    at = row["send_after"]
    with http_services.db.engine.begin() as conn:  # as if it had been failing until then
        conn.execute(update(messages).values(expires_at=at, error="HTTP 503"))
    http_services.delivery(at)
    [row] = rows(http_services)
    assert (row["status"], row["error"]) == ("undeliverable", "message lifetime ended; last error: HTTP 503")
    assert fake_provider.to("/sms") == []


def test_attempts_are_capped(database_url: str, clock: ManualClock, fake_provider: FakeProvider) -> None:
    services = build(database_url, clock, fake_provider, delivery_max_attempts=2, retry_base_seconds=1)
    try:
        fake_provider.answer(500, times=None)
        one_sms(services)
        advance(services, minutes=5)
        [row] = rows(services)
        assert (row["status"], row["attempts"]) == ("undeliverable", 2)
        assert row["error"].startswith("gave up after 2 attempts; last error: HTTP 500")
    finally:
        services.close()


def test_a_permanent_refusal_fails_at_once(http_services: Services, fake_provider: FakeProvider) -> None:
    fake_provider.answer(400, {"error": "invalid number"})
    one_sms(http_services)
    advance(http_services, days=1)
    [row] = rows(http_services)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["error"] == 'HTTP 400: {"error": "invalid number"}'


def test_a_template_that_fails_fails_its_message_without_a_request(
    http_services: Services, fake_provider: FakeProvider
) -> None:
    one_sms(http_services, text="{{ customer.first_name | divided_by: 0 }}")
    advance(http_services, minutes=1)
    [row] = rows(http_services)
    assert row["status"] == "failed" and row["error"].startswith("template error")
    assert fake_provider.to("/sms") == []


# -- exactly once: a dead worker's message, the lease fence ----------------------------------------------------------
def test_a_message_a_dead_worker_left_sending_is_resent_under_the_same_key(
    http_services: Services, fake_provider: FakeProvider
) -> None:
    row = held_sms(http_services)
    wall = datetime.now(UTC)
    with http_services.db.engine.begin() as conn:  # what a worker killed while the gateway had it leaves behind
        conn.execute(update(messages).values(status="sending", attempts=1, leased_until=wall - timedelta(seconds=1)))
    http_services.delivery(row["send_after"])

    [row] = rows(http_services)
    [request] = fake_provider.to("/sms")
    assert request.key == f"{row['campaign_id']}.{row['entry_id']}.s1.{row['id']}"
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert row["error"] == message_sql.IN_DOUBT  # the resend is on the record, not silent


def test_a_message_another_worker_is_sending_is_left_alone(
    http_services: Services, fake_provider: FakeProvider
) -> None:
    row = held_sms(http_services)
    lease = datetime.now(UTC) + timedelta(minutes=1)
    with http_services.db.engine.begin() as conn:
        conn.execute(update(messages).values(status="sending", leased_until=lease))
    assert http_services.delivery(row["send_after"]) == 0
    assert rows(http_services)[0]["status"] == "sending" and fake_provider.to("/sms") == []


def test_a_worker_whose_lease_was_taken_over_writes_nothing(http_services: Services) -> None:
    held_sms(http_services)
    mine = datetime.now(UTC) + timedelta(minutes=1)
    theirs = mine + timedelta(seconds=5)
    with http_services.db.engine.begin() as conn:
        conn.execute(update(messages).values(status="sending", leased_until=theirs))
        [message_id] = conn.execute(select(messages.c.id)).scalars()
        stale = [message_sql.Sent(message_id, mine, 1, None, None, "x", "p")]
        assert message_sql.mark_sent(conn, http_services.db.dialect, stale, now=NOW, provider="sms_http") == 0
    assert rows(http_services)[0]["status"] == "sending"


def queue_emails(services: Services, count: int) -> list[int]:
    """``count`` e-mails of an active campaign's node queued for as many new customers, due now; none delivered yet.
    Their ids, in order."""
    people = add_customers(
        services, *({"external_id": f"c{i}", "email": f"c{i}@example.com", "first_name": f"N{i}"} for i in range(count))
    )
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    now = services.clock.now()
    queued = [
        {"campaign_id": campaign_id, "version": 1, "entry_id": customer_id, "node_id": "e1", "customer_id": customer_id}
        | {"channel": "email", "recipient": f"{name}@example.com", "status": "queued", "send_after": now}
        | {"created_at": now}
        for name, customer_id in people.items()
    ]
    with services.db.engine.begin() as conn:
        conn.execute(messages.insert(), queued)
        return sorted(conn.execute(select(messages.c.id)).scalars())


@pytest.mark.parametrize("count", [3, 150])  # a hand-over's few results; a chunk's, which PostgreSQL stages
def test_one_statement_fences_each_message_by_its_own_lease(services: Services, count: int) -> None:
    """The results of a chunk are written by one statement, and each row of it names its own lease: a message
    taken over by another worker is left alone while the others are recorded."""
    ids = queue_emails(services, count)
    mine = datetime.now(UTC) + timedelta(minutes=1)
    theirs = mine + timedelta(seconds=5)
    with services.db.engine.begin() as conn:
        conn.execute(update(messages).values(status="sending", leased_until=mine))
        conn.execute(update(messages).where(messages.c.id == ids[1]).values(leased_until=theirs))
        sent = [message_sql.Sent(message_id, mine, 1, None, None, f"text {message_id}", "p") for message_id in ids]
        assert message_sql.mark_sent(conn, services.db.dialect, sent, now=NOW, provider="sms_http") == count - 1
    assert [(r["id"], r["status"], r["body"]) for r in rows(services)] == [
        (i, "sending", None) if i == ids[1] else (i, "sent", f"text {i}") for i in ids
    ]


# -- pace ---------------------------------------------------------------------------------------------------------
def test_concurrency_keeps_that_many_requests_in_flight(
    database_url: str, clock: ManualClock, fake_provider: FakeProvider
) -> None:
    services = build(database_url, clock, fake_provider, sms_concurrency=3)
    try:
        fake_provider.answer(delay=0.3, times=None)
        add_customers(services, *({"external_id": f"c{i}", "phone": f"+3712000000{i}"} for i in range(9)))
        campaign_id = start(services, campaign(sms(), edges=[("trigger", "s1")]))
        services.campaigns.enroll(campaign_id, [f"c{i}" for i in range(9)], None)
        started = time.monotonic()
        advance(services, minutes=1)
        elapsed = time.monotonic() - started
        assert fake_provider.max_in_flight == 3
        assert [row["status"] for row in rows(services)] == ["sent"] * 9
        assert elapsed >= 0.85  # three rounds of 0.3 s
    finally:
        services.close()


def test_the_rate_limit_paces_requests(database_url: str, clock: ManualClock, fake_provider: FakeProvider) -> None:
    services = build(database_url, clock, fake_provider, sms_rate_limit=5, sms_concurrency=8)
    try:
        add_customers(services, *({"external_id": f"c{i}", "phone": f"+3712000001{i}"} for i in range(10)))
        campaign_id = start(services, campaign(sms(), edges=[("trigger", "s1")]))
        services.campaigns.enroll(campaign_id, [f"c{i}" for i in range(10)], None)
        started = time.monotonic()
        advance(services, minutes=1)
        elapsed = time.monotonic() - started
        assert len(fake_provider.to("/sms")) == 10
        assert elapsed >= 0.9  # a burst of 5, then one every 0.2 s
    finally:
        services.close()


# -- the sandbox, for every channel ---------------------------------------------------------------------------------
def test_sandbox_messages_of_every_channel_are_visible_through_the_messages_api(services: Services) -> None:
    ids = add_customers(
        services, {"external_id": "ann", "phone": "+37120000001", "email": "ann@example.com", "first_name": "Ann"}
    )
    with services.db.engine.begin() as conn:
        conn.execute(push_tokens.insert().values(customer_id=ids["ann"], token="t-1", platform="fcm", created_at=NOW))
    document = campaign(
        email_node("e1"),
        sms("s1"),
        sms("v1", mode="viber"),
        node("p1", "send_push", title="Sale, {{ customer.first_name }}", text="Today only", deliver_immediately=True),
        edges=[("trigger", "e1"), ("e1", "s1"), ("s1", "v1"), ("v1", "p1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, minutes=1)

    with api_client(services) as client:
        items = client.get("/messages", params={"customer": "ann"}).json()["items"]
    assert [(m["node_id"], m["channel"], m["status"], m["provider"], m["subject"], m["body"]) for m in items] == [
        ("e1", "email", "sent", "sandbox", "Hello Ann", items[0]["body"]),
        ("s1", "sms", "sent", "sandbox", None, "Hi Ann"),
        ("v1", "viber", "sent", "sandbox", None, "Hi Ann"),
        ("p1", "push", "sent", "sandbox", "Sale, Ann", "Today only"),
    ]


def test_a_sandbox_chunk_costs_the_same_statements_whatever_its_size(services: Services) -> None:
    """Claim, render and record share one transaction in the sandbox: its statuses and mailbox rows are each one
    statement for the chunk (on SQLite, one prepared statement run per row: its fast path), the account is read once
    per delivery, no message is marked ``sending``, and the claim locks the messages without writing them (no lease,
    no attempt counted ahead): each message is written once, by the record that counts its attempt."""
    executed: list[tuple[str, bool]] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        executed.append((statement, executemany))

    def deliver() -> list[tuple[str, bool]]:
        executed.clear()
        event.listen(services.db.engine, "before_cursor_execute", count)
        try:
            assert services.delivery(services.clock.now()) > 0
        finally:
            event.remove(services.db.engine, "before_cursor_execute", count)
        return list(executed)

    queue_emails(services, 150)  # PostgreSQL stages sets of 100 rows and more
    smaller = deliver()
    with services.db.engine.begin() as conn:
        conn.execute(messages.delete())
        conn.execute(mailbox.delete())
    ids = queue_emails(services, 300)
    bigger = deliver()

    assert len(bigger) == len(smaller)
    per_row = [statement for statement, many in bigger if many]
    assert not (per_row and services.db.dialect.stages_bulk_writes)  # PostgreSQL: no statement runs once per row
    assert sum("account_settings" in statement for statement, _ in bigger) == 1
    assert not any("sending" in statement for statement, _ in bigger)
    assert not any("attempts=(messages.attempts + " in statement for statement, _ in bigger)
    with services.db.engine.connect() as conn:
        sent = conn.execute(
            select(messages.c.id, messages.c.status, messages.c.subject, mailbox.c.recipient)
            .join(mailbox, mailbox.c.message_id == messages.c.id)
            .order_by(messages.c.id)
        ).all()
    assert [row.id for row in sent] == ids
    assert {(row.status, row.subject, row.recipient) for row in sent} == {
        ("sent", f"Hello N{n}", f"c{n}@example.com") for n in range(300)
    }
    lifetime_ends = services.clock.now() + timedelta(minutes=services.settings.message_lifetime_minutes)
    assert {(row["attempts"], row["leased_until"], row["expires_at"]) for row in rows(services)} == {
        (1, None, lifetime_ends)
    }
