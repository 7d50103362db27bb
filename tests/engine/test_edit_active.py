"""Saving an active campaign (D13): a new version; customers inside move on by node id.

A node that stays keeps its customers (with their due times); a removed node releases its customers along its first
surviving child, or drops them when none survives. A dry run reports the same counts and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tests.engine.helpers import (
    add_customers,
    advance_to,
    campaign,
    counters,
    email_node,
    entry_rows,
    filter_node,
    mailbox_count,
    start,
    trace,
    trace_rows,
    unbalanced_counters,
    wait_node,
)
from tidings.services import Services
from tidings.store.tables import journey_state

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def city_is(city: str) -> dict[str, Any]:
    return {"field": "city", "op": "equals", "value": city}


def version_one() -> dict[str, Any]:
    return campaign(
        filter_node("f1", city_is("Riga")),
        wait_node("w_stay", 2),
        email_node("e_stay"),
        filter_node("f2", city_is("Oslo")),
        wait_node("w_move", 2),
        wait_node("w_next", 1, "hours"),
        email_node("e_move"),
        wait_node("w_drop", 2),
        email_node("e_drop"),
        edges=[
            ("trigger", "f1"),
            ("f1", "w_stay", "yes"),
            ("w_stay", "e_stay"),
            ("f1", "f2", "no"),
            ("f2", "w_move", "yes"),
            ("w_move", "w_next"),
            ("w_next", "e_move"),
            ("f2", "w_drop", "no"),
            ("w_drop", "e_drop"),
        ],
    )


def version_two() -> dict[str, Any]:
    """w_stay now waits 3 days (applies to later arrivals only); w_move, w_drop and e_drop are gone."""
    return campaign(
        filter_node("f1", city_is("Riga")),
        wait_node("w_stay", 3),
        email_node("e_stay"),
        filter_node("f2", city_is("Oslo")),
        wait_node("w_next", 1, "hours"),
        email_node("e_move"),
        edges=[
            ("trigger", "f1"),
            ("f1", "w_stay", "yes"),
            ("w_stay", "e_stay"),
            ("f1", "f2", "no"),
            ("f2", "w_next", "yes"),
            ("w_next", "e_move"),
        ],
    )


def state(services: Services, campaign_id: int) -> list[tuple[int, str, int, datetime, datetime]]:
    query = (
        select(
            journey_state.c.customer_id,
            journey_state.c.node_id,
            journey_state.c.version,
            journey_state.c.arrived_at,
            journey_state.c.due_at,
        )
        .where(journey_state.c.campaign_id == campaign_id)
        .order_by(journey_state.c.customer_id)
    )
    with services.db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def prepare(services: Services) -> tuple[int, dict[str, int]]:
    ids = add_customers(
        services,
        {"external_id": "riga", "email": "riga@example.com", "city": "Riga"},
        {"external_id": "oslo", "email": "oslo@example.com", "city": "Oslo"},
        {"external_id": "paris", "email": "paris@example.com", "city": "Paris"},
    )
    campaign_id = start(services, version_one())
    services.campaigns.enroll(campaign_id, ["riga", "oslo", "paris"], None)
    advance_to(services, START + timedelta(hours=6))
    due = START + timedelta(days=2)
    assert state(services, campaign_id) == [
        (ids["riga"], "w_stay", 1, START, due),
        (ids["oslo"], "w_move", 1, START, due),
        (ids["paris"], "w_drop", 1, START, due),
    ]
    return campaign_id, ids


def test_dry_run_reports_the_impact_and_changes_nothing(services: Services) -> None:
    campaign_id, ids = prepare(services)
    before_state = state(services, campaign_id)
    before_counters = counters(services, campaign_id)
    before_trace = [len(trace_rows(services, customer)) for customer in ids.values()]
    before_entries = entry_rows(services, campaign_id)
    before_document = services.campaigns.get(campaign_id)["document"]

    result = services.campaigns.update(campaign_id, version_two(), dry_run=True)

    assert result == {"version": 1, "dry_run": True, "affected": {"stay": 1, "rerouted": 1, "dropped": 1}}
    assert state(services, campaign_id) == before_state
    assert entry_rows(services, campaign_id) == before_entries
    assert counters(services, campaign_id) == before_counters
    assert [len(trace_rows(services, customer)) for customer in ids.values()] == before_trace
    after = services.campaigns.get(campaign_id)
    assert after["version"] == 1
    assert after["status"] == "active"
    assert after["document"] == before_document
    # and the campaign carries on under version 1: the removed branch still sends
    advance_to(services, START + timedelta(days=2, hours=2))
    assert mailbox_count(services, "paris@example.com") == 1
    assert mailbox_count(services, "oslo@example.com") == 1
    assert mailbox_count(services, "riga@example.com") == 1


def test_save_moves_customers_by_node_id(services: Services) -> None:
    campaign_id, ids = prepare(services)
    saved_at = services.clock.now()
    dry = services.campaigns.update(campaign_id, version_two(), dry_run=True)

    result = services.campaigns.update(campaign_id, version_two())

    assert result == {"version": 2, "dry_run": False, "affected": dry["affected"]}
    assert result["affected"] == {"stay": 1, "rerouted": 1, "dropped": 1}
    assert services.campaigns.get(campaign_id)["version"] == 2
    assert state(services, campaign_id) == [
        # stays where it is, keeps its due time (the new 3-day setting is for later arrivals)
        (ids["riga"], "w_stay", 2, START, START + timedelta(days=2)),
        # released along w_move's first child, arriving there now
        (ids["oslo"], "w_next", 2, saved_at, saved_at + timedelta(hours=1)),
    ]
    assert trace(services, ids["paris"])[-1] == ("w_drop", "dropped", None, "node_removed")
    # the trace explains the jump: oslo was taken out of the deleted w_move at the save
    assert [
        (row["node_id"], row["outcome"], row["reason"], row["arrived_at"], row["at"])
        for row in trace_rows(services, ids["oslo"])
    ][-1] == ("w_move", "removed", "node_removed", START, saved_at)
    values = counters(services, campaign_id)
    assert values[("w_drop", "dropped:node_removed")] == 1
    assert values[("w_move", "removed:node_removed")] == 1
    assert values[("w_next", "entered")] == 1
    assert unbalanced_counters(services, campaign_id) == {}
    statuses = {row["customer_id"]: row["status"] for row in entry_rows(services, campaign_id)}
    assert statuses == {ids["riga"]: "active", ids["oslo"]: "active", ids["paris"]: "completed"}

    advance_to(services, saved_at + timedelta(hours=1))
    assert mailbox_count(services, "oslo@example.com") == 1
    assert trace_rows(services, ids["oslo"])[-1]["at"] == saved_at + timedelta(hours=1)
    advance_to(services, START + timedelta(days=2) - timedelta(minutes=1))
    assert mailbox_count(services, "riga@example.com") == 0
    advance_to(services, START + timedelta(days=2))
    assert mailbox_count(services, "riga@example.com") == 1
    advance_to(services, START + timedelta(days=10))
    assert mailbox_count(services, "paris@example.com") == 0
    assert state(services, campaign_id) == []
    assert trace(services, ids["oslo"])[-3:] == [
        ("w_move", "removed", None, "node_removed"),
        ("w_next", "performed", "out", None),
        ("e_move", "performed", "out", None),
    ]
    assert unbalanced_counters(services, campaign_id) == {}


def test_customers_arriving_after_the_save_follow_the_new_version(services: Services) -> None:
    campaign_id, _ = prepare(services)
    services.campaigns.update(campaign_id, version_two())
    ids = add_customers(services, {"external_id": "late", "email": "late@example.com", "city": "Riga"})
    services.campaigns.enroll(campaign_id, ["late"], None)
    saved_at = services.clock.now()
    advance_to(services, saved_at + timedelta(minutes=1))
    late = [row for row in state(services, campaign_id) if row[0] == ids["late"]]
    assert late == [(ids["late"], "w_stay", 2, saved_at, saved_at + timedelta(days=3))]
    assert {row["version"] for row in entry_rows(services, campaign_id) if row["customer_id"] == ids["late"]} == {2}


def test_a_removed_node_with_a_removed_first_child_releases_to_the_next_surviving_descendant(
    services: Services,
) -> None:
    ids = add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    v1 = campaign(
        wait_node("w1", 2), wait_node("w2", 1), email_node("e1"), edges=[("trigger", "w1"), ("w1", "w2"), ("w2", "e1")]
    )
    v2 = campaign(email_node("e1"), edges=[("trigger", "e1")])
    campaign_id = start(services, v1)
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance_to(services, START + timedelta(hours=1))
    assert services.campaigns.update(campaign_id, v2)["affected"] == {"stay": 0, "rerouted": 1, "dropped": 0}
    advance_to(services, START + timedelta(hours=1, minutes=1))
    assert mailbox_count(services, "ann@example.com") == 1
    assert trace(services, ids["ann"])[-1] == ("e1", "performed", "out", None)
