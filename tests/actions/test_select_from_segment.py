"""Select customers from segment (D11): members at execution time continue; fused with whole-base triggers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete

from tests.actions.helpers import drop_segment, entry_count, make_segment, node, node_metrics
from tests.engine.helpers import (
    add_customers,
    advance,
    advance_to,
    campaign,
    counters,
    email_node,
    start,
    trace,
    unbalanced_counters,
    wait_node,
    where_is,
)
from tidings.core.errors import DocumentInvalid
from tidings.services import Services
from tidings.store.tables import segment_members

TOMORROW = {"id": "trigger", "type": "date_has_come", "config": {"date": "2026-01-06"}}
FIRES_AT = datetime(2026, 1, 6, 0, 0, tzinfo=UTC)  # account time zone UTC


def select_node(node_id: str, segment: int) -> dict[str, Any]:
    return node(node_id, "select_from_segment", segment=segment)


def five(services: Services) -> dict[str, int]:
    return add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(5)))


def test_incoming_customers_who_are_members_continue_the_others_drop(services: Services) -> None:
    ids = five(services)
    vip = make_segment(services, "VIP", [ids["c0"], ids["c1"]])
    campaign_id = start(
        services, campaign(select_node("s1", vip), wait_node("w1", 1), edges=[("trigger", "s1"), ("s1", "w1")])
    )
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert node_metrics(counters(services, campaign_id), "s1") == {
        "entered": 5,
        "performed": 2,
        "port:out": 2,
        "dropped:not_in_segment": 3,
    }
    assert where_is(services, ids["c0"]) == ["w1"]
    assert trace(services, ids["c4"])[-1] == ("s1", "dropped", None, "not_in_segment")
    assert unbalanced_counters(services, campaign_id) == {}


def test_membership_is_read_when_customers_arrive_not_when_they_enter(services: Services) -> None:
    ids = five(services)
    vip = make_segment(services, "VIP", [ids["c0"]])
    campaign_id = start(
        services, campaign(wait_node("w1", 1), select_node("s1", vip), edges=[("trigger", "w1"), ("w1", "s1")])
    )
    services.campaigns.enroll(campaign_id, ["c0", "c1"], None)
    with services.db.engine.begin() as conn:  # the segment is recomputed during the wait
        conn.execute(delete(segment_members).where(segment_members.c.customer_id == ids["c0"]))
        conn.execute(segment_members.insert().values(segment_id=vip, customer_id=ids["c1"], since=FIRES_AT))
    advance(services, days=1)
    assert trace(services, ids["c0"])[-1] == ("s1", "dropped", None, "not_in_segment")
    assert trace(services, ids["c1"])[-1] == ("s1", "performed", "out", None)


def test_a_segment_deleted_after_the_campaign_was_saved_drops_with_a_reason(services: Services) -> None:
    ids = five(services)
    gone = make_segment(services, "Gone", [ids["c0"]])
    campaign_id = start(services, campaign(select_node("s1", gone), edges=[("trigger", "s1")]))
    drop_segment(services, gone)
    services.campaigns.enroll(campaign_id, ["c0"], None)
    advance(services, minutes=1)
    assert trace(services, ids["c0"])[-1] == ("s1", "dropped", None, "segment_missing")


def test_an_unknown_segment_is_refused_when_the_campaign_is_saved(services: Services) -> None:
    with pytest.raises(DocumentInvalid) as raised:
        services.campaigns.create(campaign(select_node("s1", 404), edges=[("trigger", "s1")]))
    [problem] = raised.value.details
    assert (problem["node"], problem["field"]) == ("s1", "config.segment")
    assert "segment 404 does not exist" in problem["message"]


def test_a_date_trigger_fused_with_the_segment_enters_only_its_members(services: Services) -> None:
    """D11: date_has_come → select_from_segment enters the members with one INSERT … SELECT from the membership;
    the segment node is traced and counted as performed for them, and they wait at its child."""
    ids = five(services)
    vip = make_segment(services, "VIP", [ids["c1"], ids["c3"]])
    document = campaign(
        select_node("s1", vip),
        wait_node("w1", 1),
        email_node("e1"),
        edges=[("trigger", "s1"), ("s1", "w1"), ("w1", "e1")],
        trigger=TOMORROW,
    )
    campaign_id = start(services, document)
    advance_to(services, FIRES_AT)
    assert entry_count(services, campaign_id) == 2
    assert where_is(services, ids["c1"]) == where_is(services, ids["c3"]) == ["w1"]
    assert where_is(services, ids["c0"]) == []
    assert trace(services, ids["c1"]) == [
        ("trigger", "performed", "out", None),
        ("s1", "performed", "out", None),
    ]
    assert trace(services, ids["c0"]) == []
    values = counters(services, campaign_id)
    assert node_metrics(values, "trigger") == {"performed": 2}
    assert node_metrics(values, "s1") == {"entered": 2, "performed": 2, "port:out": 2}
    assert node_metrics(values, "w1") == {"entered": 2}
    advance_to(services, FIRES_AT + timedelta(days=1))
    assert trace(services, ids["c3"])[-1] == ("e1", "performed", "out", None)
    assert unbalanced_counters(services, campaign_id) == {}


def test_a_fused_segment_node_without_children_completes_the_entries(services: Services) -> None:
    ids = five(services)
    vip = make_segment(services, "VIP", [ids["c2"]])
    campaign_id = start(services, campaign(select_node("s1", vip), edges=[("trigger", "s1")], trigger=TOMORROW))
    advance_to(services, FIRES_AT)
    assert entry_count(services, campaign_id) == 1
    assert trace(services, ids["c2"]) == [("trigger", "performed", "out", None), ("s1", "performed", "out", None)]
    assert where_is(services, ids["c2"]) == []


def test_without_fusion_the_whole_base_enters_and_the_node_selects(services: Services) -> None:
    """A segment node that is not the trigger's only child cannot be fused: everyone enters, the node filters,
    and the members end in the same place."""
    ids = five(services)
    vip = make_segment(services, "VIP", [ids["c1"], ids["c3"]])
    document = campaign(
        select_node("s1", vip),
        wait_node("w1", 1),
        wait_node("w2", 5),
        edges=[("trigger", "s1"), ("trigger", "w2"), ("s1", "w1")],
        trigger=TOMORROW,
    )
    campaign_id = start(services, document)
    advance_to(services, FIRES_AT)
    assert entry_count(services, campaign_id) == 5
    assert node_metrics(counters(services, campaign_id), "s1") == {
        "entered": 5,
        "performed": 2,
        "port:out": 2,
        "dropped:not_in_segment": 3,
    }
    assert where_is(services, ids["c1"]) == ["w1", "w2"]


def test_a_repeated_date_trigger_fused_with_a_segment_respects_the_reentry_interval(services: Services) -> None:
    ids = five(services)
    vip = make_segment(services, "VIP", [ids["c0"], ids["c4"]])
    daily = {"id": "trigger", "type": "repeated_date", "config": {"frequency": "daily"}}
    document = campaign(select_node("s1", vip), edges=[("trigger", "s1")], trigger=daily, reentry_interval="P2D")
    campaign_id = start(services, document)
    advance_to(services, FIRES_AT)  # fires at 00:00 on the 6th: both enter
    advance_to(services, FIRES_AT + timedelta(days=1))  # inside the interval: nobody
    assert entry_count(services, campaign_id) == 2
    advance_to(services, FIRES_AT + timedelta(days=2))  # the interval has passed: both again
    assert entry_count(services, campaign_id) == 4
