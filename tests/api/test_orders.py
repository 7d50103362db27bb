from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from tests.api.helpers import add_customers, error_of, start_campaign
from tests.engine.helpers import campaign, email_node, entry_rows, mailbox_count
from tidings.services import Services
from tidings.store.tables import mailbox, order_lines, orders


def setup_catalogue(client: httpx.Client) -> None:
    add_customers(client, {"external_id": "ann"}, {"external_id": "bob"})
    assert client.post("/stores", json={"stores": [{"code": "RIX-1", "name": "Riga"}]}).status_code == 200
    categories = [{"code": "shoes", "name": "Shoes"}, {"code": "gifts", "name": "Gifts"}]
    assert client.post("/product-categories", json={"categories": categories}).status_code == 200
    products = [{"sku": "RUN-42", "name": "Runner", "category": "shoes", "price": 59.9}]
    assert client.post("/products", json={"products": products}).status_code == 200


def order(external_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "kind": "order",
        "customer": "ann",
        "placed_at": "2026-01-04T10:00:00Z",
        "lines": [{"sku": "RUN-42", "quantity": 1, "price": 59.9}],
        **fields,
    }


def post_orders(client: httpx.Client, *rows: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/orders", json={"orders": list(rows)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def line_count(services: Services) -> int:
    with services.db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(order_lines)).scalar_one())


def test_orders_and_receipts_are_stored_with_their_lines(client: httpx.Client) -> None:
    setup_catalogue(client)
    body = post_orders(
        client,
        order(
            "o-1",
            status="paid",
            store="RIX-1",
            paid_at="2026-01-04T12:00:00+02:00",
            lines=[
                {"sku": "RUN-42", "quantity": 2, "price": 59.9},  # category from the catalogue
                {"sku": "GIFT-BOX", "quantity": "0.5", "price": "3.33", "category": "gifts"},  # not in the catalogue
                {"sku": "RUN-42", "quantity": 1, "price": 0, "category": "gifts"},  # the payload's category wins
            ],
        ),
        {
            "external_id": "r-1",
            "kind": "receipt",
            "customer": "ann",
            "placed_at": "2026-01-03T09:00:00Z",
            "lines": [{"sku": "SOCK", "quantity": 3, "price": 2.5}],
            "total": 7.5,
        },
    )
    assert body == {"upserted": 2, "errors": []}

    listed = client.get("/customers/ann/orders").json()
    assert (listed["customer"], listed["total"], listed["limit"], listed["offset"]) == ("ann", 2, 100, 0)
    first, second = listed["items"]
    assert first == {
        "external_id": "o-1",
        "kind": "order",
        "status": "paid",
        "store": "RIX-1",
        "total": 121.47,  # 119.80 + 1.67 (0.5 × 3.33 = 1.665, rounded half up) + 0
        "placed_at": "2026-01-04T10:00:00Z",
        "paid_at": "2026-01-04T10:00:00Z",
        "cancelled_at": None,
        "attributes": {},
        "lines": [
            {"sku": "RUN-42", "category": "shoes", "quantity": 2.0, "price": 59.9, "amount": 119.8},
            {"sku": "GIFT-BOX", "category": "gifts", "quantity": 0.5, "price": 3.33, "amount": 1.67},
            {"sku": "RUN-42", "category": "gifts", "quantity": 1.0, "price": 0.0, "amount": 0.0},
        ],
    }
    assert (second["external_id"], second["kind"], second["status"], second["total"]) == ("r-1", "receipt", "paid", 7.5)
    assert second["lines"] == [{"sku": "SOCK", "category": None, "quantity": 3.0, "price": 2.5, "amount": 7.5}]

    receipts = client.get("/customers/ann/orders", params={"kind": "receipt"}).json()
    assert [item["external_id"] for item in receipts["items"]] == ["r-1"]
    assert receipts["total"] == 1
    assert client.get("/customers/bob/orders").json()["items"] == []
    assert error_of(client.get("/customers/ghost/orders"), 404)["code"] == "not_found"
    assert (
        error_of(client.get("/customers/ann/orders", params={"kind": "invoice"}), 422)["details"][0]["field"] == "kind"
    )


def test_bad_orders_are_reported_and_the_good_ones_kept(client: httpx.Client) -> None:
    setup_catalogue(client)
    body = post_orders(
        client,
        order("good-1"),
        order("ghost", customer="nobody"),
        order("far-store", store="OSL-9"),
        order(
            "bad-category",
            lines=[
                {"sku": "A", "quantity": 1, "price": 1},
                {"sku": "B", "quantity": 1, "price": 1, "category": "hats"},
            ],
        ),
        order("mismatch", total=60.0),
        order("bad-line", lines=[{"sku": "A", "quantity": 1, "price": 1}, {"sku": "B", "quantity": 0, "price": 1}]),
        order("no-lines", lines=[]),
        order("naive", placed_at="2026-01-04T10:00:00"),
        order("status", status="shipped"),
        order("good-2", kind="receipt", total=59.91),  # within 0.01 of the lines: accepted as given
    )
    assert body["upserted"] == 2
    assert [(e["index"], e["external_id"], e["field"]) for e in body["errors"]] == [
        (1, "ghost", "customer"),
        (2, "far-store", "store"),
        (3, "bad-category", "lines[1].category"),
        (4, "mismatch", "total"),
        (5, "bad-line", "lines[1].quantity"),
        (6, "no-lines", "lines"),
        (7, "naive", "placed_at"),
        (8, "status", "status"),
    ]
    messages = {e["external_id"]: e["message"] for e in body["errors"]}
    assert "unknown customer 'nobody'" in messages["ghost"]
    assert "unknown store 'OSL-9'" in messages["far-store"]
    assert "unknown category 'hats'" in messages["bad-category"]
    assert "total 60.0 does not match the sum of the lines 59.90" in messages["mismatch"]
    listed = {item["external_id"]: item for item in client.get("/customers/ann/orders").json()["items"]}
    assert sorted(listed) == ["good-1", "good-2"]
    assert listed["good-2"]["total"] == 59.91
    assert listed["good-2"]["status"] == "paid"  # a receipt is paid unless told otherwise
    assert listed["good-1"]["status"] == "created"


def test_all_orders_bad_is_422_with_the_same_errors(client: httpx.Client, services: Services) -> None:
    setup_catalogue(client)
    error = error_of(client.post("/orders", json={"orders": [order("x", customer="nobody"), "not an order"]}), 422)
    assert error["code"] == "invalid_input"
    assert [(e["index"], e["external_id"], e["field"]) for e in error["details"]] == [
        (0, "x", "customer"),
        (1, None, None),
    ]
    assert line_count(services) == 0
    assert error_of(client.post("/orders", json={"orders": []}), 422)["details"][0]["field"] == "orders"


def test_reposting_an_order_replaces_it_and_its_lines(client: httpx.Client, services: Services) -> None:
    setup_catalogue(client)
    three_lines = [{"sku": f"S{n}", "quantity": 1, "price": 1} for n in range(3)]
    post_orders(client, order("o-1", lines=three_lines), order("o-2"))
    assert line_count(services) == 4
    post_orders(
        client,
        order(
            "o-1",
            customer="bob",
            status="cancelled",
            cancelled_at="2026-01-05T08:00:00Z",
            lines=[{"sku": "RUN-42", "quantity": 1, "price": 10}],
        ),
    )
    assert line_count(services) == 2
    assert [item["external_id"] for item in client.get("/customers/ann/orders").json()["items"]] == ["o-2"]
    (moved,) = client.get("/customers/bob/orders").json()["items"]
    assert (moved["status"], moved["total"], moved["cancelled_at"]) == ("cancelled", 10.0, "2026-01-05T08:00:00Z")
    assert [(line["sku"], line["category"]) for line in moved["lines"]] == [("RUN-42", "shoes")]


def test_same_number_as_order_and_receipt_and_repeats_in_a_batch(client: httpx.Client, services: Services) -> None:
    setup_catalogue(client)
    body = post_orders(
        client,
        order("42"),
        order("42", kind="receipt"),
        order("42", lines=[{"sku": "A", "quantity": 1, "price": 5}, {"sku": "B", "quantity": 2, "price": 5}]),
    )
    assert body == {"upserted": 3, "errors": []}
    listed = {(item["kind"], item["external_id"]): item for item in client.get("/customers/ann/orders").json()["items"]}
    assert sorted(listed) == [("order", "42"), ("receipt", "42")]
    assert listed[("order", "42")]["total"] == 15.0  # the last row for an order wins
    assert line_count(services) == 3
    with services.db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 2


def test_an_order_paid_campaign_fires_from_a_plain_post_once_per_order(
    client: httpx.Client, services: Services
) -> None:
    """No hand-made event: storing the order records ``order_paid``; posting it again with the same status does not."""
    setup_catalogue(client)
    campaign_id = start_campaign(
        client,
        campaign(
            email_node("thanks", subject="Order {{ order.id }} ({{ order.lines[0].sku }}) is paid"),
            edges=[("trigger", "thanks")],
            trigger={"id": "trigger", "type": "order_paid", "config": {}},
        ),
    )
    add_customers(client, {"external_id": "ann", "email": "ann@example.com"})
    post_orders(client, order("o-1"))
    post_orders(client, order("o-1", status="paid", attributes={"storage_until": "2026-05-20"}))
    post_orders(client, order("o-1", status="paid", attributes={"storage_until": "2026-05-20"}))
    assert client.post("/clock/advance", json={"by": "PT1M"}).status_code == 200
    post_orders(client, order("o-1", status="paid", attributes={"storage_until": "2026-05-20"}))
    assert client.post("/clock/advance", json={"by": "P1D"}).status_code == 200
    assert [row["customer_id"] for row in entry_rows(services, campaign_id)] == [1]
    assert mailbox_count(services, "ann@example.com") == 1
    with services.db.engine.connect() as conn:
        assert conn.execute(select(mailbox.c.subject)).scalar_one() == "Order o-1 (RUN-42) is paid"
    listed = client.get("/customers/ann/orders").json()["items"]
    assert listed[0]["attributes"] == {"storage_until": "2026-05-20"}
