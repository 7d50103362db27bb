"""Control group (D1, E15, E16): a stable share is flagged as control, continues, and receives nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import BigInteger, literal, select

from tests.actions.helpers import control_customers, make_audience, members_of, node, node_metrics
from tests.engine.helpers import (
    add_customers,
    advance,
    campaign,
    counters,
    email_node,
    entry_rows,
    message_count,
    start,
    trace,
    unbalanced_counters,
    wait_node,
    where_is,
)
from tidings.actions.control_group import BUCKETS, bucket
from tidings.core.errors import DocumentInvalid
from tidings.document.validation import parse_document
from tidings.services import Services
from tidings.store.tables import messages


def control(node_id: str, **config: Any) -> dict[str, Any]:
    return node(node_id, "control_group", **config)


def test_e15_ten_percent_of_ten_thousand_are_held_out_receive_nothing_and_continue(services: Services) -> None:
    ids = add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(10_000)))
    document = campaign(
        control("cg", percent=10),
        email_node("e1"),
        wait_node("w1", 1),
        edges=[("trigger", "cg"), ("cg", "e1"), ("e1", "w1")],
    )
    campaign_id = start(services, document)
    assert services.campaigns.enroll(campaign_id, list(ids), None)["entered"] == 10_000
    advance(services, minutes=1)

    held_out = control_customers(services, campaign_id)
    assert 900 <= len(held_out) <= 1_100
    assert held_out == {customer for customer in ids.values() if bucket(customer, campaign_id) < 1_000}
    with services.db.engine.connect() as conn:
        mailed = set(conn.execute(select(messages.c.customer_id)).scalars())
    assert mailed == set(ids.values()) - held_out
    values = counters(services, campaign_id)
    assert node_metrics(values, "cg") == {"entered": 10_000, "performed": 10_000, "port:out": 10_000}
    assert node_metrics(values, "e1") == {
        "entered": 10_000,
        "performed": 10_000,
        "port:out": 10_000,
        "suppressed:control_group": len(held_out),
    }
    assert node_metrics(values, "w1") == {"entered": 10_000}
    someone = min(held_out)
    assert trace(services, someone) == [
        ("trigger", "performed", "out", None),
        ("cg", "performed", "out", None),
        ("e1", "performed", "out", "control_group"),
    ]
    assert where_is(services, someone) == ["w1"]
    assert unbalanced_counters(services, campaign_id) == {}


def test_the_hash_is_the_same_on_both_databases_and_in_python_even_for_huge_ids(services: Services) -> None:
    probes = [0, 1, 2, 9_999, 10_000, 123_456_789, 2**31 - 2, 2**31 - 1, 2**31, 10**12 + 7, 2**62, 2**63 - 1]
    campaigns = [1, 2, 77, 2**31 + 5, 2**40]
    with services.db.engine.connect() as conn:
        for campaign_id in campaigns:
            computed = [
                conn.execute(select(bucket(literal(probe, BigInteger), campaign_id))).scalar_one() for probe in probes
            ]
            assert computed == [bucket(probe, campaign_id) for probe in probes]
            assert all(0 <= value < BUCKETS for value in computed)


def test_a_re_entering_customer_lands_in_the_same_group(services: Services) -> None:
    ids = add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(200)))
    campaign_id = start(services, campaign(control("cg", percent=30), edges=[("trigger", "cg")]))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    first = control_customers(services, campaign_id)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    rows = entry_rows(services, campaign_id)
    assert len(rows) == 400
    assert {row["customer_id"] for row in rows if row["is_control"]} == first
    assert sum(row["is_control"] for row in rows) == 2 * len(first)


def test_an_audience_as_the_control_group(services: Services) -> None:
    ids = add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(4)))
    holdout = make_audience(services, "Holdout", [ids["c1"], ids["c2"]])
    document = campaign(
        control("cg", method="audience", audience=holdout),
        email_node("e1"),
        edges=[("trigger", "cg"), ("cg", "e1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert control_customers(services, campaign_id) == {ids["c1"], ids["c2"]}
    assert message_count(services, "e1") == 2
    assert trace(services, ids["c2"])[-1] == ("e1", "performed", "out", "control_group")
    assert trace(services, ids["c3"])[-1] == ("e1", "performed", "out", None)


def test_zero_percent_holds_out_nobody(services: Services) -> None:
    ids = add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(50)))
    campaign_id = start(services, campaign(control("cg"), email_node("e1"), edges=[("trigger", "cg"), ("cg", "e1")]))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert control_customers(services, campaign_id) == set()
    assert message_count(services, "e1") == 50


def test_an_ineligible_control_customer_drops_like_anyone_else(services: Services) -> None:
    """Suppression is "as if performed": a control customer without an address drops as a main-group customer
    would, so both groups stay comparable downstream."""
    ids = add_customers(services, {"external_id": "no_email"}, {"external_id": "ok", "email": "ok@example.com"})
    holdout = make_audience(services, "Everyone", list(ids.values()))
    document = campaign(
        control("cg", method="audience", audience=holdout), email_node("e1"), edges=[("trigger", "cg"), ("cg", "e1")]
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert trace(services, ids["no_email"])[-1] == ("e1", "dropped", None, "no_contact")
    assert trace(services, ids["ok"])[-1] == ("e1", "performed", "out", "control_group")
    assert message_count(services) == 0


def test_a_control_customer_reaching_an_email_twice_is_suppressed_once(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    holdout = make_audience(services, "Holdout", list(ids.values()))
    document = campaign(
        control("cg", method="audience", audience=holdout),
        wait_node("fast", 1, "hours"),
        wait_node("slow", 3, "hours"),
        email_node("e1"),
        wait_node("after", 1),
        edges=[("trigger", "cg"), ("cg", "fast"), ("cg", "slow"), ("fast", "e1"), ("slow", "e1"), ("e1", "after")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, days=3)
    assert [row for row in trace(services, ids["ann"]) if row[0] == "e1"] == [
        ("e1", "performed", "out", "control_group"),
        ("e1", "dropped", None, "already_sent"),
    ]
    values = counters(services, campaign_id)
    assert values[("after", "entered")] == 1
    assert message_count(services) == 0
    assert unbalanced_counters(services, campaign_id) == {}


def test_audience_actions_apply_to_control_customers_by_default(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    holdout = make_audience(services, "Holdout", list(ids.values()))
    target = make_audience(services, "Target")
    document = campaign(
        control("cg", method="audience", audience=holdout),
        node("a1", "audience_action", audience=target),
        edges=[("trigger", "cg"), ("cg", "a1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert members_of(services, target) == {ids["ann"]}
    assert trace(services, ids["ann"])[-1] == ("a1", "performed", "out", None)


def _percent_problem(percent: Any) -> dict[str, Any]:
    with pytest.raises(DocumentInvalid) as raised:
        parse_document(campaign(control("cg", percent=percent), edges=[("trigger", "cg")]))
    [problem] = raised.value.details
    return dict(problem)


@pytest.mark.parametrize("percent", [0, 0.5, 10, 12.5, 50, 50.0])
def test_e16_percentages_from_0_to_50_are_accepted(percent: float) -> None:
    document = parse_document(campaign(control("cg", percent=percent), edges=[("trigger", "cg")]))
    assert document.node("cg").config.percent == percent


def test_e16_the_default_is_0_percent() -> None:
    document = parse_document(campaign(control("cg"), edges=[("trigger", "cg")]))
    assert (document.node("cg").config.method, document.node("cg").config.percent) == ("percentage", 0)


@pytest.mark.parametrize(("percent", "words"), [(51, "less than or equal to 50"), (50.01, "50"), (-1, "0")])
def test_e16_percentages_outside_0_to_50_are_refused_naming_node_and_field(percent: float, words: str) -> None:
    problem = _percent_problem(percent)
    assert (problem["node"], problem["field"]) == ("cg", "config.percent")
    assert words in problem["message"]


def test_the_audience_method_needs_an_existing_audience(services: Services) -> None:
    with pytest.raises(DocumentInvalid) as raised:
        parse_document(campaign(control("cg", method="audience"), edges=[("trigger", "cg")]))
    [problem] = raised.value.details
    assert (problem["node"], problem["field"]) == ("cg", "config.audience")
    with pytest.raises(DocumentInvalid) as raised:
        services.campaigns.create(campaign(control("cg", method="audience", audience=404), edges=[("trigger", "cg")]))
    [problem] = raised.value.details
    assert (problem["node"], problem["field"]) == ("cg", "config.audience")
    assert "audience 404 does not exist" in problem["message"]
