"""Push through an FCM-HTTP-v1-compatible API on loopback, on both databases: every active token is tried,
sent when one accepted, UNREGISTERED tokens deactivated."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.actions.helpers import node
from tests.delivery.fakes import FakeProvider, fake_provider, fake_provider_server, fcm_unregistered, provider_settings
from tests.engine.helpers import add_customers, advance, campaign, start, trace
from tidings.core.clock import ManualClock
from tidings.services import Services
from tidings.settings import Settings
from tidings.store.tables import messages, push_tokens

__all__ = ["fake_provider", "fake_provider_server"]  # fixtures

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
SEND = "/v1/projects/test/messages:send"


@pytest.fixture
def http_services(database_url: str, clock: ManualClock, fake_provider: FakeProvider) -> Iterator[Services]:
    built = Services.build(
        Settings(database_url=database_url, clock="manual", **provider_settings(fake_provider)), clock=clock
    )
    yield built
    built.close()


def push(node_id: str = "p1", **config: Any) -> dict[str, Any]:
    defaults = {
        "title": "Hi {{ customer.first_name }}",
        "text": "Your cart misses you",
        "link": "app://cart/{{ customer.external_id }}",
        "image_url": "https://cdn.example/cart.png",
        "deliver_immediately": True,
    }
    return node(node_id, "send_push", **(defaults | config))


def add_tokens(services: Services, customer_id: int, *tokens: str, active: bool = True) -> None:
    with services.db.engine.begin() as conn:
        conn.execute(
            push_tokens.insert(),
            [
                {"customer_id": customer_id, "token": token, "platform": "fcm", "active": active, "created_at": NOW}
                for token in tokens
            ],
        )


def active_tokens(services: Services) -> dict[str, bool]:
    with services.db.engine.connect() as conn:
        return dict(conn.execute(select(push_tokens.c.token, push_tokens.c.active)).all())  # type: ignore[arg-type]


def rows(services: Services) -> list[dict[str, Any]]:
    with services.db.engine.connect() as conn:
        return [dict(row) for row in conn.execute(select(messages).order_by(messages.c.id)).mappings()]


def run(services: Services, *names: str, seconds: float = 60, **config: Any) -> int:
    campaign_id = start(services, campaign(push(**config), edges=[("trigger", "p1")]))
    services.campaigns.enroll(campaign_id, list(names), None)
    advance(services, seconds=seconds)
    return campaign_id


def test_two_tokens_one_unregistered_is_sent_and_the_dead_token_deactivated(
    http_services: Services, fake_provider: FakeProvider
) -> None:
    ids = add_customers(http_services, {"external_id": "ann", "first_name": "Ann"})
    add_tokens(http_services, ids["ann"], "tok-old", "tok-new")
    fake_provider.answer(404, fcm_unregistered(), when=lambda request: request.body["message"]["token"] == "tok-old")
    campaign_id = run(http_services, "ann")

    [row] = rows(http_services)
    assert (row["status"], row["provider"], row["subject"], row["body"]) == (
        "sent",
        "fcm",
        "Hi Ann",
        "Your cart misses you",
    )
    assert row["provider_message_id"].startswith("projects/fake/messages/")
    assert active_tokens(http_services) == {"tok-old": False, "tok-new": True}
    requests = fake_provider.to(SEND)
    assert sorted(request.body["message"]["token"] for request in requests) == ["tok-new", "tok-old"]
    key = f"{campaign_id}.{row['entry_id']}.p1.{row['id']}"
    assert requests[0].headers["authorization"] == "Bearer fcm-secret"
    assert requests[0].body["message"]["notification"] == {
        "title": "Hi Ann",
        "body": "Your cart misses you",
        "image": "https://cdn.example/cart.png",
    }
    assert requests[0].body["message"]["data"] == {
        "message_id": str(row["id"]),
        "idempotency_key": key,
        "link": "app://cart/ann",
    }


def test_only_active_tokens_are_tried(http_services: Services, fake_provider: FakeProvider) -> None:
    ids = add_customers(http_services, {"external_id": "ann"})
    add_tokens(http_services, ids["ann"], "tok-live")
    add_tokens(http_services, ids["ann"], "tok-gone", active=False)
    run(http_services, "ann")
    assert [request.body["message"]["token"] for request in fake_provider.to(SEND)] == ["tok-live"]


def test_every_token_unregistered_fails_and_next_time_the_customer_has_no_valid_contact(
    http_services: Services, fake_provider: FakeProvider
) -> None:
    ids = add_customers(http_services, {"external_id": "ann"})
    add_tokens(http_services, ids["ann"], "tok-a", "tok-b")
    fake_provider.answer(404, fcm_unregistered(), times=None)
    campaign_id = run(http_services, "ann")

    [row] = rows(http_services)
    assert row["status"] == "failed"
    assert row["error"].startswith("no device token accepted the push") and "UNREGISTERED" in row["error"]
    assert active_tokens(http_services) == {"tok-a": False, "tok-b": False}

    services = http_services
    services.campaigns.transition(campaign_id, "stop")
    run(services, "ann")  # a second campaign
    assert trace(services, ids["ann"])[-1] == ("p1", "dropped", None, "invalid_contact")


def test_a_transient_answer_from_every_token_retries(http_services: Services, fake_provider: FakeProvider) -> None:
    ids = add_customers(http_services, {"external_id": "ann"})
    add_tokens(http_services, ids["ann"], "tok-a")
    fake_provider.answer(503, {"error": {"status": "UNAVAILABLE"}}, headers={"Retry-After": "30"})
    run(http_services, "ann", seconds=1)
    [row] = rows(http_services)
    assert (row["status"], row["send_after"], row["error"]) == ("queued", NOW + timedelta(seconds=30), row["error"])
    assert row["error"].startswith("HTTP 503")
    advance(http_services, minutes=1)
    assert rows(http_services)[0]["status"] == "sent"
    assert active_tokens(http_services) == {"tok-a": True}
