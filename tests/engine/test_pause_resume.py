"""Pause freezes everyone in place; waits keep their absolute release time and release on resume (D13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.engine.helpers import (
    add_customers,
    advance,
    advance_to,
    campaign,
    email_node,
    mailbox_count,
    message_count,
    start,
    tokens,
    trace_rows,
    wait_node,
)
from tidings.core.errors import InvalidTransition
from tidings.services import Services

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_pause_freezes_a_wait_and_resume_releases_it_with_its_due_time_unchanged(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    campaign_id = start(
        services, campaign(wait_node("w1", 1), email_node("e1"), edges=[("trigger", "w1"), ("w1", "e1")])
    )
    services.campaigns.enroll(campaign_id, ["ann"], None)
    due = START + timedelta(days=1)
    advance_to(services, START + timedelta(hours=12))
    assert services.campaigns.transition(campaign_id, "pause") == {"id": campaign_id, "status": "paused"}

    advance_to(services, START + timedelta(days=3))
    assert tokens(services, campaign_id) == [(ids["ann"], "w1", due)]
    assert message_count(services) == 0
    assert mailbox_count(services) == 0
    assert [row["node_id"] for row in trace_rows(services, ids["ann"])] == ["trigger"]

    resumed = services.clock.now()
    assert services.campaigns.transition(campaign_id, "activate") == {"id": campaign_id, "status": "active"}
    assert tokens(services, campaign_id) == [(ids["ann"], "w1", due)]  # resume does not reschedule

    advance(services, minutes=1)
    assert tokens(services, campaign_id) == []
    assert mailbox_count(services, "ann@example.com") == 1
    wait = next(row for row in trace_rows(services, ids["ann"]) if row["node_id"] == "w1")
    assert (wait["arrived_at"], wait["at"]) == (START, resumed)


def test_a_wait_due_after_the_resume_is_not_shifted_by_the_pause(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    campaign_id = start(
        services, campaign(wait_node("w1", 5), email_node("e1"), edges=[("trigger", "w1"), ("w1", "e1")])
    )
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance_to(services, START + timedelta(days=1))
    services.campaigns.transition(campaign_id, "pause")
    advance_to(services, START + timedelta(days=3))
    services.campaigns.transition(campaign_id, "activate")
    advance_to(services, START + timedelta(days=5) - timedelta(minutes=1))
    assert mailbox_count(services) == 0
    advance_to(services, START + timedelta(days=5))
    assert mailbox_count(services, "ann@example.com") == 1
    wait = next(row for row in trace_rows(services, ids["ann"]) if row["node_id"] == "w1")
    assert wait["at"] == START + timedelta(days=5)


def test_customers_entered_just_before_a_pause_stay_at_their_first_node(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    services.campaigns.enroll(campaign_id, ["ann"], None)
    services.campaigns.transition(campaign_id, "pause")
    advance(services, days=2)
    assert tokens(services, campaign_id) == [(ids["ann"], "e1", START)]
    assert mailbox_count(services) == 0
    services.campaigns.transition(campaign_id, "activate")
    advance(services, minutes=1)
    assert mailbox_count(services, "ann@example.com") == 1


def test_a_paused_campaign_does_not_enrol(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    services.campaigns.transition(campaign_id, "pause")
    with pytest.raises(InvalidTransition):
        services.campaigns.enroll(campaign_id, ["ann"], None)
    with pytest.raises(InvalidTransition):
        services.campaigns.transition(campaign_id, "pause")
