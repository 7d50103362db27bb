from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tidings.core.errors import ImportInvalid
from tidings.model.catalog_data import CategoryIn, ProductIn, StoreIn
from tidings.model.customers import CustomerIn
from tidings.store.catalog_data import CATEGORIES, PRODUCTS, STORES
from tidings.store.customers import upsert_customers
from tidings.store.database import Database
from tidings.store.order_import import import_orders
from tidings.store.tables import order_lines, orders

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
HEADER = "external_id,kind,customer,status,store,placed_at,total,sku,quantity,price,category\n"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    opened = Database.open(database_url)
    with opened.engine.begin() as conn:
        upsert_customers(conn, opened.dialect, [CustomerIn(external_id=name) for name in ("ann", "bob")], NOW)
        STORES.upsert(conn, opened.dialect, [StoreIn(code="RIX-1", name="Riga")])
        CATEGORIES.upsert(
            conn, opened.dialect, [CategoryIn(code="shoes", name="Shoes"), CategoryIn(code="gifts", name="Gifts")]
        )
        PRODUCTS.upsert(conn, opened.dialect, [ProductIn(sku="RUN-42", name="Runner", category="shoes")])
    yield opened
    opened.dispose()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def stored(db: Database) -> dict[tuple[str, str], dict[str, Any]]:
    """Every order with its lines, by (kind, external_id)."""
    with db.engine.connect() as conn:
        found = {
            (row["kind"], row["external_id"]): {**row, "lines": []} for row in conn.execute(select(orders)).mappings()
        }
        ids = {order["id"]: order for order in found.values()}
        for line in conn.execute(select(order_lines).order_by(order_lines.c.id)).mappings():
            ids[line["order_id"]]["lines"].append(
                (line["sku"], line["category_code"], line["quantity"], line["price"], line["amount"])
            )
    return found


def count_lines(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(order_lines)).scalar_one())


def test_csv_rows_are_grouped_into_orders_and_bad_orders_reported_by_line(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        HEADER  # line 1
        + "o-1,order,ann,paid,RIX-1,2026-01-04T10:00:00Z,,RUN-42,2,59.90,\n"  # 2
        + "o-1,,,,,,,GIFT,1,5,gifts\n"  # 3: order cells left empty
        + "o-1,order,ann,paid,RIX-1,2026-01-04T10:00:00Z,,SOCK,0.5,3.33,\n"  # 4: order cells repeated
        + "o-2,order,nobody,,,2026-01-04T10:00:00Z,,RUN-42,1,1,\n"  # 5: unknown customer
        + "o-3,order,ann,,,2026-01-04T10:00:00Z,,RUN-42,1,1,\n"  # 6
        + "o-3,order,ann,,,2026-01-04T10:00:00Z,,RUN-42,-1,1,\n"  # 7: bad quantity refuses the whole order
        + "o-4,order,ann,,,2026-01-04T10:00:00Z,,RUN-42,1,1,\n"  # 8
        + "o-4,order,bob,,,2026-01-04T10:00:00Z,,RUN-42,1,1,\n"  # 9: another customer for the same order
        + "o-5,order,ann,,,2026-01-04T10:00:00Z,,X,1,1,\n"  # 10
        + "o-5,order,ann,,,2026-01-04T10:00:00Z,,Y,1,1,hats\n"  # 11: unknown category
        + "o-6,receipt,bob,,RIX-1,2026-01-03T09:00:00+02:00,10.00,RUN-42,1,9.99,\n"  # 12: total within 0.01
        + "o-6,receipt,bob,,,,,,,,\n"  # 13: fewer filled cells, same order: no sku, so a bad line
        + "o-7,receipt,bob,,,2026-01-03T09:00:00Z,99,RUN-42,1,9.99,\n"  # 14: total mismatch
        + "o-8,receipt,bob,,OSL-9,2026-01-03T09:00:00Z,,RUN-42,1,9.99,\n"  # 15: unknown store
        + "o-9,receipt,bob,,,2026-01-03T09:00:00Z,,RUN-42,1,9.99\n"  # 16: a cell short
        + "o-10,receipt,bob,,,2026-01-03T09:00:00Z,,RUN-42,1,9.99,\n",  # 17
    )
    report = import_orders(db, path, now=NOW)

    assert (report.total_rows, report.imported, report.failed) == (10, 2, 8)
    assert [(e.line, e.external_id, e.field) for e in report.errors] == [
        (5, "o-2", "customer"),
        (7, "o-3", "quantity"),
        (9, "o-4", "customer"),
        (11, "o-5", "category"),
        (13, "o-6", "sku"),
        (13, "o-6", "quantity"),
        (13, "o-6", "price"),
        (14, "o-7", "total"),
        (15, "o-8", "store"),
        (16, "o-9", None),
    ]
    by_line = {(e.line, e.field): e.message for e in report.errors}
    assert "'bob' differs from 'ann' on line 8" in by_line[(9, "customer")]
    assert "unknown customer 'nobody'" in by_line[(5, "customer")]
    assert "unknown category 'hats'" in by_line[(11, "category")]
    assert "10 cells but the header has 11 columns" in by_line[(16, None)]

    found = stored(db)
    assert sorted(found) == [("order", "o-1"), ("receipt", "o-10")]
    first = found[("order", "o-1")]
    assert (first["status"], first["store_code"], first["total"]) == ("paid", "RIX-1", Decimal("126.47"))
    assert first["placed_at"] == datetime(2026, 1, 4, 10, 0, tzinfo=UTC)
    assert first["lines"] == [
        ("RUN-42", "shoes", Decimal("2.000"), Decimal("59.90"), Decimal("119.80")),
        ("GIFT", "gifts", Decimal("1.000"), Decimal("5.00"), Decimal("5.00")),
        ("SOCK", None, Decimal("0.500"), Decimal("3.33"), Decimal("1.67")),
    ]
    assert found[("receipt", "o-10")]["status"] == "paid"


def test_jsonl_orders_with_errors_and_reimport_replacing_lines(db: Database, tmp_path: Path) -> None:
    def line(external_id: str, **fields: Any) -> str:
        row = {
            "external_id": external_id,
            "kind": "order",
            "customer": "ann",
            "placed_at": "2026-01-04T10:00:00Z",
            "lines": [{"sku": "RUN-42", "quantity": 1, "price": 10}, {"sku": "SOCK", "quantity": 2, "price": 1.5}],
            **fields,
        }
        return json.dumps(row) + "\n"

    path = write(
        tmp_path,
        "orders.jsonl",
        line("j-1")  # 1
        + "{broken\n"  # 2
        + line("j-2", lines=[{"sku": "A", "quantity": 1, "price": 1}, {"sku": "B", "quantity": 1, "price": "x"}])  # 3
        + "\n"  # 4: blank
        + line("j-3", total=12)  # 5: total mismatch (13.00)
        + line("j-4", lines=[{"sku": "A", "quantity": 1, "price": 1, "category": "hats"}])  # 6
        + line("j-5", customer="nobody")  # 7
        + line("j-6", kind="receipt", status="returned"),  # 8
    )
    report = import_orders(db, path, now=NOW)
    assert (report.total_rows, report.imported, report.failed) == (7, 2, 5)
    assert [(e.line, e.external_id, e.field) for e in report.errors] == [
        (2, None, None),
        (3, "j-2", "lines[1].price"),
        (5, "j-3", "total"),
        (6, "j-4", "lines[0].category"),
        (7, "j-5", "customer"),
    ]
    assert report.errors[0].message.startswith("not valid JSON")
    found = stored(db)
    assert sorted(found) == [("order", "j-1"), ("receipt", "j-6")]
    assert found[("order", "j-1")]["total"] == Decimal("13.00")
    assert found[("receipt", "j-6")]["status"] == "returned"
    assert count_lines(db) == 4

    again = write(
        tmp_path,
        "again.jsonl",
        line("j-1", status="cancelled", lines=[{"sku": "GIFT", "quantity": 1, "price": 5, "category": "gifts"}]),
    )
    assert import_orders(db, again, now=NOW).imported == 1
    found = stored(db)
    assert found[("order", "j-1")]["status"] == "cancelled"
    assert found[("order", "j-1")]["lines"] == [("GIFT", "gifts", Decimal("1.000"), Decimal("5.00"), Decimal("5.00"))]
    assert count_lines(db) == 3


def test_large_csv_imports_in_batches_with_progress_and_orders_kept_whole(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER)
        for index in range(1_200):
            for item in range(1 + index % 3):  # 1 to 3 lines per order
                customer = "nobody" if index == 700 else "ann" if index % 2 else "bob"
                handle.write(f"b-{index},receipt,{customer},,,2026-01-0{1 + index % 5}T10:00:00Z,,S{item},1,2.50,\n")
    calls: list[tuple[int, int]] = []
    report = import_orders(db, path, now=NOW, batch_size=500, progress=lambda rows, done: calls.append((rows, done)))

    assert (report.total_rows, report.imported, report.failed) == (1_200, 1_199, 1)
    assert [(e.field, e.external_id) for e in report.errors] == [("customer", "b-700")]
    assert [rows for rows, _ in calls] == [500, 1_000, 1_200]
    assert calls[-1][1] == path.stat().st_size
    assert count_lines(db) == sum(1 + index % 3 for index in range(1_200)) - (1 + 700 % 3)
    found = stored(db)
    assert len(found) == 1_199
    assert found[("receipt", "b-500")]["total"] == Decimal("7.50")  # 3 lines, across no batch boundary


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("orders.csv", "external_id,kind,customer,placed_at,sku,quantity\n", "no price column"),
        ("orders.csv", "external_id,kind,customer,placed_at,sku,quantity,price,colour\n", "'colour'"),
        ("orders.csv", "", "no header row"),
        ("orders.xml", "<orders/>", "unknown file type"),
    ],
)
def test_files_that_cannot_be_imported_are_refused(
    db: Database, tmp_path: Path, name: str, text: str, expected: str
) -> None:
    with pytest.raises(ImportInvalid, match=expected):
        import_orders(db, write(tmp_path, name, text), now=NOW)
    assert stored(db) == {}
