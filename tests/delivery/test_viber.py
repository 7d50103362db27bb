"""Viber and the Viber → SMS cascade, through real HTTP gateways on loopback, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from tests.actions.helpers import node
from tests.delivery.fakes import FakeProvider, fake_provider, fake_provider_server, provider_settings
from tests.engine.helpers import add_customers, advance, advance_to, campaign, counters, start, trace
from tidings.core.clock import ManualClock
from tidings.delivery.channels.viber import OutboundViber
from tidings.delivery.providers import send_all
from tidings.delivery.viber import ViberProvider
from tidings.services import Services
from tidings.settings import Settings
from tidings.store.tables import messages
from tidings.store.tracking import TrackingEvent, record_events

__all__ = ["fake_provider", "fake_provider_server"]  # fixtures

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def http_services(database_url: str, clock: ManualClock, fake_provider: FakeProvider) -> Iterator[Services]:
    built = Services.build(
        Settings(database_url=database_url, clock="manual", **provider_settings(fake_provider)), clock=clock
    )
    yield built
    built.close()


def viber(node_id: str = "s1", **config: Any) -> dict[str, Any]:
    defaults = {"mode": "viber_sms", "text": "Hi {{ customer.first_name }}", "deliver_immediately": True}
    return node(node_id, "send_sms", **(defaults | config))


def rows(services: Services) -> list[dict[str, Any]]:
    with services.db.engine.connect() as conn:
        return [dict(row) for row in conn.execute(select(messages).order_by(messages.c.id)).mappings()]


def enroll(services: Services, *names: str, **config: Any) -> int:
    add_customers(
        services,
        *(
            {"external_id": name, "phone": f"+3712000000{i}", "first_name": name.title()}
            for i, name in enumerate(names)
        ),
    )
    campaign_id = start(services, campaign(viber(**config), edges=[("trigger", "s1")]))
    services.campaigns.enroll(campaign_id, list(names), None)
    return campaign_id


def test_the_viber_request(fake_provider: FakeProvider) -> None:
    provider = ViberProvider(Settings(**provider_settings(fake_provider)))
    message = OutboundViber(
        5, "3.4.s1.5", "+37120000001", "Shop", "Sale", "https://x.example/i.png", "Open", "https://x.example/s"
    )
    results = send_all(provider, [message, OutboundViber(6, "3.4.s1.6", "+37120000002", "Shop", "Plain")], NOW)

    assert [result.ok for result in results] == [True, True]
    first, second = sorted(fake_provider.to("/viber"), key=lambda request: request.body["reference"])
    assert first.body == {
        "to": "+37120000001",
        "sender": "Shop",
        "text": "Sale",
        "image_url": "https://x.example/i.png",
        "button": {"text": "Open", "url": "https://x.example/s"},
        "reference": "3.4.s1.5",
    }
    assert first.headers["idempotency-key"] == "3.4.s1.5"
    assert second.body == {"to": "+37120000002", "sender": "Shop", "text": "Plain", "reference": "3.4.s1.6"}


def test_a_customer_viber_cannot_reach_gets_the_sms_instead(
    http_services: Services, fake_provider: FakeProvider
) -> None:
    fake_provider.answer(404, {"error": "not a Viber user"}, when=lambda request: request.path == "/viber")
    campaign_id = enroll(http_services, "ann")
    advance(http_services, minutes=1)

    [row] = rows(http_services)  # one message per entry, node and customer: the same row became the SMS
    assert (row["channel"], row["status"], row["provider"], row["body"]) == ("sms", "sent", "sms_http", "Hi Ann")
    assert row["payload"]["viber"]["error"] == 'Viber failed: HTTP 404: {"error": "not a Viber user"}'
    [viber_request] = fake_provider.to("/viber")
    [sms_request] = fake_provider.to("/sms")
    key = f"{campaign_id}.{row['entry_id']}.s1.{row['id']}"
    assert (viber_request.key, sms_request.key) == (key, f"{key}.sms")
    assert sms_request.body["text"] == "Hi Ann"
    assert counters(http_services, campaign_id)[("s1", "performed")] == 1  # routed once, when it was queued


def test_viber_accepted_means_no_sms(http_services: Services, fake_provider: FakeProvider) -> None:
    enroll(http_services, "ann")
    advance(http_services, days=1)
    [row] = rows(http_services)
    assert (row["channel"], row["status"], row["provider"]) == ("viber", "sent", "viber")
    assert fake_provider.to("/sms") == []


def test_viber_failing_until_its_lifetime_ends_falls_back_to_sms(
    http_services: Services, fake_provider: FakeProvider
) -> None:
    fake_provider.answer(503, times=None, when=lambda request: request.path == "/viber")
    enroll(http_services, "ann", lifetime={"amount": 10, "unit": "minutes"})
    advance(http_services, hours=1)
    [row] = rows(http_services)
    assert (row["channel"], row["status"]) == ("sms", "sent")
    assert "lifetime" in row["payload"]["viber"]["error"]
    assert len(fake_provider.to("/viber")) == 4 and len(fake_provider.to("/sms")) == 1  # at 0, 1, 3 and 7 minutes


def test_a_bounce_reported_for_the_viber_message_sends_the_sms(
    http_services: Services, fake_provider: FakeProvider
) -> None:
    enroll(http_services, "ann")
    advance(http_services, minutes=1)
    [row] = rows(http_services)
    assert (row["channel"], row["status"]) == ("viber", "sent")
    with http_services.db.engine.begin() as conn:  # the gateway's delivery report: not delivered
        record_events(conn, http_services.db.dialect, [TrackingEvent(row["id"], "bounced", NOW)], now=NOW)
    advance(http_services, minutes=1)
    [row] = rows(http_services)
    assert (row["channel"], row["status"], row["payload"]["viber"]["error"]) == ("sms", "sent", "Viber bounced")
    assert len(fake_provider.to("/sms")) == 1


def test_a_fallback_decided_at_night_waits_for_the_window(http_services: Services) -> None:
    advance_to(http_services, datetime(2026, 1, 5, 20, 50, tzinfo=UTC))  # the window closes at 21:00 (UTC)
    enroll(http_services, "ann", deliver_immediately=False)
    advance(http_services, minutes=1)
    [row] = rows(http_services)
    assert (row["channel"], row["status"]) == ("viber", "sent")
    night = datetime(2026, 1, 5, 23, tzinfo=UTC)
    advance_to(http_services, night)
    with http_services.db.engine.begin() as conn:  # a late delivery report: not delivered
        record_events(conn, http_services.db.dialect, [TrackingEvent(row["id"], "bounced", night)], now=night)
    advance(http_services, minutes=1)
    [row] = rows(http_services)
    assert (row["channel"], row["status"], row["send_after"]) == ("sms", "queued", datetime(2026, 1, 6, 9, tzinfo=UTC))
    advance_to(http_services, datetime(2026, 1, 6, 10, tzinfo=UTC))
    assert rows(http_services)[0]["status"] == "sent"


def test_no_fallback_for_viber_only_nor_for_customers_who_refused_sms(
    http_services: Services, fake_provider: FakeProvider
) -> None:
    fake_provider.answer(404, {"error": "not a Viber user"}, times=None, when=lambda request: request.path == "/viber")
    ids = add_customers(
        http_services,
        {"external_id": "ann", "phone": "+37120000001"},
        {"external_id": "bob", "phone": "+37120000002", "subscriptions": {"sms": False}},
    )
    document = campaign(viber("only", mode="viber"), viber("both"), edges=[("trigger", "only"), ("only", "both")])
    campaign_id = start(http_services, document)
    http_services.campaigns.enroll(campaign_id, ["ann", "bob"], None)
    advance(http_services, minutes=5)

    statuses = {(row["node_id"], row["customer_id"]): (row["channel"], row["status"]) for row in rows(http_services)}
    assert statuses == {
        ("only", ids["ann"]): ("viber", "failed"),
        ("only", ids["bob"]): ("viber", "failed"),
        ("both", ids["ann"]): ("sms", "sent"),
        ("both", ids["bob"]): ("viber", "failed"),  # may get Viber, not SMS: the cascade stops at Viber
    }
    assert len(fake_provider.to("/sms")) == 1
    assert trace(http_services, ids["bob"])[-1] == ("both", "performed", "out", None)
