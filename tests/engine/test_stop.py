"""Stop ends all journeys: no tokens remain, running entries become `stopped`, nothing more is sent (D13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.engine.helpers import (
    add_customers,
    advance_to,
    campaign,
    counters,
    email_node,
    entry_rows,
    mailbox_count,
    message_count,
    start,
    tokens,
    trace,
    trace_rows,
    unbalanced_counters,
    wait_node,
)
from tidings.core.errors import InvalidTransition
from tidings.services import Services

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_stop_ends_every_journey_and_nothing_more_is_sent(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "ann", "email": "ann@example.com"},
        {"external_id": "bob", "email": "bob@example.com"},
        {"external_id": "cid"},  # no e-mail: drops out at e1 and completes before the stop
    )
    document = campaign(
        wait_node("w1", 1),
        email_node("e1"),
        wait_node("w2", 5),
        email_node("e2"),
        edges=[("trigger", "w1"), ("w1", "e1"), ("e1", "w2"), ("w2", "e2")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, ["ann", "cid"], None)
    advance_to(services, START + timedelta(hours=12))
    services.campaigns.enroll(campaign_id, ["bob"], None)
    advance_to(services, START + timedelta(days=1, minutes=1))
    assert sorted((customer, node) for customer, node, _ in tokens(services, campaign_id)) == [
        (ids["ann"], "w2"),
        (ids["bob"], "w1"),
    ]
    assert mailbox_count(services) == 1

    stopped_at = services.clock.now()
    assert services.campaigns.transition(campaign_id, "stop") == {"id": campaign_id, "status": "stopped"}
    assert tokens(services, campaign_id) == []
    by_customer = {row["customer_id"]: row for row in entry_rows(services, campaign_id)}
    assert {ids[name]: by_customer[ids[name]]["status"] for name in ("ann", "bob", "cid")} == {
        ids["ann"]: "stopped",
        ids["bob"]: "stopped",
        ids["cid"]: "completed",
    }
    assert by_customer[ids["ann"]]["finished_at"] == stopped_at
    assert by_customer[ids["bob"]]["finished_at"] == stopped_at
    assert by_customer[ids["cid"]]["finished_at"] == START + timedelta(days=1)
    assert trace(services, ids["ann"])[-1] == ("w2", "dropped", None, "campaign_stopped")
    assert trace(services, ids["bob"])[-1] == ("w1", "dropped", None, "campaign_stopped")
    assert trace_rows(services, ids["bob"])[-1]["at"] == stopped_at
    assert trace(services, ids["cid"])[-1] == ("e1", "dropped", None, "no_contact")
    values = counters(services, campaign_id)
    assert values[("w1", "dropped:campaign_stopped")] == 1
    assert values[("w2", "dropped:campaign_stopped")] == 1
    assert unbalanced_counters(services, campaign_id) == {}

    advance_to(services, START + timedelta(days=30))
    assert message_count(services) == 1
    assert mailbox_count(services) == 1
    assert mailbox_count(services, "bob@example.com") == 0
    assert tokens(services, campaign_id) == []


def test_a_stopped_campaign_neither_enrols_nor_resumes(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    services.campaigns.transition(campaign_id, "pause")
    services.campaigns.transition(campaign_id, "stop")
    with pytest.raises(InvalidTransition):
        services.campaigns.enroll(campaign_id, ["ann"], None)
    with pytest.raises(InvalidTransition):
        services.campaigns.transition(campaign_id, "activate")
    assert services.campaigns.transition(campaign_id, "archive")["status"] == "archived"
