"""Refresh filter (§2.2, E13): an upstream filter's current condition is evaluated again on arrival."""

from __future__ import annotations

from typing import Any

import pytest

from tests.actions.helpers import node, node_metrics
from tests.engine.helpers import (
    add_customers,
    advance,
    campaign,
    counters,
    email_node,
    filter_node,
    mailbox_count,
    set_points,
    start,
    trace,
    unbalanced_counters,
    wait_node,
)
from tidings.core.errors import DocumentInvalid
from tidings.document.validation import parse_document
from tidings.services import Services
from tidings.store.tables import orders

ONE_ORDER_LIKE: dict[str, Any] = {"field": "points_balance", "op": "eq", "value": 1}
EXACTLY_ONE_ORDER: dict[str, Any] = {"orders": {"metric": "count"}, "op": "eq", "value": 1}


def refresh(node_id: str, filter_id: str) -> dict[str, Any]:
    return node(node_id, "refresh_filter", filter=filter_id)


def e13_document(condition: dict[str, Any]) -> dict[str, Any]:
    """Filter → e-mail → wait 30 days → refresh the filter → e-mail (yes) / another e-mail (no)."""
    return campaign(
        filter_node("f1", condition),
        email_node("e1", "First"),
        wait_node("w1", 30),
        refresh("r1", "f1"),
        email_node("still", "Still one"),
        email_node("changed", "Thanks for coming back"),
        edges=[
            ("trigger", "f1"),
            ("f1", "e1", "yes"),
            ("e1", "w1"),
            ("w1", "r1"),
            ("r1", "still", "yes"),
            ("r1", "changed", "no"),
        ],
    )


def test_a_customer_whose_points_changed_during_the_wait_goes_to_no(services: Services) -> None:
    """E13's routing with a points balance in place of the order count: any condition kind is re-evaluated."""
    ids = add_customers(
        services,
        {"external_id": "steady", "email": "steady@example.com"},
        {"external_id": "changed", "email": "changed@example.com"},
    )
    for customer in ids.values():
        set_points(services, customer, 1)
    campaign_id = start(services, e13_document(ONE_ORDER_LIKE))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert mailbox_count(services) == 2
    advance(services, days=10)
    set_points(services, ids["changed"], 2)  # "a second order during the 30 days"
    advance(services, days=21)

    assert trace(services, ids["steady"])[-2:] == [
        ("r1", "performed", "yes", None),
        ("still", "performed", "out", None),
    ]
    assert trace(services, ids["changed"])[-2:] == [
        ("r1", "performed", "no", None),
        ("changed", "performed", "out", None),
    ]
    values = counters(services, campaign_id)
    assert node_metrics(values, "r1") == {"entered": 2, "performed": 2, "port:yes": 1, "port:no": 1}
    assert mailbox_count(services, "steady@example.com") == 2
    assert mailbox_count(services, "changed@example.com") == 2
    assert unbalanced_counters(services, campaign_id) == {}


def place_order(services: Services, customer_id: int, external_id: str) -> None:
    now = services.clock.now()
    with services.db.engine.begin() as conn:
        conn.execute(
            orders.insert().values(
                external_id=external_id, kind="order", customer_id=customer_id, status="paid", total=50, placed_at=now
            )
        )


def test_e13_a_customer_who_made_a_second_order_during_the_30_days_goes_to_no(services: Services) -> None:
    """E13 as documented: Filter (exactly 1 order) → e-mail → wait 30 days → refresh → e-mail."""
    ids = add_customers(
        services,
        {"external_id": "one", "email": "one@example.com"},
        {"external_id": "two", "email": "two@example.com"},
        {"external_id": "none", "email": "none@example.com"},
    )
    place_order(services, ids["one"], "o-1")
    place_order(services, ids["two"], "o-2")
    campaign_id = start(services, e13_document(EXACTLY_ONE_ORDER))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert trace(services, ids["none"])[-1] == ("f1", "performed", "no", None)
    advance(services, days=12)
    place_order(services, ids["two"], "o-3")  # the second order, during the wait
    advance(services, days=19)

    assert trace(services, ids["one"])[-2:] == [("r1", "performed", "yes", None), ("still", "performed", "out", None)]
    assert trace(services, ids["two"])[-2:] == [("r1", "performed", "no", None), ("changed", "performed", "out", None)]
    assert node_metrics(counters(services, campaign_id), "r1") == {
        "entered": 2,
        "performed": 2,
        "port:yes": 1,
        "port:no": 1,
    }
    assert (mailbox_count(services, "one@example.com"), mailbox_count(services, "two@example.com")) == (2, 2)
    assert mailbox_count(services, "none@example.com") == 0
    assert unbalanced_counters(services, campaign_id) == {}


def test_the_refresh_reads_the_filter_as_it_is_now_a_reference_not_a_copy(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "email": "ann@example.com", "city": "Riga"})
    riga = {"field": "city", "op": "equals", "value": "Riga"}
    campaign_id = start(services, e13_document(riga))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, days=1)
    assert trace(services, ids["ann"])[1] == ("f1", "performed", "yes", None)

    services.campaigns.update(campaign_id, e13_document({"field": "city", "op": "equals", "value": "Tallinn"}))
    advance(services, days=30)
    assert trace(services, ids["ann"])[-2:] == [
        ("r1", "performed", "no", None),
        ("changed", "performed", "out", None),
    ]


def problems_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(DocumentInvalid) as raised:
        parse_document(document)
    details: list[dict[str, Any]] = raised.value.details
    return details


def test_a_reference_to_a_filter_on_another_branch_is_refused_naming_node_and_field() -> None:
    document = campaign(
        filter_node("f1", ONE_ORDER_LIKE),
        email_node("e1"),
        wait_node("w1", 1),
        refresh("r1", "f1"),
        edges=[("trigger", "f1"), ("f1", "e1", "yes"), ("trigger", "w1"), ("w1", "r1")],
    )
    [problem] = problems_of(document)
    assert (problem["node"], problem["field"]) == ("r1", "config.filter")
    assert "'f1' is not upstream" in problem["message"]
    with pytest.raises(DocumentInvalid, match=r"node 'r1', field 'config.filter'"):
        parse_document(document)


def test_a_reference_to_a_filter_downstream_is_refused() -> None:
    document = campaign(
        refresh("r1", "f1"),
        filter_node("f1", ONE_ORDER_LIKE),
        edges=[("trigger", "r1"), ("r1", "f1", "yes")],
    )
    [problem] = problems_of(document)
    assert (problem["node"], problem["field"]) == ("r1", "config.filter")
    assert "not upstream" in problem["message"]


def test_a_reference_to_an_unknown_node_or_a_node_that_is_no_filter_is_refused() -> None:
    unknown = campaign(refresh("r1", "f9"), edges=[("trigger", "r1")])
    [problem] = problems_of(unknown)
    assert (problem["node"], problem["field"]) == ("r1", "config.filter")
    assert "unknown node 'f9'" in problem["message"]

    not_a_filter = campaign(wait_node("w1", 1), refresh("r1", "w1"), edges=[("trigger", "w1"), ("w1", "r1")])
    [problem] = problems_of(not_a_filter)
    assert (problem["node"], problem["field"]) == ("r1", "config.filter")
    assert "'w1' is a wait, not a filter_customers" in problem["message"]


def test_other_actions_may_sit_between_the_filter_and_its_refresh_on_any_path() -> None:
    document = campaign(
        filter_node("f1", ONE_ORDER_LIKE),
        wait_node("w1", 1),
        wait_node("w2", 2),
        refresh("r1", "f1"),
        edges=[("trigger", "f1"), ("f1", "w1", "yes"), ("f1", "w2", "no"), ("w1", "r1"), ("w2", "r1")],
    )
    parsed = parse_document(document)
    assert parsed.node("r1").type == "refresh_filter"
