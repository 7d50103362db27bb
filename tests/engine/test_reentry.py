"""Re-entry (spec §1.2, E7): the interval counts from the previous entry; never two running entries at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.engine.helpers import (
    add_customers,
    advance,
    advance_to,
    campaign,
    email_node,
    entry_rows,
    mailbox_count,
    start,
    wait_node,
)
from tidings.services import Services

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_reentry_interval_365_days_is_inclusive_at_the_boundary(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")], reentry_interval="P365D"))

    assert services.campaigns.enroll(campaign_id, ["ann"], None) == {
        "entered": 1,
        "not_entered": 0,
        "unknown_customers": [],
    }
    advance(services, minutes=1)
    assert [row["status"] for row in entry_rows(services, campaign_id)] == ["completed"]

    advance_to(services, START + timedelta(days=147))  # e.g. 2023-01-10 → 2023-06-01 in the spec's example
    assert services.campaigns.enroll(campaign_id, ["ann"], None) == {
        "entered": 0,
        "not_entered": 1,
        "unknown_customers": [],
    }
    advance_to(services, START + timedelta(days=365) - timedelta(minutes=1))
    assert services.campaigns.enroll(campaign_id, ["ann"], None)["entered"] == 0

    advance_to(services, START + timedelta(days=365))
    assert services.campaigns.enroll(campaign_id, ["ann"], None)["entered"] == 1
    advance(services, minutes=1)
    assert [row["entered_at"] for row in entry_rows(services, campaign_id)] == [START, START + timedelta(days=365)]
    assert mailbox_count(services, "ann@example.com") == 2


def test_interval_counts_from_the_previous_entry_not_its_completion(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    campaign_id = start(
        services,
        campaign(
            wait_node("w1", 10), email_node("e1"), edges=[("trigger", "w1"), ("w1", "e1")], reentry_interval="P30D"
        ),
    )
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance_to(services, START + timedelta(days=30) - timedelta(minutes=1))
    first = entry_rows(services, campaign_id)
    assert [(row["status"], row["finished_at"]) for row in first] == [("completed", START + timedelta(days=10))]
    assert services.campaigns.enroll(campaign_id, ["ann"], None)["entered"] == 0
    advance_to(services, START + timedelta(days=30))
    assert services.campaigns.enroll(campaign_id, ["ann"], None)["entered"] == 1


def test_an_entry_still_running_blocks_a_new_one_even_after_the_interval(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    campaign_id = start(
        services,
        campaign(wait_node("w1", 5), email_node("e1"), edges=[("trigger", "w1"), ("w1", "e1")], reentry_interval="P1D"),
    )
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance_to(services, START + timedelta(days=2))
    assert services.campaigns.enroll(campaign_id, ["ann"], None)["entered"] == 0
    assert [row["status"] for row in entry_rows(services, campaign_id)] == ["active"]


def test_without_interval_one_running_entry_at_a_time_then_again_after_completion(services: Services) -> None:
    add_customers(
        services, {"external_id": "ann", "email": "ann@example.com"}, {"external_id": "bob", "email": "bob@example.com"}
    )
    campaign_id = start(
        services, campaign(wait_node("w1", 1), email_node("e1"), edges=[("trigger", "w1"), ("w1", "e1")])
    )
    assert services.campaigns.enroll(campaign_id, ["ann"], None)["entered"] == 1
    advance(services, hours=1)
    # ann is still inside (waiting); bob is new
    assert services.campaigns.enroll(campaign_id, ["ann", "bob"], None) == {
        "entered": 1,
        "not_entered": 1,
        "unknown_customers": [],
    }
    advance_to(services, START + timedelta(days=1))
    assert [row["status"] for row in entry_rows(services, campaign_id)] == ["completed", "active"]
    assert mailbox_count(services, "ann@example.com") == 1
    # the first entry has completed: ann may enter again at once, bob (still waiting) may not
    assert services.campaigns.enroll(campaign_id, ["ann", "bob"], None) == {
        "entered": 1,
        "not_entered": 1,
        "unknown_customers": [],
    }
    advance_to(services, START + timedelta(days=3))
    assert mailbox_count(services, "ann@example.com") == 2
    assert mailbox_count(services, "bob@example.com") == 1
    assert [row["status"] for row in entry_rows(services, campaign_id)] == ["completed"] * 3


def test_enrolling_the_same_customer_twice_in_one_request_enters_once(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    assert services.campaigns.enroll(campaign_id, ["ann", "ann", "ghost"], None) == {
        "entered": 1,
        "not_entered": 0,
        "unknown_customers": ["ghost"],
    }
    advance(services, minutes=1)
    assert mailbox_count(services, "ann@example.com") == 1
