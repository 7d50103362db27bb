"""The loyalty processor with both adapters: requests are claimed, sent with a stable idempotency key, retried
with back-off on transient failures, failed for good on a refusal, and never applied twice — not after a
timeout, not after a worker died mid-call, not when two workers run at once."""

from __future__ import annotations

import functools
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import delete, insert, select

from tests.actions.helpers import make_audience, node
from tests.conftest import START
from tests.engine.helpers import add_customers, advance, all_at_once, campaign, start
from tests.loyalty.conftest import MAX_ATTEMPTS, RETRY_BASE, TIMEOUT
from tests.loyalty.fake_server import TOKEN, FakeLoyalty
from tidings.core.clock import ManualClock, SystemClock
from tidings.core.retry import RetryPolicy
from tidings.loyalty.processor import LoyaltyProcessor
from tidings.services import Services, loyalty_adapter
from tidings.settings import Settings
from tidings.store.tables import customers, loyalty_requests, points_ledger


def requests(services: Services) -> list[dict[str, Any]]:
    with services.db.engine.connect() as conn:
        query = select(loyalty_requests).order_by(loyalty_requests.c.id)
        return [dict(row) for row in conn.execute(query).mappings()]


def add_bonus_request(services: Services, customer_id: int, amount: float, **payload: Any) -> int:
    """A bonus request outside any campaign (the built-in ledger takes those too)."""
    with services.db.engine.begin() as conn:
        inserted = conn.execute(
            insert(loyalty_requests).values(
                kind="bonus",
                campaign_id=0,
                customer_id=customer_id,
                payload={"amount": amount, **payload},
                status="pending",
                created_at=services.clock.now(),
            )
        ).inserted_primary_key
    assert inserted is not None
    return int(inserted[0])


def unsubscribe_email(services: Services, *external_ids: str) -> None:
    add_customers(services, *({"external_id": name, "subscriptions": {"email": False}} for name in external_ids))


def run_audience_campaign(services: Services, who: list[str]) -> int:
    audience = make_audience(services, "Loyal")
    document = campaign(
        node("a1", "audience_action", audience=audience, send_to_loyalty=True), edges=[("trigger", "a1")]
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, who, None)
    advance(services, minutes=1)
    return campaign_id


# -- the built-in ledger ---------------------------------------------------------------------------------------
def test_the_builtin_ledger_credits_bonuses_and_acknowledges_sync_requests(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann"}, {"external_id": "bob"})
    first = add_bonus_request(services, ids["ann"], 25.5, description="Welcome", expiry_days=30)
    add_bonus_request(services, ids["ann"], 4.5)
    unsubscribe_email(services, "bob")
    advance(services, minutes=1)

    rows = requests(services)
    assert [(row["kind"], row["status"], row["attempts"]) for row in rows] == [
        ("bonus", "done", 1),
        ("bonus", "done", 1),
        ("subscription", "done", 1),
    ]
    assert rows[2]["response"] == {"adapter": "builtin", "applied": False}
    with services.db.engine.connect() as conn:
        balance = conn.execute(select(customers.c.points_balance).where(customers.c.id == ids["ann"])).scalar_one()
        ledger = conn.execute(
            select(points_ledger.c.amount, points_ledger.c.reason, points_ledger.c.expires_at).order_by(
                points_ledger.c.id
            )
        ).all()
    assert balance == Decimal("30.00")
    assert [tuple(row) for row in ledger] == [
        (Decimal("25.50"), "Welcome", START + timedelta(days=30)),
        (Decimal("4.50"), None, None),
    ]
    assert requests(services)[0]["id"] == first


# -- the HTTP adapter ------------------------------------------------------------------------------------------
def test_audience_and_subscription_requests_reach_the_program_with_auth_and_a_stable_key(
    http_services: Services, loyalty_server: FakeLoyalty
) -> None:
    services = http_services
    ids = add_customers(services, {"external_id": "ann"}, {"external_id": "bob"})
    campaign_id = run_audience_campaign(services, ["ann"])
    unsubscribe_email(services, "bob")
    advance(services, minutes=1)

    assert [(row["kind"], row["status"]) for row in requests(services)] == [
        ("audience", "done"),
        ("subscription", "done"),
    ]
    audience, subscription = loyalty_server.seen
    entry_key = f"tidings:{campaign_id}:"
    assert audience.path == "audiences" and audience.key is not None and audience.key.startswith(entry_key)
    assert audience.key.endswith(f":a1:{ids['ann']}")
    assert audience.body["customer"] == "ann" and audience.body["operation"] == "add"
    assert audience.body["reference"] == audience.key
    assert subscription.path == "subscriptions"
    assert subscription.key == f"tidings:request:{requests(services)[1]['id']}"
    assert subscription.body == {
        "type": "Mailings",
        "channel": "email",
        "active": False,
        "customer": "bob",
        "reference": subscription.key,
    }
    assert {seen.authorization for seen in loyalty_server.seen} == {TOKEN}


def test_transient_failures_are_retried_with_back_off_and_the_same_key(
    http_services: Services, loyalty_server: FakeLoyalty
) -> None:
    services = http_services
    ids = add_customers(services, {"external_id": "ann"}, {"external_id": "bob"})
    loyalty_server.script("ann", "503", "500")
    loyalty_server.script("bob", "429")  # Retry-After: 120 s, more than the 60 s back-off
    ann = add_bonus_request(services, ids["ann"], 10)
    bob = add_bonus_request(services, ids["bob"], 10)
    services.scheduler.run_until_idle()

    rows = {row["id"]: row for row in requests(services)}
    assert rows[ann]["status"] == "pending" and rows[ann]["attempts"] == 1
    assert rows[ann]["next_attempt_at"] == START + timedelta(seconds=RETRY_BASE)
    assert rows[ann]["error"] == "unavailable: try later"
    assert rows[bob]["next_attempt_at"] == START + timedelta(seconds=120)

    advance(services, seconds=RETRY_BASE)  # ann's second attempt: 500 again, then twice the delay
    rows = {row["id"]: row for row in requests(services)}
    assert (rows[ann]["attempts"], rows[ann]["next_attempt_at"]) == (2, START + timedelta(seconds=3 * RETRY_BASE))
    advance(services, minutes=10)

    rows = {row["id"]: row for row in requests(services)}
    assert [(rows[i]["status"], rows[i]["attempts"], rows[i]["error"]) for i in (ann, bob)] == [
        ("done", 3, None),
        ("done", 2, None),
    ]
    assert rows[ann]["response"]["status"] == "accrued"
    assert len(set(loyalty_server.keys_of("ann"))) == 1 and len(loyalty_server.keys_of("ann")) == 3
    assert len(loyalty_server.bonuses_of("ann")) == 1


def test_a_refusal_fails_the_request_with_the_programs_reason(
    http_services: Services, loyalty_server: FakeLoyalty
) -> None:
    services = http_services
    ids = add_customers(services, {"external_id": "ann"})
    loyalty_server.script("ann", "reject:Customer-Blocked")
    request_id = add_bonus_request(services, ids["ann"], 10)
    advance(services, minutes=1)

    [row] = requests(services)
    assert (row["id"], row["status"], row["attempts"]) == (request_id, "failed", 1)
    assert row["error"] == "customer_blocked: refused: Customer-Blocked"
    assert row["response"] == {
        "status": 422,
        "body": {"error": {"code": "Customer-Blocked", "message": "refused: Customer-Blocked"}},
        "reason": "customer_blocked",
    }
    assert loyalty_server.ledger == []


def test_a_request_that_keeps_failing_fails_after_the_last_attempt(
    http_services: Services, loyalty_server: FakeLoyalty
) -> None:
    services = http_services
    ids = add_customers(services, {"external_id": "ann"})
    loyalty_server.script("ann", *["503"] * MAX_ATTEMPTS)
    add_bonus_request(services, ids["ann"], 10)
    advance(services, days=1)

    [row] = requests(services)
    assert (row["status"], row["attempts"], row["response"]["reason"]) == ("failed", MAX_ATTEMPTS, "unavailable")
    assert len(loyalty_server.seen) == MAX_ATTEMPTS


def test_a_timed_out_request_is_sent_again_with_its_key_and_applied_once(
    http_services: Services, loyalty_server: FakeLoyalty
) -> None:
    services = http_services
    ids = add_customers(services, {"external_id": "ann"})
    loyalty_server.script("ann", "slow", "slow")  # applied at the first call; the client saw two timeouts
    add_bonus_request(services, ids["ann"], 10)
    services.scheduler.run_until_idle()
    [row] = requests(services)
    assert (row["status"], row["attempts"], row["error"]) == (
        "pending",
        1,
        "timeout: no answer in time; outcome unknown",
    )

    advance(services, hours=1)
    [row] = requests(services)
    assert (row["status"], row["attempts"]) == ("done", 2)
    assert len(loyalty_server.bonuses_of("ann")) == 1
    assert len(set(loyalty_server.keys_of("ann"))) == 1


def test_a_worker_that_died_mid_call_is_replaced_and_the_bonus_is_not_applied_twice(
    http_services: Services, loyalty_server: FakeLoyalty
) -> None:
    services = http_services
    ids = add_customers(services, {"external_id": "ann"}, {"external_id": "bob"})
    for customer in ("ann", "bob"):
        add_bonus_request(services, ids[customer], 10)
    wall = ManualClock(START)
    processor = LoyaltyProcessor(
        services.db,
        services.loyalty.adapter,
        retry=RetryPolicy(MAX_ATTEMPTS, timedelta(seconds=RETRY_BASE), timedelta(hours=1)),
        chunk_size=10,
        lease_seconds=30,
        wall=wall,
    )
    now = services.clock.now()
    with services.db.engine.begin() as conn:  # the doomed worker claims, calls, and dies before recording
        calls = processor.claim(conn, now)
    services.loyalty.adapter.apply(None, calls, now)
    assert len(loyalty_server.ledger) == 2

    assert processor(now) == 0  # the lease still holds: nobody else takes them
    wall.set(START + timedelta(seconds=31))
    assert processor(now) == 2
    assert [(row["status"], row["attempts"]) for row in requests(services)] == [("done", 2), ("done", 2)]
    assert len(loyalty_server.ledger) == 2  # the retries were replays
    assert [seen.answer for seen in loyalty_server.seen] == [201, 201, 201, 201]


def test_two_workers_at_once_send_each_request_once(http_services: Services, loyalty_server: FakeLoyalty) -> None:
    services = http_services
    ids = add_customers(services, *({"external_id": f"c{i}"} for i in range(40)))
    for customer_id in ids.values():
        add_bonus_request(services, customer_id, 1)
    # timeouts are not what this test is about: on a loaded machine the fake can take longer than TIMEOUT
    patient = loyalty_adapter(services.settings.model_copy(update={"loyalty_timeout_seconds": 30.0}), services.db)
    processors = [
        LoyaltyProcessor(
            services.db,
            patient,
            retry=RetryPolicy(MAX_ATTEMPTS, timedelta(seconds=RETRY_BASE), timedelta(hours=1)),
            chunk_size=5,
            lease_seconds=60,
            wall=SystemClock(),
        )
        for _ in range(2)
    ]
    now = services.clock.now()
    handled = all_at_once(*(functools.partial(processor, now) for processor in processors))
    patient.close()
    assert sum(handled) == 40
    assert len(loyalty_server.seen) == 40 and len({seen.key for seen in loyalty_server.seen}) == 40
    assert {(row["status"], row["attempts"]) for row in requests(services)} == {("done", 1)}


def test_a_request_whose_customer_was_deleted_fails(http_services: Services, loyalty_server: FakeLoyalty) -> None:
    services = http_services
    ids = add_customers(services, {"external_id": "ann"})
    add_bonus_request(services, ids["ann"], 10)
    with services.db.engine.begin() as conn:
        conn.execute(delete(customers))
    advance(services, minutes=1)
    [row] = requests(services)
    assert (row["status"], row["response"]) == ("failed", {"reason": "customer_missing"})
    assert loyalty_server.seen == []


def test_wrong_credentials_are_a_refusal_not_a_retry(
    database_url: str, clock: ManualClock, loyalty_server: FakeLoyalty
) -> None:
    settings = Settings(
        database_url=database_url,
        clock="manual",
        loyalty_adapter="http",
        loyalty_url=loyalty_server.url,
        loyalty_auth_header="Authorization: Bearer wrong",
        loyalty_timeout_seconds=TIMEOUT,
    )
    services = Services.build(settings, clock=clock)
    try:
        ids = add_customers(services, {"external_id": "ann"})
        add_bonus_request(services, ids["ann"], 10)
        advance(services, minutes=1)
        [row] = requests(services)
        assert (row["status"], row["response"]["reason"]) == ("failed", "unauthorized")
    finally:
        services.close()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"loyalty_adapter": "http"}, "TIDINGS_LOYALTY_ADAPTER=http needs TIDINGS_LOYALTY_URL"),
        ({"loyalty_adapter": "http", "loyalty_url": "ftp://x"}, "must be an http:// or https:// URL"),
        ({"loyalty_auth_header": "Bearer xyz"}, "an auth header is `Name: value`"),
        ({"loyalty_timeout_seconds": 0}, "greater than 0"),
    ],
)
def test_bad_loyalty_settings_stop_the_start(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**values)
