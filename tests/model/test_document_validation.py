"""Campaign document validation: every problem is reported, each naming the node and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tidings.cli import app as cli
from tidings.core.errors import DocumentInvalid
from tidings.document.campaign import MAX_EDGES, MAX_NODES
from tidings.document.validation import parse_document
from tidings.services import Services

TRIGGER = {"id": "trigger", "type": "api_enrollment", "config": {}}


def document(nodes: list[dict[str, Any]], edges: list[tuple[str, ...]], **extra: Any) -> dict[str, Any]:
    return {
        "name": "Validation",
        "trigger": extra.pop("trigger", TRIGGER),
        "nodes": nodes,
        "edges": [{"source": e[0], "target": e[1], **({"source_port": e[2]} if len(e) == 3 else {})} for e in edges],
        **extra,
    }


def wait(node_id: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "wait", "config": {"amount": 1, **config}}


def check(condition: Any) -> dict[str, Any]:
    return {"id": "f1", "type": "filter_customers", "config": {"condition": condition}}


def problems(raw: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(DocumentInvalid) as raised:
        parse_document(raw)
    assert raised.value.code == "campaign.document_invalid"
    assert raised.value.http_status == 422
    details: list[dict[str, Any]] = raised.value.details
    first = details[0]
    assert f"node {first['node']!r}" in raised.value.message or first["node"] is None
    if first["field"]:
        assert f"field {first['field']!r}" in raised.value.message
    return details


def only(raw: dict[str, Any]) -> dict[str, Any]:
    found = problems(raw)
    assert len(found) == 1, found
    return found[0]


def test_a_valid_document_parses_and_round_trips() -> None:
    raw = document(
        [
            check(
                {
                    "all": [
                        {
                            "any": [
                                {"field": "city", "op": "in", "value": ["Riga", "Oslo"]},
                                {"not": {"field": "birthday", "op": "before", "value": "1990-01-01"}},
                            ]
                        },
                        {"subscription": {"channel": "email", "category": "news"}, "op": "subscribed"},
                    ]
                }
            ),
            wait("w1", unit="hours"),
            {
                "id": "e1",
                "type": "send_email",
                "config": {"subject": "Hi", "body_html": "<p>x</p>", "category": "news"},
            },
            {"id": "u1", "type": "wait_until_date", "config": {"date": "2026-03-30"}},
        ],
        [("trigger", "f1"), ("f1", "w1", "yes"), ("f1", "e1", "no"), ("w1", "e1"), ("e1", "u1")],
        settings={"reentry_interval": "P365D"},
        layout={"f1": {"x": 1, "y": 2}},
    )
    parsed = parse_document(raw)
    dumped = parsed.model_dump(mode="json", by_alias=True)
    assert dumped["settings"]["reentry_interval"] == "P365D"
    assert dumped["nodes"][0]["config"]["condition"]["all"][0]["any"][1] == {
        "not": {"field": "birthday", "op": "before", "value": "1990-01-01"}
    }
    assert parse_document(dumped) == parsed


def test_a_cycle_is_rejected_naming_a_node_on_it() -> None:
    found = only(document([wait("a"), wait("b"), wait("c")], [("trigger", "a"), ("a", "b"), ("b", "c"), ("c", "a")]))
    assert found["node"] in {"a", "b", "c"}
    assert "cycle" in found["message"]
    assert "a → b → c → a" in found["message"]


def test_a_cycle_error_names_the_edge_that_closes_it() -> None:
    found = only(document([wait("a"), wait("b")], [("trigger", "a"), ("a", "b"), ("b", "a")]))
    assert found["field"] == "edges[2]"


def test_a_self_loop_is_a_cycle() -> None:
    found = problems(document([wait("a")], [("trigger", "a"), ("a", "a")]))
    assert any(item["node"] == "a" and "cycle" in item["message"] for item in found)


def test_an_unreachable_node_is_named() -> None:
    found = problems(
        document([wait("a"), wait("orphan"), wait("orphan_child")], [("trigger", "a"), ("orphan", "orphan_child")])
    )
    assert [item["node"] for item in found] == ["orphan", "orphan_child"]
    assert all("unreachable" in item["message"] for item in found)


def test_an_edge_to_or_from_an_unknown_node() -> None:
    assert only(document([wait("a")], [("trigger", "a"), ("a", "ghost")])) == {
        "node": "a",
        "field": "edges[1].target",
        "message": "edge ends at unknown node 'ghost'",
    }
    assert only(document([wait("a")], [("trigger", "a"), ("ghost", "a")])) == {
        "node": "ghost",
        "field": "edges[1].source",
        "message": "edge starts at unknown node 'ghost'",
    }


def test_wrong_ports() -> None:
    nodes = [check({"all": []}), wait("w1")]
    unknown = problems(document(nodes, [("trigger", "f1"), ("f1", "w1", "maybe")]))[0]
    assert (unknown["node"], unknown["field"]) == ("f1", "edges[1].source_port")
    assert "'maybe' does not exist" in unknown["message"]
    assert "yes, no" in unknown["message"]
    missing = problems(document(nodes, [("trigger", "f1"), ("f1", "w1")]))[0]
    assert (missing["node"], missing["field"]) == ("f1", "edges[1].source_port")
    assert "several outputs" in missing["message"]
    on_wait = problems(document([wait("a"), wait("b")], [("trigger", "a"), ("a", "b", "no")]))[0]
    assert (on_wait["node"], on_wait["field"]) == ("a", "edges[1].source_port")


def test_an_edge_into_the_trigger_and_a_duplicate_edge() -> None:
    assert only(document([wait("a")], [("trigger", "a"), ("a", "trigger")]))["field"] == "edges[1].target"
    duplicate = only(document([wait("a")], [("trigger", "a"), ("trigger", "a")]))
    assert (duplicate["node"], duplicate["field"]) == ("trigger", "edges[1]")


def test_unknown_node_and_trigger_types() -> None:
    node = only(document([{"id": "x1", "type": "send_fax", "config": {}}], [("trigger", "x1")]))
    assert (node["node"], node["field"]) == ("x1", "type")
    assert "unknown type 'send_fax'" in node["message"]
    assert "send_email" in node["message"]
    trigger = only(document([], [], trigger={"id": "start", "type": "full_moon", "config": {}}))
    assert (trigger["node"], trigger["field"]) == ("start", "type")
    assert "event_occurred" in trigger["message"]


def test_unknown_fields_anywhere() -> None:
    assert only(document([wait("w1", colour="red")], [("trigger", "w1")])) == {
        "node": "w1",
        "field": "config.colour",
        "message": "unknown field",
    }
    assert only(document([{**wait("w1"), "colour": "red"}], [("trigger", "w1")])) == {
        "node": "w1",
        "field": "colour",
        "message": "unknown field",
    }
    assert only(document([wait("w1")], [("trigger", "w1")], owner="me")) == {
        "node": None,
        "field": "owner",
        "message": "unknown field",
    }
    assert only(document([wait("w1")], [("trigger", "w1")], settings={"speed": 1})) == {
        "node": None,
        "field": "settings.speed",
        "message": "unknown field",
    }
    trigger = {"id": "trigger", "type": "event_occurred", "config": {"event": "x", "filter": 1}}
    assert only(document([], [], trigger=trigger)) == {
        "node": "trigger",
        "field": "config.filter",
        "message": "unknown field",
    }


def test_bad_action_and_trigger_settings_name_their_field() -> None:
    assert only(document([wait("w1", amount=0)], [("trigger", "w1")]))["field"] == "config.amount"
    assert only(document([wait("w1", unit="weeks")], [("trigger", "w1")]))["field"] == "config.unit"
    assert only(document([{"id": "w1", "type": "wait", "config": {}}], [("trigger", "w1")]))["field"] == "config.amount"
    date_trigger = {"id": "trigger", "type": "date_has_come", "config": {"date": "2026-01-07", "hour": 24}}
    assert only(document([], [], trigger=date_trigger)) | {"message": ""} == {
        "node": "trigger",
        "field": "config.hour",
        "message": "",
    }
    weekly = {"id": "trigger", "type": "repeated_date", "config": {"frequency": "weekly"}}
    assert "weekdays" in only(document([], [], trigger=weekly))["message"]
    cron = {"id": "trigger", "type": "repeated_date", "config": {"frequency": "cron", "cron": "every day"}}
    assert "cron" in only(document([], [], trigger=cron))["message"]
    bad_property = {
        "id": "trigger",
        "type": "event_occurred",
        "config": {"event": "x", "properties": [{"property": "amount", "op": "gt", "value": "lots"}]},
    }
    found = only(document([], [], trigger=bad_property))
    assert (found["node"], found["field"]) == ("trigger", "config.properties[0]")
    assert "number" in found["message"]


@pytest.mark.parametrize(
    ("condition", "field", "words"),
    [
        ({"field": "city", "op": "gt", "value": "Riga"}, "config.condition", ["'gt'", "city", "equals"]),
        (
            {"all": [{"field": "shoe_size", "op": "eq", "value": 42}]},
            "config.condition.all[0]",
            ["unknown customer field 'shoe_size'"],
        ),
        ({"any": [{"field": "city", "op": "equals"}]}, "config.condition.any[0]", ["city", "equals"]),
        (
            {"not": {"field": "points_balance", "op": "gte", "value": "ten"}},
            "config.condition.not",
            ["points_balance", "number", "'ten'"],
        ),
        (
            {"all": [{"any": [{"field": "birthday", "op": "before", "value": "yesterday"}]}]},
            "config.condition.all[0].any[0]",
            ["birthday", "'yesterday'", "YYYY-MM-DD"],
        ),
        ({"field": "registered_at", "op": "after", "value": "2026-01-01T00:00:00"}, "config.condition", ["UTC offset"]),
        ({"field": "points_balance", "op": "between", "value": [5, 1]}, "config.condition", ["low 5 is above high 1"]),
        ({"field": "city", "op": "in", "value": []}, "config.condition", ["non-empty list"]),
        ({"field": "registered_at", "op": "days_ago", "value": -1}, "config.condition", ["whole number of days"]),
        ({"field": "city", "op": "empty", "value": "x"}, "config.condition", ["takes no value"]),
        ({"allof": []}, "config.condition", ["all, any, not, field, subscription"]),
        ({"subscription": {"channel": "fax"}}, "config.condition.subscription.channel", ["email"]),
        ({"subscription": {"channel": "email"}, "op": "maybe"}, "config.condition.op", ["subscribed"]),
        ({"field": "city", "op": "equals", "value": "Riga", "weight": 2}, "config.condition.weight", ["unknown field"]),
    ],
)
def test_bad_conditions_name_the_node_and_the_condition(condition: Any, field: str, words: list[str]) -> None:
    found = only(document([check(condition)], [("trigger", "f1")]))
    assert (found["node"], found["field"]) == ("f1", field)
    for word in words:
        assert word in found["message"]


def test_every_problem_is_reported_at_once() -> None:
    raw = document(
        [
            wait("w1", amount=0),
            check({"field": "shoe_size", "op": "eq", "value": 1}),
            {"id": "x1", "type": "send_fax", "config": {}},
        ],
        [("trigger", "w1")],
    )
    assert [(item["node"], item["field"]) for item in problems(raw)] == [
        ("w1", "config.amount"),
        ("f1", "config.condition"),
        ("x1", "type"),
    ]


def test_node_ids_are_unique_and_well_formed() -> None:
    duplicate = only(document([wait("a"), wait("a")], [("trigger", "a")]))
    assert (duplicate["node"], duplicate["field"]) == ("a", "id")
    bad = problems(document([wait("a b")], [("trigger", "a b")]))[0]
    assert (bad["node"], bad["field"]) == ("a b", "id")


def test_the_service_refuses_an_invalid_document_and_keeps_the_old_version(services: Services) -> None:
    good = document([wait("w1")], [("trigger", "w1")])
    with pytest.raises(DocumentInvalid):
        services.campaigns.create(document([wait("w1")], [("trigger", "w1"), ("w1", "w1")]))
    assert services.campaigns.list_all() == []
    campaign_id = int(services.campaigns.create(good)["id"])
    services.campaigns.transition(campaign_id, "activate")
    with pytest.raises(DocumentInvalid) as raised:
        services.campaigns.update(campaign_id, document([wait("w1", colour="red")], [("trigger", "w1")]))
    assert raised.value.details == [{"node": "w1", "field": "config.colour", "message": "unknown field"}]
    with pytest.raises(DocumentInvalid):
        services.campaigns.update(campaign_id, document([wait("w1")], [("trigger", "w2")]), dry_run=True)
    current = services.campaigns.get(campaign_id)
    assert current["version"] == 1
    assert current["document"]["nodes"] == [
        {"id": "w1", "type": "wait", "title": None, "config": {"amount": 1, "unit": "days"}}
    ]


def test_an_unknown_mailing_category_is_refused_when_a_catalog_is_given() -> None:
    from tidings.document.validation import parse_document
    from tidings.model.catalog import Catalog

    document = {
        "name": "Categories",
        "trigger": {"type": "api_enrollment", "config": {}},
        "nodes": [
            {"id": "e1", "type": "send_email", "config": {"subject": "s", "body_html": "b", "category": "promo"}}
        ],
        "edges": [{"source": "trigger", "target": "e1"}],
    }
    assert parse_document(document, Catalog(categories=frozenset({"promo"}))).nodes[0].config.category == "promo"
    with pytest.raises(DocumentInvalid) as raised:
        parse_document(document, Catalog(categories=frozenset({"news"})))
    assert raised.value.details[0]["node"] == "e1"
    assert raised.value.details[0]["field"] == "config.category"
    assert "unknown mailing category 'promo'" in raised.value.details[0]["message"]


def chain(length: int) -> dict[str, Any]:
    """A linear chain of ``length`` waits after the trigger."""
    ids = [f"w{index}" for index in range(length)]
    return document([wait(node_id) for node_id in ids], list(zip(["trigger", *ids], ids, strict=False)))


def test_a_chain_as_long_as_the_limit_parses() -> None:
    """Checking the graph does not recurse per node: a chain deeper than Python's recursion limit is fine."""
    assert len(parse_document(chain(MAX_NODES)).nodes) == MAX_NODES


def test_a_cycle_at_the_end_of_a_long_chain_is_found() -> None:
    raw = chain(MAX_NODES)
    raw["edges"].append({"source": f"w{MAX_NODES - 1}", "target": f"w{MAX_NODES - 3}"})
    found = only(raw)
    assert found["node"] == f"w{MAX_NODES - 1}"
    assert "closes a cycle" in found["message"]


def test_a_document_above_the_size_limits_is_refused_saying_the_limit() -> None:
    found = only(chain(MAX_NODES + 1))
    assert found["field"] == "nodes"
    assert f"at most {MAX_NODES} nodes" in found["message"]
    raw = chain(2)
    raw["edges"] += [{"source": "w0", "target": "w1"}] * MAX_EDGES
    assert f"at most {MAX_EDGES} edges" in only(raw)["message"]


def test_the_command_line_says_what_is_wrong_with_a_huge_or_deep_document(tmp_path: Path) -> None:
    """``tidings campaign validate`` printed a traceback for a long chain and for deeply nested JSON."""
    runner = CliRunner()
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(chain(MAX_NODES)))
    assert runner.invoke(cli, ["campaign", "validate", str(path)]).exit_code == 0
    path.write_text(json.dumps(chain(MAX_NODES + 1)))
    refused = runner.invoke(cli, ["campaign", "validate", str(path)])
    assert refused.exit_code == 1 and f"at most {MAX_NODES} nodes" in refused.output, refused.output
    path.write_text("[" * 100_000 + "]" * 100_000)
    deep = runner.invoke(cli, ["campaign", "validate", str(path)])
    assert deep.exit_code == 1 and "nest deeper than" in deep.output, deep.output


def test_an_id_beyond_64_bits_is_refused_at_save_naming_the_node() -> None:
    """Also for a document that does not come through the API (``tidings campaign import``): SQLite cannot bind
    such a number, so customers stuck at the filter for ever."""
    found = only(document([check({"all": [{"audience": 2**63}]})], [("trigger", "f1")]))
    assert (found["node"], found["field"]) == ("f1", "config.condition.all[0].audience")


def email(**config: Any) -> dict[str, Any]:
    return {"id": "e1", "type": "send_email", "config": {"subject": "Hi", "body_html": "<p>Hi</p>", **config}}


LONG_LOOP = "{% for i in (1..20000) %}x{% endfor %}"
SLOW = "{% for i in (1..100) %}{% for j in (1..100) %}{{ j | append: i }}{% endfor %}{% endfor %}" * 1_000


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({"body_html": "<p>" + LONG_LOOP}, "config.body_html", "line 1: "),
        ({"subject": "Hi {% for i in (1..20000) %}!{% endfor %}"}, "config.subject", "iterations"),
        ({"body_html": SLOW}, "config.body_html", "line 1: "),
        ({"reply_to": "help@example.com\r\nBcc: all@example.com"}, "config.reply_to", "carriage return"),
        ({"sender_name": "Shop\nBcc: x@example.com"}, "config.sender_name", "line break"),
        ({"sender_email": "shop@example.com\n"}, "config.sender_email", "line break"),
        ({"sender_email": "not an address"}, "config.sender_email", "not an e-mail address"),
        ({"subject": "Hi\r\nBcc: x@example.com"}, "config.subject", "one line"),
    ],
)
def test_templates_and_headers_that_would_fail_every_message_are_refused_at_save(
    config: dict[str, Any], field: str, words: str
) -> None:
    """Accepted at save, they failed each message later (a render that always times out cost 0.5 CPU-s per
    customer); a header with CR/LF cannot be sent at all."""
    found = only(document([email(**config)], [("trigger", "e1")]))
    assert (found["node"], found["field"]) == ("e1", field)
    assert words in found["message"], found["message"]


def test_a_template_that_fails_only_on_some_data_is_saved() -> None:
    """A render error that depends on the customer is the message's, not the save's."""
    source = "{{ customer.points | divided_by: 0 }}{% for o in customer.orders %}{{ o.total | money }}{% endfor %}"
    parse_document(document([email(body_html=source)], [("trigger", "e1")]))


def test_titles_and_texts_have_a_length_limit() -> None:
    node = email(body_html="x" * 200_001)
    node["title"] = "t" * 201
    found = problems(document([node], [("trigger", "e1")]))
    assert {(item["node"], item["field"]) for item in found} == {("e1", "title"), ("e1", "config.body_html")}
