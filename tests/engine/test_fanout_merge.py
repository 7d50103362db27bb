"""Fan-out (every child receives the whole output) and branch merge (D15: a message node sends at most once per
entry and customer, however many branches bring the customer there)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from tests.engine.helpers import (
    add_customers,
    advance,
    advance_to,
    campaign,
    counters,
    email_node,
    entry_rows,
    filter_node,
    mailbox_count,
    message_count,
    start,
    tokens,
    trace,
    unbalanced_counters,
    wait_node,
)
from tidings.services import Services
from tidings.store.tables import messages

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
EVERYONE: dict[str, Any] = {"all": []}


def people(services: Services, count: int = 3) -> dict[str, int]:
    return add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(count)))


def messages_per_customer(services: Services, node_id: str) -> dict[int, int]:
    query = (
        select(messages.c.customer_id, func.count())
        .where(messages.c.node_id == node_id)
        .group_by(messages.c.customer_id)
    )
    with services.db.engine.connect() as conn:
        return {customer: int(count) for customer, count in conn.execute(query)}


def test_a_node_with_two_children_sends_everyone_both_ways(services: Services) -> None:
    ids = people(services)
    document = campaign(
        wait_node("w1", 1, "hours"),
        email_node("e1"),
        email_node("e2"),
        edges=[("trigger", "w1"), ("w1", "e1"), ("w1", "e2")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, hours=2)
    assert messages_per_customer(services, "e1") == dict.fromkeys(ids.values(), 1)
    assert messages_per_customer(services, "e2") == dict.fromkeys(ids.values(), 1)
    assert mailbox_count(services) == 6
    values = counters(services, campaign_id)
    assert (values[("w1", "performed")], values[("e1", "entered")], values[("e2", "entered")]) == (3, 3, 3)
    for customer in ids.values():
        assert sorted(trace(services, customer)[2:]) == [
            ("e1", "performed", "out", None),
            ("e2", "performed", "out", None),
        ]
    assert unbalanced_counters(services, campaign_id) == {}


def test_fan_out_from_the_trigger_and_the_entry_completes_when_the_last_branch_ends(services: Services) -> None:
    ids = people(services, 1)
    document = campaign(
        email_node("now"),
        wait_node("w1", 2),
        email_node("later"),
        edges=[("trigger", "now"), ("trigger", "w1"), ("w1", "later")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert mailbox_count(services) == 1
    assert [row["status"] for row in entry_rows(services, campaign_id)] == ["active"]
    assert [node for _, node, _ in tokens(services, campaign_id)] == ["w1"]
    advance_to(services, START + timedelta(days=2))
    assert mailbox_count(services) == 2
    assert [(row["status"], row["finished_at"]) for row in entry_rows(services, campaign_id)] == [
        ("completed", START + timedelta(days=2))
    ]


def test_branches_merging_into_one_email_at_different_times_send_once(services: Services) -> None:
    ids = people(services)
    document = campaign(
        wait_node("fast", 1, "hours"),
        wait_node("slow", 3, "hours"),
        email_node("e1"),
        edges=[("trigger", "fast"), ("trigger", "slow"), ("fast", "e1"), ("slow", "e1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, hours=1)
    assert messages_per_customer(services, "e1") == dict.fromkeys(ids.values(), 1)
    advance(services, hours=5)
    assert messages_per_customer(services, "e1") == dict.fromkeys(ids.values(), 1)
    assert mailbox_count(services) == 3
    assert tokens(services, campaign_id) == []
    assert [row["status"] for row in entry_rows(services, campaign_id)] == ["completed"] * 3


def test_branches_merging_into_one_email_at_the_same_moment_send_once(services: Services) -> None:
    ids = people(services)
    document = campaign(
        filter_node("left", EVERYONE),
        filter_node("right", EVERYONE),
        email_node("e1"),
        edges=[("trigger", "left"), ("trigger", "right"), ("left", "e1", "yes"), ("right", "e1", "yes")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert messages_per_customer(services, "e1") == dict.fromkeys(ids.values(), 1)
    assert mailbox_count(services) == 3
    assert [row["status"] for row in entry_rows(services, campaign_id)] == ["completed"] * 3
    values = counters(services, campaign_id)
    assert (values[("e1", "entered")], values[("e1", "performed")], values[("e1", "dropped:already_sent")]) == (6, 3, 3)
    for customer in ids.values():
        assert sorted(row for row in trace(services, customer) if row[0] == "e1") == [
            ("e1", "dropped", None, "already_sent"),
            ("e1", "performed", "out", None),
        ]
    assert unbalanced_counters(services, campaign_id) == {}


def test_a_second_arrival_at_an_email_is_not_counted_as_a_second_send(services: Services) -> None:
    """Children of a message node receive the customers the message was sent to (§1.3): the duplicate arrival
    leaves with a reason instead of being reported as performed, so the node's counters match its messages."""
    ids = people(services, 2)
    document = campaign(
        wait_node("fast", 1, "hours"),
        wait_node("slow", 3, "hours"),
        email_node("e1"),
        wait_node("after", 1),
        edges=[("trigger", "fast"), ("trigger", "slow"), ("fast", "e1"), ("slow", "e1"), ("e1", "after")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, days=3)
    values = counters(services, campaign_id)
    assert values[("e1", "entered")] == 4
    assert values[("e1", "performed")] == message_count(services, "e1") == 2
    assert values[("e1", "dropped:already_sent")] == 2
    assert values[("after", "entered")] == 2
    for customer in ids.values():
        assert [row for row in trace(services, customer) if row[0] == "e1"] == [
            ("e1", "performed", "out", None),
            ("e1", "dropped", None, "already_sent"),
        ]
    assert unbalanced_counters(services, campaign_id) == {}


def test_a_merge_into_a_non_message_node_processes_each_arrival(services: Services) -> None:
    ids = people(services, 1)
    document = campaign(
        wait_node("fast", 1, "hours"),
        wait_node("slow", 3, "hours"),
        wait_node("join", 1, "hours"),
        edges=[("trigger", "fast"), ("trigger", "slow"), ("fast", "join"), ("slow", "join")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, days=1)
    assert [row for row in trace(services, ids["c0"]) if row[0] == "join"] == [
        ("join", "performed", "out", None),
        ("join", "performed", "out", None),
    ]
    assert counters(services, campaign_id)[("join", "performed")] == 2
