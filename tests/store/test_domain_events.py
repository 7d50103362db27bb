"""Domain events from data: creating customers and storing orders and receipts record the events the trigger
catalogue listens to, in the same transaction, once per change; bulk imports record them set-at-a-time and a
backfill records none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.engine.helpers import add_customers
from tidings.model.orders import OrderIn
from tidings.services import Services
from tidings.store.bulk_import import import_customers
from tidings.store.order_import import import_orders
from tidings.store.orders import Resolved, resolve_orders, store_orders
from tidings.store.tables import customers, events, trigger_inbox

REGISTERED_AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def recorded(services: Services) -> list[tuple[str, str, dict[str, Any], datetime]]:
    """(customer external id, event name, properties, occurred_at) of every event, in order."""
    query = (
        select(customers.c.external_id, events.c.name, events.c.properties, events.c.occurred_at)
        .join(customers, customers.c.id == events.c.customer_id)
        .order_by(events.c.id)
    )
    with services.db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def names(services: Services) -> list[tuple[str, str]]:
    return [(customer, name) for customer, name, _, _ in recorded(services)]


def store(services: Services, *rows: dict[str, Any], record_events: bool = True) -> None:
    with services.db.engine.begin() as conn:
        resolved = resolve_orders(conn, [OrderIn(**row) for row in rows])
        good = [row for row in resolved if isinstance(row, Resolved)]
        assert len(good) == len(rows)
        store_orders(conn, services.db.dialect, good, now=services.clock.now(), record_events=record_events)


def order(external_id: str, status: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "kind": "order",
        "customer": "ann",
        "status": status,
        "placed_at": datetime(2026, 1, 4, 10, 0, tzinfo=UTC),
        "lines": [{"sku": "RUN-42", "quantity": 2, "price": Decimal("19.95")}],
        **fields,
    }


def test_a_new_customer_is_registered_once_and_an_update_records_nothing(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "registered_at": REGISTERED_AT}, {"external_id": "bob"})
    add_customers(services, {"external_id": "ann", "first_name": "Ann"}, {"external_id": "cid"})
    now = services.clock.now()
    assert recorded(services) == [
        ("ann", "customer_registered", {}, REGISTERED_AT),
        ("bob", "customer_registered", {}, now),
        ("cid", "customer_registered", {}, now),
    ]


def test_order_events_follow_the_status_and_a_repeat_records_nothing(services: Services) -> None:
    add_customers(services, {"external_id": "ann"})
    store(services, order("o-1"))
    store(services, order("o-1"))  # the same order again: no change, no event
    services.clock.set(services.clock.now() + timedelta(hours=1))  # type: ignore[attr-defined]
    paid_at = datetime(2026, 1, 5, 10, 30, tzinfo=UTC)
    store(services, order("o-1", "paid", paid_at=paid_at))
    store(services, order("o-1", "paid", paid_at=paid_at))
    store(services, order("o-2", "cancelled"))
    events_ = recorded(services)[1:]  # after ann's registration
    assert [name for _, name, _, _ in events_] == [
        "order_created",
        "order_status_changed",
        "order_status_changed",
        "order_paid",
        "order_created",
        "order_status_changed",
        "order_cancelled",
    ]
    created, _, changed, paid, *_ = events_
    assert created[3] == datetime(2026, 1, 4, 10, 0, tzinfo=UTC)  # placed_at
    assert paid[3] == paid_at
    assert (changed[2]["old_status"], changed[2]["status"]) == ("created", "paid")
    assert created[2] == {
        "order": "o-1",
        "kind": "order",
        "status": "created",
        "old_status": None,
        "total": 39.9,
        "store": None,
        "items": [{"sku": "RUN-42", "category": None, "quantity": 2.0, "price": 19.95, "amount": 39.9}],
    }
    assert events_[-1][3] == services.clock.now()  # cancelled without cancelled_at: when received


def test_a_receipt_is_issued_once_with_its_items(services: Services) -> None:
    add_customers(services, {"external_id": "ann"})
    receipt = order("r-1", kind="receipt")
    store(services, receipt)
    store(services, receipt)
    [(customer, name, properties, _)] = recorded(services)[1:]
    assert (customer, name, properties["status"], properties["items"][0]["sku"]) == (
        "ann",
        "receipt_issued",
        "paid",
        "RUN-42",
    )


def test_one_batch_naming_an_order_twice_is_judged_row_after_row(services: Services) -> None:
    add_customers(services, {"external_id": "ann"})
    store(services, order("o-1"), order("o-1", "paid"))
    assert [name for _, name in names(services)[1:]] == [
        "order_created",
        "order_status_changed",
        "order_status_changed",
        "order_paid",
    ]


def test_a_backfill_records_no_events(services: Services) -> None:
    add_customers(services, {"external_id": "ann"})
    store(services, order("o-1", "paid"), record_events=False)
    assert names(services) == [("ann", "customer_registered")]


def test_events_are_routed_to_the_inbox_in_the_same_transaction(services: Services) -> None:
    campaign = {
        "name": "Paid",
        "trigger": {"id": "trigger", "type": "event_occurred", "config": {"event": "order_paid"}},
        "nodes": [],
        "edges": [],
    }
    campaign_id = int(services.campaigns.create(campaign)["id"])
    services.campaigns.transition(campaign_id, "activate")
    add_customers(services, {"external_id": "ann"})
    store(services, order("o-1", "paid"))
    with services.db.engine.connect() as conn:
        inbox = conn.execute(select(trigger_inbox.c.campaign_id)).scalars().all()
    assert inbox == [campaign_id]


def test_bulk_imports_record_events_set_at_a_time_unless_told_not_to(services: Services, tmp_path: Path) -> None:
    people = tmp_path / "customers.csv"
    people.write_text("external_id,first_name\nann,Ann\nbob,Bob\n")
    now = services.clock.now()
    assert import_customers(services.db, people, now=now).imported == 2
    assert import_customers(services.db, people, now=now).imported == 2  # existing: nothing new
    history = tmp_path / "more.csv"
    history.write_text("external_id\ncid\n")
    assert import_customers(services.db, history, now=now, record_events=False).imported == 1
    assert names(services) == [("ann", "customer_registered"), ("bob", "customer_registered")]

    sales = tmp_path / "orders.jsonl"
    sales.write_text(
        '{"external_id": "o-1", "kind": "order", "customer": "ann", "status": "paid",'
        ' "placed_at": "2026-01-04T10:00:00Z", "lines": [{"sku": "A", "quantity": 1, "price": 5}]}\n'
        '{"external_id": "r-1", "kind": "receipt", "customer": "cid",'
        ' "placed_at": "2026-01-04T10:00:00Z", "lines": [{"sku": "A", "quantity": 1, "price": 5}]}\n'
    )
    assert import_orders(services.db, sales, now=now, record_events=False).imported == 2
    assert len(names(services)) == 2
    sales.write_text(sales.read_text().replace("o-1", "o-2").replace("r-1", "r-2"))
    assert import_orders(services.db, sales, now=now).imported == 2
    assert names(services)[2:] == [
        ("ann", "order_created"),
        ("ann", "order_status_changed"),
        ("ann", "order_paid"),
        ("cid", "receipt_issued"),
    ]
