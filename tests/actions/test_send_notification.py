"""Send notification (D6): one inbox item per customer, rendered when stored, only with the app permission (and
the category when one is named); control customers get nothing; merged branches store one item."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.actions.helpers import make_audience, node, node_metrics
from tests.engine.helpers import (
    add_category,
    add_customers,
    advance,
    campaign,
    counters,
    start,
    subscribe_category,
    trace,
    unbalanced_counters,
    wait_node,
    where_is,
)
from tidings.services import Services
from tidings.store.tables import notifications


def notification(node_id: str = "n1", **config: Any) -> dict[str, Any]:
    return node(node_id, "send_notification", **({"title": "Hello", "text": "A gift for you"} | config))


def stored(services: Services) -> dict[int, dict[str, Any]]:
    """Notifications by customer id."""
    with services.db.engine.connect() as conn:
        rows = conn.execute(select(notifications).order_by(notifications.c.id)).mappings().all()
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        assert row["customer_id"] not in found, "two notifications for one customer"
        found[row["customer_id"]] = dict(row)
    return found


def test_each_customer_gets_one_item_rendered_for_them_when_it_is_stored(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "ann", "first_name": "Ann", "city": "12.5"},
        {"external_id": "bob", "first_name": "Bob"},
    )
    config = {
        "title": "{{ customer.first_name }}, a gift",
        "text": "Worth {{ customer.city | money: 'EUR' }}",
        "image_url": "https://example.com/gift.png",
        "link": "myapp://gifts/7",
        "lifetime": {"amount": 2, "unit": "days"},
    }
    campaign_id = start(
        services, campaign(notification(**config), wait_node("w1", 1), edges=[("trigger", "n1"), ("n1", "w1")])
    )
    services.campaigns.enroll(campaign_id, ["ann", "bob"], None)
    created = services.clock.now()
    advance(services, minutes=1)

    items = stored(services)
    assert {customer: (item["title"], item["text"]) for customer, item in items.items()} == {
        ids["ann"]: ("Ann, a gift", "Worth 12.50 EUR"),
        ids["bob"]: ("Bob, a gift", "Worth "),
    }
    ann = items[ids["ann"]]
    assert (ann["image_url"], ann["link"], ann["category"], ann["read_at"]) == (
        "https://example.com/gift.png",
        "myapp://gifts/7",
        None,
        None,
    )
    assert (ann["campaign_id"], ann["node_id"]) == (campaign_id, "n1")
    assert created <= ann["created_at"] <= created + timedelta(minutes=1)
    assert ann["expires_at"] == ann["created_at"] + timedelta(days=2)
    assert where_is(services, ids["ann"]) == ["w1"]
    assert trace(services, ids["bob"])[-1] == ("n1", "performed", "out", None)

    # the profile changes later: what was stored stays as the customer was told it
    add_customers(services, {"external_id": "ann", "first_name": "Anna"})
    assert stored(services)[ids["ann"]]["title"] == "Ann, a gift"


def test_without_a_lifetime_the_item_never_expires_and_a_fixed_text_is_stored_as_it_is(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann"})
    campaign_id = start(services, campaign(notification(), edges=[("trigger", "n1")]))
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, minutes=1)
    item = stored(services)[ids["ann"]]
    assert (item["title"], item["text"], item["expires_at"]) == ("Hello", "A gift for you", None)


def test_the_app_permission_and_the_category_decide_who_gets_one(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "fan"},
        {"external_id": "app_off", "subscriptions": {"app": False}},
        {"external_id": "not_in_category"},
        {"external_id": "category_on_email_only"},
        {"external_id": "push_off_only", "subscriptions": {"push": False, "email": False}},
    )
    promo = add_category(services, "promo")
    for name in ("fan", "app_off", "push_off_only"):
        subscribe_category(services, ids[name], promo, channel="app")
    subscribe_category(services, ids["category_on_email_only"], promo, channel="email")
    campaign_id = start(
        services, campaign(notification(category="promo"), wait_node("w1", 1), edges=[("trigger", "n1"), ("n1", "w1")])
    )
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)

    assert set(stored(services)) == {ids["fan"], ids["push_off_only"]}
    assert stored(services)[ids["fan"]]["category"] == "promo"
    reasons = {name: trace(services, customer)[-1][3] for name, customer in ids.items()}
    assert reasons == {
        "fan": None,
        "app_off": "unsubscribed_channel",
        "not_in_category": "unsubscribed_category",
        "category_on_email_only": "unsubscribed_category",
        "push_off_only": None,
    }
    assert node_metrics(counters(services, campaign_id), "n1") == {
        "entered": 5,
        "performed": 2,
        "port:out": 2,
        "dropped:unsubscribed_channel": 1,
        "dropped:unsubscribed_category": 2,
    }
    assert unbalanced_counters(services, campaign_id) == {}


def test_control_group_customers_get_nothing_and_continue(services: Services) -> None:
    ids = add_customers(services, {"external_id": "main"}, {"external_id": "held_out"})
    holdout = make_audience(services, "Holdout", [ids["held_out"]])
    for title in ("Static", "For {{ customer.external_id }}"):  # both ways of storing
        campaign_id = start(
            services,
            campaign(
                node("cg", "control_group", method="audience", audience=holdout),
                notification(title=title),
                wait_node("w1", 1),
                edges=[("trigger", "cg"), ("cg", "n1"), ("n1", "w1")],
            ),
        )
        services.campaigns.enroll(campaign_id, ["main", "held_out"], None)
        advance(services, minutes=1)
        with services.db.engine.connect() as conn:
            query = select(notifications.c.customer_id).where(notifications.c.campaign_id == campaign_id)
            assert list(conn.execute(query).scalars()) == [ids["main"]]
        assert trace(services, ids["held_out"])[-1] == ("n1", "performed", "out", "control_group")
        assert where_is(services, ids["held_out"])[-1] == "w1"
        assert node_metrics(counters(services, campaign_id), "n1")["suppressed:control_group"] == 1
        assert unbalanced_counters(services, campaign_id) == {}


def test_merged_branches_store_one_item_per_entry(services: Services) -> None:
    """D15: arriving twice in one chunk (two equal waits) or in two chunks (a longer wait), the customer gets one
    item; every later arrival drops out with already_sent."""
    for title in ("Static", "For {{ customer.external_id }}"):
        ids = add_customers(services, {"external_id": f"ann-{len(title)}"})
        (customer,) = ids.values()
        campaign_id = start(
            services,
            campaign(
                wait_node("a", 1, "minutes"),
                wait_node("b", 1, "minutes"),
                wait_node("c", 1, "hours"),
                notification(title=title),
                edges=[("trigger", "a"), ("trigger", "b"), ("trigger", "c"), ("a", "n1"), ("b", "n1"), ("c", "n1")],
            ),
        )
        services.campaigns.enroll(campaign_id, list(ids), None)
        advance(services, hours=2)
        with services.db.engine.connect() as conn:
            query = select(notifications.c.customer_id).where(notifications.c.campaign_id == campaign_id)
            assert list(conn.execute(query).scalars()) == [customer]
        outcomes = sorted((row[1], str(row[3])) for row in trace(services, customer) if row[0] == "n1")
        assert outcomes == [("dropped", "already_sent"), ("dropped", "already_sent"), ("performed", "None")]
        assert unbalanced_counters(services, campaign_id) == {}


def test_a_template_that_fails_for_one_customer_drops_only_them(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ok", "city": "7"}, {"external_id": "bad", "city": "Riga"})
    campaign_id = start(
        services, campaign(notification(text="{{ customer.city | money }} points"), edges=[("trigger", "n1")])
    )
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert {customer: item["text"] for customer, item in stored(services).items()} == {ids["ok"]: "7.00 points"}
    assert trace(services, ids["bad"])[-1] == ("n1", "dropped", None, "template_error")
    assert unbalanced_counters(services, campaign_id) == {}
