from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.helpers import error_of
from tidings.core.errors import ImportInvalid
from tidings.services import Services
from tidings.store.catalog_data import CATEGORIES, PRODUCTS, STORES
from tidings.store.catalog_import import import_catalog


def post(client: httpx.Client, path: str, key: str, *rows: Any) -> dict[str, Any]:
    response = client.post(path, json={key: list(rows)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def items(client: httpx.Client, path: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(path).json()["items"]
    return found


def test_stores_upsert_list_and_report_bad_rows(client: httpx.Client) -> None:
    body = post(
        client,
        "/stores",
        "stores",
        {"code": "RIX-1", "name": "Riga Centre", "city": "Riga", "timezone": "Europe/Riga"},
        {"code": "TLL-1", "name": "Tallinn", "timezone": "Mars/Olympus"},
        {"code": " padded ", "name": "Padded"},
        {"code": "OSL-1", "name": "Oslo", "manager": "Ola"},
        {"code": "VNO-1", "name": "Vilnius"},
    )
    assert body["upserted"] == 2
    assert [(e["index"], e["code"], e["field"]) for e in body["errors"]] == [
        (1, "TLL-1", "timezone"),
        (2, " padded ", "code"),
        (3, "OSL-1", "manager"),
    ]
    assert items(client, "/stores") == [
        {"code": "RIX-1", "name": "Riga Centre", "city": "Riga", "timezone": "Europe/Riga"},
        {"code": "VNO-1", "name": "Vilnius", "city": None, "timezone": None},
    ]
    # fields left out keep their value, null clears one; a code named twice applies in order
    post(
        client,
        "/stores",
        "stores",
        {"code": "RIX-1", "name": "Riga"},
        {"code": "RIX-1", "name": "Riga Old Town", "timezone": None},
    )
    assert items(client, "/stores")[0] == {"code": "RIX-1", "name": "Riga Old Town", "city": "Riga", "timezone": None}
    page = client.get("/stores", params={"limit": 1, "offset": 1}).json()
    assert (page["items"][0]["code"], page["total"], page["limit"], page["offset"]) == ("VNO-1", 2, 1, 1)


def test_categories_with_parents_in_the_same_batch_cycles_and_orphans(client: httpx.Client) -> None:
    body = post(
        client,
        "/product-categories",
        "categories",
        {"code": "sneakers", "name": "Sneakers", "parent": "shoes"},  # parent comes later in the batch
        {"code": "shoes", "name": "Shoes", "parent": "apparel"},
        {"code": "apparel", "name": "Apparel"},
        {"code": "hats", "name": "Hats", "parent": "ghost"},
        {"code": "caps", "name": "Caps", "parent": "hats"},  # orphaned: its parent is refused
        {"code": "loop", "name": "Loop", "parent": "loop"},
        {"code": "a", "name": "A", "parent": "b"},
        {"code": "b", "name": "B", "parent": "a"},
    )
    assert body["upserted"] == 3
    errors = {e["code"]: e for e in body["errors"]}
    assert sorted(errors) == ["a", "b", "caps", "hats", "loop"]
    assert {e["field"] for e in body["errors"]} == {"parent"}
    assert "unknown parent category 'ghost'" in errors["hats"]["message"]
    assert "unknown parent category 'hats'" in errors["caps"]["message"]
    assert "own parent" in errors["loop"]["message"]
    assert "cycle" in errors["a"]["message"] and "cycle" in errors["b"]["message"]
    assert items(client, "/product-categories") == [
        {"code": "apparel", "name": "Apparel", "parent": None},
        {"code": "shoes", "name": "Shoes", "parent": "apparel"},
        {"code": "sneakers", "name": "Sneakers", "parent": "shoes"},
    ]
    # re-parenting a stored category under its own descendant is a cycle too
    error = error_of(
        client.post(
            "/product-categories", json={"categories": [{"code": "apparel", "name": "A", "parent": "sneakers"}]}
        ),
        422,
    )
    assert error["details"][0]["field"] == "parent"
    assert "no product category stored" in error["message"]


def test_products_need_a_known_category(client: httpx.Client) -> None:
    post(client, "/product-categories", "categories", {"code": "shoes", "name": "Shoes"})
    body = post(
        client,
        "/products",
        "products",
        {"sku": "SKU-1", "name": "Runner", "category": "shoes", "price": 59.9},
        {"sku": "SKU-2", "name": "Hat", "category": "hats", "price": 10},
        {"sku": "SKU-3", "name": "Sock", "price": "1.999"},
        {"sku": "SKU-4", "name": "Gift card", "price": -5},
        {"sku": "SKU-5", "name": "Lace"},
    )
    assert body["upserted"] == 2
    assert [(e["index"], e["sku"], e["field"]) for e in body["errors"]] == [
        (1, "SKU-2", "category"),
        (2, "SKU-3", "price"),
        (3, "SKU-4", "price"),
    ]
    assert "unknown category 'hats'" in body["errors"][0]["message"]
    assert items(client, "/products") == [
        {"sku": "SKU-1", "name": "Runner", "category": "shoes", "price": 59.9},
        {"sku": "SKU-5", "name": "Lace", "category": None, "price": None},
    ]
    assert error_of(client.post("/products", json={"products": []}), 422)["details"][0]["field"] == "products"


def test_catalogue_import_from_csv_and_jsonl(services: Services, tmp_path: Path) -> None:
    stores_file = tmp_path / "stores.csv"
    stores_file.write_text(
        "code;name;city;timezone\nRIX-1;Riga;Riga;Europe/Riga\nTLL-1;Tallinn;;Mars/Olympus\nVNO-1;Vilnius;;\n",
        encoding="utf-8",
    )
    report = import_catalog(services.db, STORES, stores_file)
    assert (report.imported, report.failed) == (2, 1)
    assert [(e.line, e.external_id, e.field) for e in report.errors] == [(3, "TLL-1", "timezone")]

    categories_file = tmp_path / "categories.csv"
    categories_file.write_text(
        "code,name,parent\napparel,Apparel,\nshoes,Shoes,apparel\nhats,Hats,ghost\n", encoding="utf-8"
    )
    report = import_catalog(services.db, CATEGORIES, categories_file)
    assert (report.imported, report.failed) == (2, 1)
    assert [(e.line, e.external_id, e.field) for e in report.errors] == [(4, "hats", "parent")]

    products_file = tmp_path / "products.jsonl"
    products_file.write_text(
        '{"sku": "S1", "name": "Runner", "category": "shoes", "price": 59.9}\n'
        '{"sku": "S2", "name": "Hat", "category": "hats"}\n'
        "\n"
        '{"sku": "S3", "name": "Sock", "price": "cheap"}\n'
        '{"sku": "S4", "name": "Lace"}\n',
        encoding="utf-8",
    )
    report = import_catalog(services.db, PRODUCTS, products_file)
    assert (report.imported, report.failed, report.total_rows) == (2, 2, 4)
    assert [(e.line, e.external_id, e.field) for e in report.errors] == [(2, "S2", "category"), (4, "S3", "price")]
    with services.db.engine.connect() as conn:
        assert conn.execute(PRODUCTS.count()).scalar_one() == 2
        assert conn.execute(STORES.count()).scalar_one() == 2

    with pytest.raises(ImportInvalid, match="no name column"):
        import_catalog(services.db, PRODUCTS, _write(tmp_path / "bad.csv", "sku,price\nS9,1\n"))
    with pytest.raises(ImportInvalid, match="'colour'"):
        import_catalog(services.db, STORES, _write(tmp_path / "bad2.csv", "code,name,colour\nX,Y,red\n"))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
