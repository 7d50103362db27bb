"""Every malformed condition is refused when the campaign is saved, with an error naming the node and the path
of the bad part of the tree (``config.condition.all[2].orders.metric``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert

from tidings.core.errors import DocumentInvalid
from tidings.document.validation import parse_document
from tidings.model.catalog import Catalog
from tidings.services import Services
from tidings.store.tables import audiences, custom_fields, segments

CATALOG = Catalog(custom_fields={"size": "number", "tier": "text", "vip": "boolean"}, segments=frozenset({7}),
                  audiences=frozenset({3}))  # fmt: skip


def document(condition: Any) -> dict[str, Any]:
    return {
        "name": "Conditions",
        "trigger": {"id": "trigger", "type": "api_enrollment", "config": {}},
        "nodes": [{"id": "f1", "type": "filter_customers", "config": {"condition": condition}}],
        "edges": [{"source": "trigger", "target": "f1"}],
    }


def problem(condition: Any, catalog: Catalog | None = CATALOG) -> dict[str, Any]:
    with pytest.raises(DocumentInvalid) as raised:
        parse_document(document(condition), catalog)
    details: list[dict[str, Any]] = raised.value.details
    assert len(details) == 1, details
    assert details[0]["node"] == "f1"
    return details[0]


def wrapped(leaf: dict[str, Any]) -> dict[str, Any]:
    """The leaf as the third child of an `all` inside an `any` — to show the whole path is named."""
    return {"any": [{"all": [{"field": "city", "op": "empty"}, {"not": {"audience": 3}}, leaf]}]}


CASES = [
    # customer fields
    ({"field": "shoe_size", "op": "eq", "value": 1}, "", ["unknown customer field 'shoe_size'", "attributes.<code>"]),
    ({"field": "attributes.colour", "op": "equals", "value": "red"}, "", ["unknown custom field", "size, tier, vip"]),
    ({"field": "attributes.shoe-size", "op": "eq", "value": 1}, "", ["no hyphens"]),
    ({"field": "attributes.size", "op": "contains", "value": "4"}, "", ["'contains'", "number", "eq, ne"]),
    ({"field": "attributes.size", "op": "gt", "value": "big"}, "", ["attributes.size", "'big'"]),
    ({"field": "attributes.tier", "op": "gt", "value": 1}, "", ["'gt'", "text field 'attributes.tier'"]),
    ({"field": "attributes.vip", "op": "is_true", "value": True}, "", ["takes no value"]),
    ({"field": "points_balance", "op": "eq", "value": True}, "", ["expected a number"]),
    ({"field": "city", "op": "equals", "value": "x", "type": "number"}, "", ["text field, not number"]),
    ({"field": "birthday", "op": "after", "value": "2026-01-01T00:00:00Z"}, "", ["not a date (YYYY-MM-DD)"]),
    ({"field": "registered_at", "op": "between", "value": ["2026-01-01", "2026-01-02T00:00:00Z"]}, "", ["both"]),
    ({"field": "registered_at", "op": "in_last_days", "value": 1.5}, "", ["whole number of days"]),
    ({"field": "registered_at", "op": "day_and_month_today"}, "", ["'day_and_month_today'", "datetime"]),
    # memberships
    ({"audience": 4}, ".audience", ["audience 4 does not exist"]),
    ({"segment": 8, "op": "member"}, ".segment", ["segment 8 does not exist"]),
    ({"segment": "7"}, ".segment", ["integer"]),
    ({"audience": 3, "op": "inside"}, ".op", ["member", "not_member"]),
    # orders
    ({"orders": {"metric": "median"}, "op": "gt", "value": 1}, ".orders.metric", ["count", "average"]),
    ({"orders": {"kind": "invoice", "metric": "count"}, "op": "gt", "value": 1}, ".orders.kind", ["receipt"]),
    ({"orders": {"metric": "count", "status": "lost"}, "op": "gt", "value": 1}, ".orders.status", ["paid"]),
    ({"orders": {"metric": "count", "colour": "red"}, "op": "gt", "value": 1}, ".orders.colour", ["unknown field"]),
    ({"orders": {"metric": "count"}, "op": "before", "value": "2026-01-01"}, "", ["'before'", "orders count"]),
    ({"orders": {"metric": "count"}, "op": "empty"}, "", ["'empty'", "orders count"]),
    ({"orders": {"metric": "sum"}, "op": "gt", "value": "lots"}, "", ["orders sum", "'lots'"]),
    ({"orders": {"metric": "last_date"}, "op": "gt", "value": 3}, "", ["'gt'", "orders last_date", "before"]),
    ({"orders": {"metric": "last_date"}, "op": "before", "value": "soon"}, "", ["'soon'"]),
    ({"orders": {"metric": "count", "period": {}}, "op": "gt", "value": 1}, ".orders.period", ["last_days"]),
    (
        {"orders": {"metric": "count", "period": {"last_days": -1}}, "op": "gt", "value": 1},
        ".orders.period.last_days",
        ["greater than or equal to 0"],
    ),
    (
        {"orders": {"metric": "count", "period": {"between": ["2026-02-01", "2026-01-01"]}}, "op": "gt", "value": 1},
        ".orders.period",
        ["2026-02-01 is after 2026-01-01"],
    ),
    (
        {
            "orders": {"metric": "count", "period": {"last_days": 3, "between": ["2026-01-01", "2026-01-02"]}},
            "op": "gt",
            "value": 1,
        },
        ".orders.period",
        ["either"],
    ),
    # events
    ({"event": {"properties": []}, "op": "at_least", "value": 1}, ".event.name", ["Field required"]),
    ({"event": {"name": "x"}, "op": "more_than", "value": 1}, ".op", ["at_least"]),
    ({"event": {"name": "x"}, "op": "at_least", "value": -1}, ".value", ["greater than or equal to 0"]),
    ({"event": {"name": "x"}, "op": "at_least", "value": "3"}, ".value", ["integer"]),
    (
        {
            "event": {"name": "x", "properties": [{"property": "price", "op": "gt", "value": "lots"}]},
            "op": "at_least",
            "value": 1,
        },
        ".event.properties[0]",
        ["number"],
    ),
    (
        {"event": {"name": "x", "period": {"last_days": "7"}}, "op": "at_most", "value": 1},
        ".event.period.last_days",
        ["integer"],
    ),
    # messages and campaigns
    ({"message": {"status": "bounced"}}, ".message.status", ["received", "opened", "clicked"]),
    ({"message": {"node": "e1"}}, ".message", ["give campaign too"]),
    ({"message": {"channel": "fax"}}, ".message.channel", ["email"]),
    ({"message": {}, "op": "maybe"}, ".op", ["yes", "no"]),
    ({"campaign": {}}, ".campaign.id", ["Field required"]),
    ({"campaign": {"id": 0}}, ".campaign.id", ["greater than or equal to 1"]),
    ({"campaign": {"id": 1}, "op": "won"}, ".op", ["participated"]),
    # the tree itself
    ({"every": []}, "", ["audience, segment, orders, event, message, campaign"]),
    ({"all": {"field": "city"}}, ".all", ["list"]),
]


@pytest.mark.parametrize(("leaf", "suffix", "words"), CASES)
def test_a_bad_condition_names_its_path(leaf: dict[str, Any], suffix: str, words: list[str]) -> None:
    found = problem(wrapped(leaf))
    assert found["field"] == "config.condition.any[0].all[2]" + suffix
    for word in words:
        assert word in found["message"], found


def test_the_order_metric_path_of_the_issue() -> None:
    condition = {"all": [{"field": "city", "op": "empty"}, {"audience": 3}, {"orders": {"metric": "mean"}, "op": "gt"}]}
    assert problem(condition)["field"] == "config.condition.all[2].orders.metric"


def test_without_a_catalog_references_are_not_checked_and_attributes_are_text() -> None:
    document = {
        "name": "Offline",
        "trigger": {"id": "trigger", "type": "api_enrollment", "config": {}},
        "nodes": [
            {
                "id": "f1",
                "type": "filter_customers",
                "config": {
                    "condition": {
                        "all": [
                            {"audience": 99},
                            {"segment": 98, "op": "not_member"},
                            {"field": "attributes.anything", "op": "contains", "value": "x"},
                        ]
                    }
                },
            }
        ],
        "edges": [{"source": "trigger", "target": "f1"}],
    }
    parsed = parse_document(document)
    assert parsed.model_dump(mode="json", by_alias=True)["nodes"][0]["config"]["condition"]["all"][2] == {
        "field": "attributes.anything",
        "op": "contains",
        "value": "x",
        "type": "text",
    }
    found = problem({"field": "attributes.anything", "op": "gt", "value": 1}, catalog=None)
    assert found["field"] == "config.condition"
    assert "text field" in found["message"]


def test_the_campaign_service_checks_against_the_stored_catalog(services: Services) -> None:
    """Saved through the service, on both databases: declared fields, audiences and segments come from the
    database, and every case above is refused with the same path."""
    now = services.clock.now()
    with services.db.engine.begin() as conn:
        for code, kind in CATALOG.custom_fields.items():
            conn.execute(insert(custom_fields).values(code=code, name=code, type=kind, created_at=now))
        conn.execute(insert(audiences).values(id=3, name="a3", created_at=now, updated_at=now))
        conn.execute(insert(segments).values(id=7, name="s7", condition={"all": []}, created_at=now, updated_at=now))
    for leaf, suffix, words in CASES:
        with pytest.raises(DocumentInvalid) as raised:
            services.campaigns.create(document(wrapped(leaf)))
        found = raised.value.details[0]
        assert (found["node"], found["field"]) == ("f1", "config.condition.any[0].all[2]" + suffix), leaf
        assert all(word in found["message"] for word in words), found
    created = services.campaigns.create(
        document({"all": [{"audience": 3}, {"segment": 7}, {"field": "attributes.size", "op": "gte", "value": 40}]})
    )
    condition = services.campaigns.get(created["id"])["document"]["nodes"][0]["config"]["condition"]
    assert condition["all"][2] == {"field": "attributes.size", "op": "gte", "value": 40, "type": "number"}
