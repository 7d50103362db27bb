"""Cart triggers: a product put in the cart enters at once; a cart left without an order for the period enters
once, at the first hour after the period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.engine.helpers import add_customers, advance, advance_to, post_events
from tests.triggers.helpers import entered, order, start_with, store
from tidings.services import Services

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def test_an_abandoned_cart_enters_once_after_the_period_and_an_order_or_a_later_change_holds_it(
    services: Services,
) -> None:
    ids = add_customers(services, *({"external_id": name} for name in ("ann", "bob", "cid")))
    campaign_id = start_with(services, "abandoned_cart", hours=2)
    for minutes, name in ((10, "ann"), (20, "bob"), (30, "cid")):
        advance_to(services, at(minutes))
        post_events(services, (ids[name], "cart_add", {"sku": "RUN-42"}))
    advance_to(services, at(60))
    store(services, order("b-1", "bob", at(60)))  # bob bought
    advance_to(services, at(100))
    post_events(services, (ids["cid"], "cart_remove", {"sku": "RUN-42"}))  # cid changed the cart again
    advance_to(services, at(3 * 60 + 59))
    assert entered(services, campaign_id) == [(ids["ann"], at(3 * 60))]
    advance(services, hours=3)
    assert entered(services, campaign_id)[1:] == [(ids["cid"], at(4 * 60))]


def test_added_to_cart_with_and_without_a_product_filter(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann"}, {"external_id": "bob"})
    anything = start_with(services, "added_to_cart")
    shoes = start_with(services, "added_to_cart", categories=["shoes"])
    post_events(
        services,
        (ids["ann"], "cart_add", {"sku": "RUN-42", "category": "shoes"}),
        (ids["bob"], "cart_add", {"sku": "BAG-1", "category": "bags"}),
    )
    advance(services, minutes=1)
    assert sorted(customer for customer, _ in entered(services, anything)) == sorted([ids["ann"], ids["bob"]])
    assert [customer for customer, _ in entered(services, shoes)] == [ids["ann"]]
