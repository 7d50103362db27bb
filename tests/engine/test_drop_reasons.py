"""Channel eligibility (§1.3, D14): ineligible customers drop out of send_email, counted and traced by reason."""

from __future__ import annotations

from sqlalchemy import select

from tests.engine.helpers import (
    add_category,
    add_customers,
    advance,
    campaign,
    counters,
    mailbox_count,
    start,
    subscribe_category,
    trace,
    unbalanced_counters,
    wait_node,
    where_is,
)
from tidings.services import Services
from tidings.store.tables import messages


def category_email(node_id: str, category: str | None) -> dict[str, object]:
    config: dict[str, object] = {"subject": "News", "body_html": "<p>News</p>"}
    if category is not None:
        config["category"] = category
    return {"id": node_id, "type": "send_email", "config": config}


def test_each_ineligible_customer_drops_with_its_own_reason(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "eligible", "email": "ok@example.com"},
        {"external_id": "no_email"},
        {"external_id": "invalid", "email": "not-an-address"},
        {"external_id": "unsubscribed", "email": "unsub@example.com", "subscriptions": {"email": False}},
        {"external_id": "not_in_category", "email": "other@example.com"},
    )
    news = add_category(services, "news")
    for name in ("eligible", "no_email", "invalid", "unsubscribed"):
        subscribe_category(services, ids[name], news, "Y")
    subscribe_category(services, ids["not_in_category"], news, "N")
    campaign_id = start(
        services,
        campaign(category_email("e1", "news"), wait_node("w1", 1, "hours"), edges=[("trigger", "e1"), ("e1", "w1")]),
    )
    assert services.campaigns.enroll(campaign_id, list(ids), None)["entered"] == 5
    advance(services, minutes=1)

    values = counters(services, campaign_id)
    assert {metric: value for (node, metric), value in values.items() if node == "e1"} == {
        "entered": 5,
        "performed": 1,
        "port:out": 1,
        "dropped:no_contact": 1,
        "dropped:invalid_contact": 1,
        "dropped:unsubscribed_channel": 1,
        "dropped:unsubscribed_category": 1,
    }
    assert values[("w1", "entered")] == 1
    assert where_is(services, ids["eligible"]) == ["w1"]
    expected = {
        "no_email": "no_contact",
        "invalid": "invalid_contact",
        "unsubscribed": "unsubscribed_channel",
        "not_in_category": "unsubscribed_category",
    }
    for name, reason in expected.items():
        assert trace(services, ids[name])[-1] == ("e1", "dropped", None, reason)
        assert where_is(services, ids[name]) == []
    with services.db.engine.connect() as conn:
        assert list(conn.execute(select(messages.c.customer_id, messages.c.recipient))) == [
            (ids["eligible"], "ok@example.com")
        ]
    assert mailbox_count(services) == 1
    assert unbalanced_counters(services, campaign_id) == {}


def test_malformed_and_empty_addresses(services: Services) -> None:
    bad = [
        "plainaddress",
        "no-tld@example",
        "two@@example.com",
        "a@b@example.com",
        "has space@example.com",
        "@example.com",
        "ann@.com",
    ]
    ids = add_customers(
        services,
        {"external_id": "empty", "email": ""},
        *({"external_id": f"bad{index}", "email": address} for index, address in enumerate(bad)),
        {"external_id": "good", "email": "ann.lee+tag@mail.example.co"},
    )
    campaign_id = start(services, campaign(category_email("e1", None), edges=[("trigger", "e1")]))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    values = counters(services, campaign_id)
    assert values[("e1", "dropped:no_contact")] == 1
    assert values[("e1", "dropped:invalid_contact")] == len(bad)
    assert values[("e1", "performed")] == 1
    assert trace(services, ids["good"])[-1] == ("e1", "performed", "out", None)
    assert mailbox_count(services, "ann.lee+tag@mail.example.co") == 1


def test_without_a_category_only_the_channel_matters(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "subscribed", "email": "a@example.com", "subscriptions": {"email": True}},
        {"external_id": "never_asked", "email": "b@example.com"},
        {"external_id": "sms_only", "email": "c@example.com", "subscriptions": {"email": False, "sms": True}},
    )
    campaign_id = start(services, campaign(category_email("e1", None), edges=[("trigger", "e1")]))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert trace(services, ids["subscribed"])[-1] == ("e1", "performed", "out", None)
    assert trace(services, ids["never_asked"])[-1] == ("e1", "performed", "out", None)
    assert trace(services, ids["sms_only"])[-1] == ("e1", "dropped", None, "unsubscribed_channel")
    assert mailbox_count(services) == 2
