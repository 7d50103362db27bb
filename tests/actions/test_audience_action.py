"""Audience actions (§2.4, D1): add / remove the incoming customers, inline audiences, loyalty requests."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.actions.helpers import audience_ids, make_audience, members_of, node, node_metrics
from tests.engine.helpers import (
    add_customers,
    advance,
    campaign,
    counters,
    start,
    trace,
    unbalanced_counters,
    wait_node,
    where_is,
)
from tidings.core.errors import DocumentInvalid
from tidings.document.validation import parse_document
from tidings.services import Services
from tidings.store.tables import audiences, loyalty_requests


def audience_node(node_id: str, **config: Any) -> dict[str, Any]:
    return node(node_id, "audience_action", **config)


def people(services: Services, count: int = 3) -> dict[str, int]:
    return add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(count)))


def run(services: Services, *nodes: dict[str, Any], edges: list[Any], who: list[str]) -> int:
    campaign_id = start(services, campaign(*nodes, edges=edges))
    services.campaigns.enroll(campaign_id, who, None)
    advance(services, minutes=1)
    return campaign_id


def test_add_puts_every_incoming_customer_in_the_audience_and_all_continue(services: Services) -> None:
    ids = people(services)
    vip = make_audience(services, "VIP", [ids["c0"]])  # already a member: still performed, not duplicated
    campaign_id = run(
        services,
        audience_node("a1", audience=vip),
        wait_node("w1", 1),
        edges=[("trigger", "a1"), ("a1", "w1")],
        who=list(ids),
    )
    assert members_of(services, vip) == set(ids.values())
    assert node_metrics(counters(services, campaign_id), "a1") == {"entered": 3, "performed": 3, "port:out": 3}
    assert all(where_is(services, customer) == ["w1"] for customer in ids.values())
    assert trace(services, ids["c0"])[-1] == ("a1", "performed", "out", None)
    assert unbalanced_counters(services, campaign_id) == {}


def test_adding_twice_keeps_one_membership(services: Services) -> None:
    ids = people(services, 2)
    vip = make_audience(services, "VIP")
    campaign_id = start(services, campaign(audience_node("a1", audience=vip), edges=[("trigger", "a1")]))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert members_of(services, vip) == set(ids.values())
    assert counters(services, campaign_id)[("a1", "performed")] == 4


def test_remove_takes_the_incoming_customers_out_and_keeps_the_others(services: Services) -> None:
    ids = people(services, 4)
    vip = make_audience(services, "VIP", [ids["c0"], ids["c1"], ids["c3"]])
    campaign_id = run(
        services,
        audience_node("a1", operation="remove", audience=vip),
        edges=[("trigger", "a1")],
        who=["c0", "c2"],  # c2 was never a member: removing it is still performed
    )
    assert members_of(services, vip) == {ids["c1"], ids["c3"]}
    assert node_metrics(counters(services, campaign_id), "a1") == {"entered": 2, "performed": 2, "port:out": 2}


def test_an_audience_named_inline_is_created_when_the_node_first_runs_and_reused(services: Services) -> None:
    ids = people(services, 2)
    document = campaign(audience_node("a1", create_audience="Clicked spring sale"), edges=[("trigger", "a1")])
    campaign_id = start(services, document)
    assert "Clicked spring sale" not in audience_ids(services)
    services.campaigns.enroll(campaign_id, ["c0"], None)
    advance(services, minutes=1)
    created = audience_ids(services)["Clicked spring sale"]
    assert members_of(services, created) == {ids["c0"]}
    services.campaigns.enroll(campaign_id, ["c1"], None)
    advance(services, minutes=1)
    assert audience_ids(services) == {"Clicked spring sale": created}
    assert members_of(services, created) == set(ids.values())


def test_an_inline_name_that_already_exists_uses_that_audience(services: Services) -> None:
    ids = people(services, 1)
    existing = make_audience(services, "Newsletter")
    run(services, audience_node("a1", create_audience="Newsletter"), edges=[("trigger", "a1")], who=["c0"])
    assert audience_ids(services) == {"Newsletter": existing}
    assert members_of(services, existing) == {ids["c0"]}


def test_ignoring_the_control_group_leaves_control_customers_out_but_lets_them_continue(services: Services) -> None:
    ids = people(services, 3)
    holdout = make_audience(services, "Holdout", [ids["c1"]])
    target = make_audience(services, "Target")
    campaign_id = run(
        services,
        node("cg", "control_group", method="audience", audience=holdout),
        audience_node("a1", audience=target, ignore_control_group=True, send_to_loyalty=True),
        wait_node("w1", 1),
        edges=[("trigger", "cg"), ("cg", "a1"), ("a1", "w1")],
        who=list(ids),
    )
    assert members_of(services, target) == {ids["c0"], ids["c2"]}
    assert trace(services, ids["c1"])[-1] == ("a1", "performed", "out", "control_group")
    assert where_is(services, ids["c1"]) == ["w1"]
    assert node_metrics(counters(services, campaign_id), "a1") == {
        "entered": 3,
        "performed": 3,
        "port:out": 3,
        "suppressed:control_group": 1,
    }
    with services.db.engine.connect() as conn:
        requested = set(conn.execute(select(loyalty_requests.c.customer_id)).scalars())
    assert requested == {ids["c0"], ids["c2"]}


def test_send_to_loyalty_records_one_request_per_customer(services: Services) -> None:
    ids = people(services, 2)
    vip = make_audience(services, "VIP")
    campaign_id = run(
        services,
        audience_node("a1", audience=vip, send_to_loyalty=True),
        edges=[("trigger", "a1")],
        who=list(ids),
    )
    with services.db.engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(select(loyalty_requests).order_by(loyalty_requests.c.id)).mappings()]
    assert [(row["customer_id"], row["kind"], row["status"], row["node_id"]) for row in rows] == [
        (ids["c0"], "audience", "done", "a1"),  # the built-in loyalty adapter acknowledged them in the same tick
        (ids["c1"], "audience", "done", "a1"),
    ]
    assert all(row["campaign_id"] == campaign_id for row in rows)
    assert rows[0]["payload"] == {"operation": "add", "audience_id": vip, "audience": "VIP"}


def test_without_send_to_loyalty_nothing_is_requested(services: Services) -> None:
    people(services, 1)
    vip = make_audience(services, "VIP")
    run(services, audience_node("a1", audience=vip), edges=[("trigger", "a1")], who=["c0"])
    with services.db.engine.connect() as conn:
        assert conn.execute(select(loyalty_requests)).all() == []


def test_an_audience_deleted_after_the_campaign_was_saved_drops_with_a_reason(services: Services) -> None:
    ids = people(services, 1)
    gone = make_audience(services, "Gone")
    campaign_id = start(services, campaign(audience_node("a1", audience=gone), edges=[("trigger", "a1")]))
    with services.db.engine.begin() as conn:
        conn.execute(audiences.delete().where(audiences.c.id == gone))
    services.campaigns.enroll(campaign_id, ["c0"], None)
    advance(services, minutes=1)
    assert trace(services, ids["c0"])[-1] == ("a1", "dropped", None, "audience_missing")


@pytest.mark.parametrize(
    "config",
    [{}, {"audience": 1, "create_audience": "Both"}, {"operation": "remove"}],
)
def test_exactly_one_of_audience_and_create_audience(config: dict[str, Any]) -> None:
    with pytest.raises(DocumentInvalid) as raised:
        parse_document(campaign(audience_node("a1", **config), edges=[("trigger", "a1")]))
    [problem] = raised.value.details
    assert (problem["node"], problem["field"]) == ("a1", "config.create_audience")
    assert "exactly one of `audience`" in problem["message"]


def test_an_unknown_audience_is_refused_when_the_campaign_is_saved(services: Services) -> None:
    with pytest.raises(DocumentInvalid) as raised:
        services.campaigns.create(campaign(audience_node("a1", audience=404), edges=[("trigger", "a1")]))
    [problem] = raised.value.details
    assert (problem["node"], problem["field"]) == ("a1", "config.audience")
    assert "audience 404 does not exist" in problem["message"]
