"""Triggers on Tidings' own events: customer registration (+ filter), order created / paid / cancelled / status
changed to X, receipt issued (+ filter) — fed by storing customers and orders, never by a hand-made event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from tests.engine.helpers import add_customers, advance
from tests.triggers.helpers import entered, order, start_with, store
from tidings.services import Services
from tidings.store.tables import product_categories, products, stores
from tidings.triggers.items import ItemPurchasedConfig

PLACED = datetime(2026, 1, 4, 10, tzinfo=UTC)


def customers_of(services: Services, campaign_id: int) -> list[int]:
    return [customer for customer, _ in entered(services, campaign_id)]


def test_customer_registration_with_and_without_a_filter(services: Services) -> None:
    everyone = start_with(services, "customer_registration")
    riga_only = start_with(
        services,
        "customer_registration",
        customer={"all": [{"field": "city", "op": "equals", "value": "Riga"}]},
    )
    ids = add_customers(services, {"external_id": "ann", "city": "Riga"}, {"external_id": "bob", "city": "Oslo"})
    add_customers(services, {"external_id": "ann", "city": "Riga", "first_name": "Ann"})  # an update: no event
    advance(services, minutes=1)
    assert sorted(customers_of(services, everyone)) == sorted([ids["ann"], ids["bob"]])
    assert customers_of(services, riga_only) == [ids["ann"]]
    advance(services, days=2)
    assert len(entered(services, everyone)) == 2


def test_order_created_paid_cancelled_and_status_changed_to(services: Services) -> None:
    created = start_with(services, "order_created")
    big_paid = start_with(services, "order_paid", properties=[{"property": "total", "op": "gte", "value": 100}])
    cancelled = start_with(services, "order_cancelled")
    to_returned = start_with(services, "order_status_changed", status="returned")
    ids = add_customers(services, *({"external_id": name} for name in ("ann", "bob", "cid")))
    big: dict[str, Any] = {"lines": [{"sku": "TV", "quantity": 1, "price": 500}]}
    store(services, order("a-1", "ann", PLACED, **big), order("b-1", "bob", PLACED), order("c-1", "cid", PLACED))
    advance(services, minutes=1)
    store(
        services,
        order("a-1", "ann", PLACED, status="paid", **big),
        order("b-1", "bob", PLACED, status="paid"),  # paid, but below 100
        order("c-1", "cid", PLACED, status="cancelled"),
    )
    advance(services, minutes=1)
    store(services, order("a-1", "ann", PLACED, status="paid", **big))  # the same again: nothing
    store(services, order("b-1", "bob", PLACED, status="returned"))
    advance(services, minutes=1)
    assert sorted(customers_of(services, created)) == sorted(ids.values())
    assert customers_of(services, big_paid) == [ids["ann"]]
    assert customers_of(services, cancelled) == [ids["cid"]]
    assert customers_of(services, to_returned) == [ids["bob"]]


def test_receipt_issued_with_a_filter_on_its_store(services: Services) -> None:
    with services.db.engine.begin() as conn:
        conn.execute(stores.insert(), [{"code": "RIX", "name": "Riga"}, {"code": "OSL", "name": "Oslo"}])
    in_riga = start_with(services, "receipt_issued", properties=[{"property": "store", "op": "equals", "value": "RIX"}])
    ids = add_customers(services, {"external_id": "ann"}, {"external_id": "bob"})
    store(
        services,
        order("r-1", "ann", PLACED, kind="receipt", store="RIX"),
        order("r-2", "bob", PLACED, kind="receipt", store="OSL"),
        order("o-1", "bob", PLACED, store="RIX"),  # an order, not a receipt
    )
    advance(services, minutes=1)
    assert customers_of(services, in_riga) == [ids["ann"]]


def test_a_backfill_enters_nobody(services: Services) -> None:
    created = start_with(services, "order_created")
    add_customers(services, {"external_id": "ann"})
    store(services, order("a-1", "ann", PLACED), record_events=False)
    advance(services, minutes=1)
    assert entered(services, created) == []


def test_item_purchased_and_ordered_by_sku_or_category(services: Services) -> None:
    with services.db.engine.begin() as conn:
        conn.execute(
            product_categories.insert(), [{"code": "shoes", "name": "Shoes"}, {"code": "bags", "name": "Bags"}]
        )
        conn.execute(products.insert(), [{"sku": "RUN-42", "name": "Runner", "category_code": "shoes"}])
    runner_bought = start_with(services, "item_purchased", skus=["RUN-42"])
    shoes_ordered = start_with(services, "item_ordered", categories=["shoes"])
    ids = add_customers(services, *({"external_id": name} for name in ("ann", "bob", "cid")))
    bag = {"lines": [{"sku": "BAG-1", "quantity": 1, "price": 30, "category": "bags"}]}
    store(
        services,
        order("r-1", "ann", PLACED, kind="receipt"),  # RUN-42: its catalogue category is shoes
        order("r-2", "bob", PLACED, kind="receipt", **bag),
        order("o-1", "cid", PLACED),
        order("o-2", "bob", PLACED, **bag),
    )
    advance(services, minutes=1)
    assert customers_of(services, runner_bought) == [ids["ann"]]
    assert customers_of(services, shoes_ordered) == [ids["cid"]]


def test_an_item_trigger_names_what_it_needs() -> None:
    with pytest.raises(ValidationError, match="choose at least one product"):
        ItemPurchasedConfig()
