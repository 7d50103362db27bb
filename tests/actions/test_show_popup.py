"""Show PopUp (D7): one pending popup per customer, rendered when created, active for its lifetime; only for
customers who allow the app or push; control customers get none; merged branches create one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.actions.helpers import make_audience, node, node_metrics
from tests.engine.helpers import (
    add_customers,
    advance,
    campaign,
    counters,
    start,
    trace,
    unbalanced_counters,
    wait_node,
)
from tidings.services import Services
from tidings.store.tables import popups


def popup(node_id: str = "p1", **config: Any) -> dict[str, Any]:
    return node(node_id, "show_popup", **({"title": "Welcome back"} | config))


def created(services: Services, campaign_id: int | None = None) -> dict[int, dict[str, Any]]:
    """Popups by customer id."""
    query = select(popups).order_by(popups.c.id)
    if campaign_id is not None:
        query = query.where(popups.c.campaign_id == campaign_id)
    with services.db.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        assert row["customer_id"] not in found, "two popups for one customer"
        found[row["customer_id"]] = dict(row)
    return found


FULL = {
    "action": "view_cart",
    "title": "{{ customer.first_name }}, your cart",
    "subtitle": "Still there",
    "text": "Finish by {{ 'now' | date: '%Y-%m-%d' }}",
    "image_url": "https://example.com/cart.png",
    "button": {"label": "Checkout", "link": "myapp://cart"},
    "promo_code": "CART-{{ customer.external_id | upcase }}",
    "main_color": "#112233",
    "second_color": "#AABBCC",
    "lifetime": {"amount": 90, "unit": "minutes"},
    "priority": 5,
}


def test_each_customer_gets_one_pending_popup_rendered_for_them(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "first_name": "Ann"})
    campaign_id = start(services, campaign(popup(**FULL), wait_node("w1", 1), edges=[("trigger", "p1"), ("p1", "w1")]))
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, minutes=1)

    row = created(services)[ids["ann"]]
    assert row["content"] == {
        "title": "Ann, your cart",
        "subtitle": "Still there",
        "text": f"Finish by {row['created_at']:%Y-%m-%d}",
        "promo_code": "CART-ANN",
        "image_url": "https://example.com/cart.png",
        "button": {"label": "Checkout", "link": "myapp://cart"},
        "style": {"main_color": "#112233", "second_color": "#AABBCC"},
    }
    assert (row["app_action"], row["priority"], row["shown_at"], row["node_id"]) == ("view_cart", 5, None, "p1")
    assert row["expires_at"] == row["created_at"] + timedelta(minutes=90)
    assert trace(services, ids["ann"])[-1] == ("p1", "performed", "out", None)


def test_defaults_any_action_a_day_and_a_fixed_content_stored_as_it_is(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann"})
    campaign_id = start(
        services, campaign(popup(button={"label": "Open", "link": "https://example.com"}), edges=[("trigger", "p1")])
    )
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, minutes=1)
    row = created(services)[ids["ann"]]
    assert row["content"] == {"title": "Welcome back", "button": {"label": "Open", "link": "https://example.com"}}
    assert (row["app_action"], row["priority"]) == ("any", 0)
    assert row["expires_at"] == row["created_at"] + timedelta(days=1)


def test_only_customers_who_allow_the_app_or_push_get_one(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "both"},
        {"external_id": "app_only", "subscriptions": {"push": False}},
        {"external_id": "push_only", "subscriptions": {"app": False}},
        {"external_id": "neither", "subscriptions": {"app": False, "push": False}},
    )
    campaign_id = start(services, campaign(popup(), edges=[("trigger", "p1")]))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert set(created(services)) == {ids["both"], ids["app_only"], ids["push_only"]}
    assert trace(services, ids["neither"])[-1] == ("p1", "dropped", None, "unsubscribed_channel")
    assert node_metrics(counters(services, campaign_id), "p1")["dropped:unsubscribed_channel"] == 1
    assert unbalanced_counters(services, campaign_id) == {}


def test_control_group_customers_get_none_and_continue(services: Services) -> None:
    ids = add_customers(services, {"external_id": "main"}, {"external_id": "held_out"})
    holdout = make_audience(services, "Holdout", [ids["held_out"]])
    for title in ("Static", "For {{ customer.external_id }}"):  # both ways of storing
        campaign_id = start(
            services,
            campaign(
                node("cg", "control_group", method="audience", audience=holdout),
                popup(title=title),
                wait_node("w1", 1),
                edges=[("trigger", "cg"), ("cg", "p1"), ("p1", "w1")],
            ),
        )
        services.campaigns.enroll(campaign_id, ["main", "held_out"], None)
        advance(services, minutes=1)
        assert set(created(services, campaign_id)) == {ids["main"]}
        assert trace(services, ids["held_out"])[-1] == ("p1", "performed", "out", "control_group")
        assert node_metrics(counters(services, campaign_id), "p1")["suppressed:control_group"] == 1
        assert unbalanced_counters(services, campaign_id) == {}


def test_merged_branches_create_one_popup_per_entry(services: Services) -> None:
    for title in ("Static", "For {{ customer.external_id }}"):
        ids = add_customers(services, {"external_id": f"ann-{len(title)}"})
        (customer,) = ids.values()
        campaign_id = start(
            services,
            campaign(
                wait_node("a", 1, "minutes"),
                wait_node("b", 1, "minutes"),
                wait_node("c", 1, "hours"),
                popup(title=title),
                edges=[("trigger", "a"), ("trigger", "b"), ("trigger", "c"), ("a", "p1"), ("b", "p1"), ("c", "p1")],
            ),
        )
        services.campaigns.enroll(campaign_id, list(ids), None)
        advance(services, hours=2)
        assert set(created(services, campaign_id)) == {customer}
        outcomes = sorted((row[1], str(row[3])) for row in trace(services, customer) if row[0] == "p1")
        assert outcomes == [("dropped", "already_sent"), ("dropped", "already_sent"), ("performed", "None")]
        assert unbalanced_counters(services, campaign_id) == {}


def test_a_template_that_fails_for_one_customer_drops_only_them(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ok", "city": "5"}, {"external_id": "bad", "city": "Riga"})
    campaign_id = start(services, campaign(popup(promo_code="{{ customer.city | money }}"), edges=[("trigger", "p1")]))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert {customer: row["content"]["promo_code"] for customer, row in created(services).items()} == {
        ids["ok"]: "5.00"
    }
    assert trace(services, ids["bad"])[-1] == ("p1", "dropped", None, "template_error")
