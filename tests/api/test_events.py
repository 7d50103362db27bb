from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from tests.api.helpers import add_customers, error_of, start_campaign
from tests.conftest import START
from tests.engine.helpers import campaign, email_node
from tidings.model.domain_events import CUSTOMER_REGISTERED
from tidings.services import Services
from tidings.store.tables import customers, events, trigger_inbox


def stored(services: Services) -> list[tuple[str, str, dict[str, Any], datetime, datetime]]:
    query = (
        select(customers.c.external_id, events.c.name, events.c.properties, events.c.occurred_at, events.c.received_at)
        .join(customers, customers.c.id == events.c.customer_id)
        .where(events.c.name != CUSTOMER_REGISTERED)  # recorded by creating the customer, not posted
        .order_by(events.c.id)
    )
    with services.db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def test_events_are_stored_with_their_times(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "c1"})
    response = client.post(
        "/events",
        json={
            "events": [
                {"customer": "c1", "name": "order_paid", "properties": {"order_total": 42.5, "items": ["bag"]}},
                {"customer": "c1", "name": "page_viewed", "occurred_at": "2026-01-05T09:30:00+01:00"},
            ]
        },
    )
    assert response.json() == {"accepted": 2, "errors": []}
    assert stored(services) == [
        ("c1", "order_paid", {"order_total": 42.5, "items": ["bag"]}, START, START),
        ("c1", "page_viewed", {}, datetime(2026, 1, 5, 8, 30, tzinfo=UTC), START),
    ]


def test_an_unknown_event_field_is_reported_and_good_events_kept(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "c1"})
    response = client.post(
        "/events",
        json={
            "events": [
                {"customer": "c1", "name": "order_paid"},
                {"customer": "c1", "name": "order_paid", "amount": 10},
                {"customer": "c1", "name": "order_paid", "properties": {"order-id": "A-1"}},
                {"customer": "ghost", "name": "order_paid"},
                {"customer": "c1", "name": "order_paid", "occurred_at": "2026-01-05T09:30:00"},
                {"customer": "c1", "name": ""},
            ]
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 1
    assert [(e["index"], e["customer"], e["field"]) for e in body["errors"]] == [
        (1, "c1", "amount"),
        (2, "c1", "properties"),
        (3, "ghost", "customer"),
        (4, "c1", "occurred_at"),
        (5, "c1", "name"),
    ]
    messages = [e["message"] for e in body["errors"]]
    assert messages[0] == "unknown field"
    assert "'order-id'" in messages[1] and "no hyphens" in messages[1]
    assert "unknown customer 'ghost'" in messages[2]
    assert len(stored(services)) == 1


def test_all_events_bad_is_422_and_nothing_is_stored(client: httpx.Client, services: Services) -> None:
    error = error_of(client.post("/events", json={"events": [{"customer": "ghost", "name": "x"}, {"name": "x"}]}), 422)
    assert error["code"] == "invalid_input"
    assert [(e["index"], e["field"]) for e in error["details"]] == [(0, "customer"), (1, "customer")]
    assert stored(services) == []


def test_future_events_are_refused_and_slight_skew_is_now(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "c1"})
    response = client.post(
        "/events",
        json={
            "events": [
                {"customer": "c1", "name": "late", "occurred_at": "2026-01-05T10:03:00Z"},
                {"customer": "c1", "name": "future", "occurred_at": "2026-01-06T10:00:00Z"},
            ]
        },
    )
    body = response.json()
    assert body["accepted"] == 1
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, "occurred_at")]
    assert "in the future" in body["errors"][0]["message"]
    assert stored(services)[0][3] == START


def test_events_reach_active_event_triggers_in_the_same_transaction(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "c1", "email": "ann@example.com"})
    paid = start_campaign(
        client,
        campaign(
            email_node("e1"),
            edges=[("trigger", "e1")],
            trigger={"type": "event_occurred", "config": {"event": "order_paid"}},
        ),
    )
    client.post(
        "/campaigns",
        json=campaign(
            email_node("e1"),
            edges=[("trigger", "e1")],
            trigger={"type": "event_occurred", "config": {"event": "order_paid"}},
        ),
    )  # a draft: not routed
    client.post(
        "/events", json={"events": [{"customer": "c1", "name": "order_paid"}, {"customer": "c1", "name": "other"}]}
    )
    with services.db.engine.connect() as conn:
        assert conn.execute(select(trigger_inbox.c.campaign_id)).scalars().all() == [paid]


def test_event_batch_limits(client: httpx.Client) -> None:
    assert error_of(client.post("/events", json={"events": []}), 422)["details"][0]["field"] == "events"
    error = error_of(client.post("/events", json={"events": [{"customer": "c", "name": "n"}] * 10_001}), 422)
    assert error["details"][0]["field"] == "events"
    assert error_of(client.post("/events", json={"events": [], "extra": 1}), 422)["code"] == "invalid_input"
