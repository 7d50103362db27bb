from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.helpers import add_customers, error_of
from tidings.services import Services
from tidings.store.bulk_import import import_customers
from tidings.store.tables import customers

FIELDS = [
    {"code": "shoe_size", "name": "Shoe size", "type": "number"},
    {"code": "level", "name": "Loyalty level", "type": "text"},
    {"code": "vip", "name": "VIP", "type": "boolean"},
    {"code": "first_visit", "name": "First visit", "type": "date"},
    {"code": "last_seen", "name": "Last seen", "type": "datetime"},
]


def declare(client: httpx.Client, *fields: dict[str, str]) -> None:
    for field in fields or FIELDS:
        response = client.post("/custom-fields", json=field)
        assert response.status_code == 201, response.text


def attributes_of(services: Services, external_id: str) -> dict[str, Any]:
    """Straight from the table: the JSON values as stored, with their JSON types."""
    with services.db.engine.connect() as conn:
        query = select(customers.c.attributes).where(customers.c.external_id == external_id)
        stored: dict[str, Any] = conn.execute(query).scalar_one()
    return stored


def test_declare_list_and_read_fields(client: httpx.Client) -> None:
    created = client.post("/custom-fields", json=FIELDS[0])
    assert created.status_code == 201
    assert created.json() == {**FIELDS[0], "created_at": "2026-01-05T10:00:00Z"}
    declare(client, *FIELDS[1:])

    page = client.get("/custom-fields").json()
    assert [item["code"] for item in page["items"]] == ["first_visit", "last_seen", "level", "shoe_size", "vip"]
    assert (page["total"], page["limit"], page["offset"]) == (5, 100, 0)
    assert client.get("/custom-fields", params={"limit": 2, "offset": 4}).json()["items"][0]["code"] == "vip"
    assert client.get("/custom-fields/vip").json()["type"] == "boolean"
    assert error_of(client.get("/custom-fields/nope"), 404)["details"]["code"] == "nope"


def test_declaring_again_renames_but_never_changes_the_type(client: httpx.Client) -> None:
    declare(client, FIELDS[0])
    again = client.post("/custom-fields", json={**FIELDS[0], "name": "Size of shoe"})
    assert again.status_code == 200
    assert again.json()["name"] == "Size of shoe"
    error = error_of(client.post("/custom-fields", json={**FIELDS[0], "type": "text"}), 409)
    assert error["code"] == "conflict"
    assert error["details"] == {"code": "shoe_size", "type": "number", "requested_type": "text"}
    assert client.get("/custom-fields/shoe_size").json()["type"] == "number"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "shoe-size", "name": "Shoe size", "type": "number"}, "code"),
        ({"code": "ShoeSize", "name": "Shoe size", "type": "number"}, "code"),
        ({"code": "1st", "name": "First", "type": "text"}, "code"),
        ({"code": "size", "name": "Size", "type": "integer"}, "type"),
        ({"code": "size", "name": "", "type": "text"}, "name"),
        ({"code": "size", "name": "Size", "type": "text", "scope": "orders"}, "scope"),
    ],
)
def test_a_bad_declaration_is_422_naming_the_field(client: httpx.Client, body: dict[str, str], field: str) -> None:
    error = error_of(client.post("/custom-fields", json=body), 422)
    assert error["details"][0]["field"] == field
    assert client.get("/custom-fields").json()["total"] == 0


def test_attributes_are_stored_with_their_declared_types(client: httpx.Client, services: Services) -> None:
    declare(client)
    add_customers(
        client,
        {
            "external_id": "c1",
            "attributes": {
                "shoe_size": 42,
                "level": "gold",
                "vip": True,
                "first_visit": "2025-03-01",
                "last_seen": "2026-01-04T12:30:00+02:00",
            },
        },
        # the spellings a CSV cell or a loosely typed client sends are converted to the type
        {
            "external_id": "c2",
            "attributes": {
                "shoe_size": " 38.5 ",
                "vip": "no",
                "first_visit": "20250302",
                "last_seen": "2026-01-04T12:30:00.250Z",
                "level": None,
            },
        },
    )
    first = attributes_of(services, "c1")
    assert first == {
        "shoe_size": 42,
        "level": "gold",
        "vip": True,
        "first_visit": "2025-03-01",
        "last_seen": "2026-01-04T10:30:00Z",
    }
    assert type(first["shoe_size"]) is int and type(first["vip"]) is bool
    second = attributes_of(services, "c2")
    assert second == {
        "shoe_size": 38.5,
        "vip": False,
        "first_visit": "2025-03-02",
        "last_seen": "2026-01-04T12:30:00.250000Z",
    }
    assert type(second["shoe_size"]) is float
    assert client.get("/customers/c1").json()["attributes"]["last_seen"] == "2026-01-04T10:30:00Z"


def test_unknown_codes_and_wrong_types_are_row_errors_naming_the_attribute(
    client: httpx.Client, services: Services
) -> None:
    declare(client)
    response = client.post(
        "/customers",
        json={
            "customers": [
                {"external_id": "good", "attributes": {"shoe_size": 40, "level": "silver"}},
                {"external_id": "unknown", "attributes": {"shoe_size": 40, "hair": "red"}},
                {"external_id": "number", "attributes": {"shoe_size": "forty"}},
                {"external_id": "bool", "attributes": {"vip": 1}},
                {"external_id": "text", "attributes": {"level": 3}},
                {"external_id": "date", "attributes": {"first_visit": "2025-02-30"}},
                {"external_id": "naive", "attributes": {"last_seen": "2026-01-04T12:30:00"}},
                {"external_id": "list", "attributes": {"level": ["gold"]}},
                {"external_id": "good2", "attributes": {"vip": False}},
            ]
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["upserted"] == 2
    assert [(e["index"], e["external_id"], e["field"]) for e in body["errors"]] == [
        (1, "unknown", "attributes.hair"),
        (2, "number", "attributes.shoe_size"),
        (3, "bool", "attributes.vip"),
        (4, "text", "attributes.level"),
        (5, "date", "attributes.first_visit"),
        (6, "naive", "attributes.last_seen"),
        (7, "list", "attributes.level"),
    ]
    messages = {e["external_id"]: e["message"] for e in body["errors"]}
    assert "unknown custom field 'hair'" in messages["unknown"] and "/api/v1/custom-fields" in messages["unknown"]
    assert messages["number"] == "expected a number, got 'forty'"
    assert messages["bool"] == "expected true or false, got 1"
    assert messages["text"] == "expected text (a JSON string), got 3"
    assert "UTC offset" in messages["naive"]
    assert attributes_of(services, "good") == {"shoe_size": 40, "level": "silver"}
    assert attributes_of(services, "good2") == {"vip": False}
    assert error_of(client.get("/customers/unknown"), 404)["code"] == "not_found"


def test_attributes_without_any_declared_field_are_refused(client: httpx.Client) -> None:
    error = error_of(client.post("/customers", json={"customers": [{"external_id": "a", "attributes": {"x": 1}}]}), 422)
    assert error["details"] == [
        {
            "index": 0,
            "external_id": "a",
            "field": "attributes.x",
            "message": "unknown custom field 'x'; declare it first with POST /api/v1/custom-fields",
        }
    ]


def test_bulk_import_types_attributes_and_refuses_bad_ones_per_row(
    client: httpx.Client, services: Services, tmp_path: Path
) -> None:
    declare(client)
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(
        "external_id,attr.shoe_size,attr.vip,attr.first_visit,attr.last_seen,attr.hair\n"  # 1
        "c1,42,yes,2025-03-01,2026-01-04T12:30:00+02:00,\n"  # 2
        "c2,big,,,,\n"  # 3
        "c3,,maybe,,,\n"  # 4
        "c4,,,,,red\n"  # 5
        "c5,37.5,N,,,\n",  # 6
        encoding="utf-8",
    )
    report = import_customers(services.db, csv_file, now=services.clock.now())
    assert (report.imported, report.failed) == (2, 3)
    assert [(e.line, e.external_id, e.field) for e in report.errors] == [
        (3, "c2", "attr.shoe_size"),
        (4, "c3", "attr.vip"),
        (5, "c4", "attr.hair"),
    ]
    assert attributes_of(services, "c1") == {
        "shoe_size": 42,
        "vip": True,
        "first_visit": "2025-03-01",
        "last_seen": "2026-01-04T10:30:00Z",
    }
    assert attributes_of(services, "c5") == {"shoe_size": 37.5, "vip": False}

    jsonl_file = tmp_path / "customers.jsonl"
    rows = [
        {"external_id": "j1", "attributes": {"shoe_size": 44, "level": "gold", "vip": True}},
        {"external_id": "j2", "attributes": {"level": 7}},
        {"external_id": "j3", "attributes": {"colour": "red"}},
    ]
    jsonl_file.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    report = import_customers(services.db, jsonl_file, now=services.clock.now())
    assert (report.imported, report.failed) == (1, 2)
    assert [(e.line, e.external_id, e.field) for e in report.errors] == [
        (2, "j2", "attributes.level"),
        (3, "j3", "attributes.colour"),
    ]
    assert attributes_of(services, "j1") == {"shoe_size": 44, "level": "gold", "vip": True}
