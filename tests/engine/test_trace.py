"""The per-customer trace (principle 6): every node passed, the port or reason, arrival and leave times, in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.engine.helpers import (
    add_customers,
    advance_to,
    campaign,
    email_node,
    filter_node,
    start,
    trace_rows,
    wait_node,
    where_is,
)
from tidings.services import Services

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def steps(services: Services, customer_id: int, campaign_id: int | None = None) -> list[tuple[Any, ...]]:
    return [
        (row["node_id"], row["outcome"], row["port"], row["reason"], row["arrived_at"], row["at"])
        for row in trace_rows(services, customer_id, campaign_id)
    ]


def document() -> dict[str, Any]:
    return campaign(
        filter_node("f1", {"field": "city", "op": "equals", "value": "Riga"}),
        wait_node("w1", 2, "hours"),
        email_node("e1"),
        wait_node("w2", 1, "days"),
        email_node("e2"),
        edges=[("trigger", "f1"), ("f1", "w1", "yes"), ("w1", "e1"), ("e1", "w2"), ("w2", "e2"), ("f1", "e2", "no")],
    )


def test_trace_lists_nodes_ports_reasons_and_times_in_order(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "ann", "email": "ann@example.com", "city": "Riga"},
        {"external_id": "bob", "city": "Oslo"},
    )
    campaign_id = start(services, document())
    services.campaigns.enroll(campaign_id, ["ann", "bob"], None)
    two_hours, next_day = START + timedelta(hours=2), START + timedelta(days=1, hours=2)

    advance_to(services, START + timedelta(hours=3))
    assert steps(services, ids["ann"]) == [
        ("trigger", "performed", "out", None, START, START),
        ("f1", "performed", "yes", None, START, START),
        ("w1", "performed", "out", None, START, two_hours),
        ("e1", "performed", "out", None, two_hours, two_hours),
    ]
    assert where_is(services, ids["ann"]) == ["w2"]  # the trace holds decisions; the token says where they wait
    assert steps(services, ids["bob"]) == [
        ("trigger", "performed", "out", None, START, START),
        ("f1", "performed", "no", None, START, START),
        ("e2", "dropped", None, "no_contact", START, START),
    ]
    assert where_is(services, ids["bob"]) == []

    advance_to(services, START + timedelta(days=2))
    assert steps(services, ids["ann"])[4:] == [
        ("w2", "performed", "out", None, two_hours, next_day),
        ("e2", "performed", "out", None, next_day, next_day),
    ]
    rows = trace_rows(services, ids["ann"])
    assert len({row["entry_id"] for row in rows}) == 1
    assert {row["campaign_id"] for row in rows} == {campaign_id}
    assert all(row["version"] == 1 for row in rows)


def test_trace_keeps_entries_and_campaigns_apart(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "email": "ann@example.com", "city": "Riga"})
    first = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    second = start(services, document())
    services.campaigns.enroll(first, ["ann"], None)
    services.campaigns.enroll(second, ["ann"], None)
    advance_to(services, START + timedelta(minutes=1))
    services.campaigns.enroll(first, ["ann"], None)  # re-entry: the first entry has completed
    advance_to(services, START + timedelta(minutes=2))

    in_first = trace_rows(services, ids["ann"], first)
    assert [(row["node_id"], row["at"]) for row in in_first] == [
        ("trigger", START),
        ("e1", START),
        ("trigger", START + timedelta(minutes=1)),
        ("e1", START + timedelta(minutes=1)),
    ]
    entry_ids = [row["entry_id"] for row in in_first]
    assert entry_ids[0] == entry_ids[1] != entry_ids[2] == entry_ids[3]
    assert [row["node_id"] for row in trace_rows(services, ids["ann"], second)] == ["trigger", "f1"]
    assert len(trace_rows(services, ids["ann"])) == 6
    times = [row["at"] for row in trace_rows(services, ids["ann"])]
    assert times == sorted(times)
