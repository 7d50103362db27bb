"""A chunk goes on through every node its customers reach that is due at once, in the same transaction: where the
chain stops, each row is moved (or deleted) once, and what the nodes on the way did names the node that did it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.actions.helpers import node
from tests.conftest import START
from tests.engine.helpers import (
    add_customers,
    campaign,
    email_node,
    entry_rows,
    filter_node,
    start,
    trace_rows,
    unbalanced_counters,
    wait_node,
)
from tidings.engine.advance import DueNode, advance_chunk
from tidings.services import Services
from tidings.store.tables import journey_state, loyalty_requests, messages

LATER = START + timedelta(hours=1)


def release_wait(services: Services, campaign_id: int, node_id: str) -> int:
    """One chunk at the wait node, an hour after everyone entered."""
    services.clock.set(LATER)
    return advance_chunk(services.db, services.documents, DueNode(campaign_id, node_id), LATER, limit=100).size


def token_rows(services: Services, campaign_id: int) -> dict[int, tuple[str, Any, Any]]:
    """customer → (node, arrived_at, due_at) of their token."""
    query = select(
        journey_state.c.customer_id, journey_state.c.node_id, journey_state.c.arrived_at, journey_state.c.due_at
    ).where(journey_state.c.campaign_id == campaign_id)
    with services.db.engine.connect() as conn:
        return {customer: (node_id, arrived, due) for customer, node_id, arrived, due in conn.execute(query)}


def queued_at(services: Services) -> dict[int, str]:
    """customer → the node of their message."""
    with services.db.engine.connect() as conn:
        return {
            customer: node_id for customer, node_id in conn.execute(select(messages.c.customer_id, messages.c.node_id))
        }


def test_one_chunk_releases_a_wait_filters_and_queues_the_messages(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "ann", "email": "ann@example.com", "city": "Riga"},
        {"external_id": "bob", "email": "bob@example.com", "city": "Oslo"},
    )
    document = campaign(
        wait_node("w1", 1, "hours"),
        filter_node("f1", {"field": "city", "op": "equals", "value": "Riga"}),
        email_node("e1"),
        wait_node("w2", 1, "days"),
        email_node("e2"),
        edges=[("trigger", "w1"), ("w1", "f1"), ("f1", "e1", "yes"), ("e1", "w2"), ("f1", "e2", "no")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, ["ann", "bob"], None)

    assert release_wait(services, campaign_id, "w1") == 2

    assert queued_at(services) == {ids["ann"]: "e1", ids["bob"]: "e2"}
    assert token_rows(services, campaign_id) == {ids["ann"]: ("w2", LATER, LATER + timedelta(days=1))}
    assert [row["status"] for row in entry_rows(services, campaign_id)] == ["active", "completed"]
    assert [
        (row["node_id"], row["port"], row["arrived_at"], row["at"]) for row in trace_rows(services, ids["ann"])
    ] == [
        ("trigger", "out", START, START),
        ("w1", "out", START, LATER),
        ("f1", "yes", LATER, LATER),
        ("e1", "out", LATER, LATER),
    ]
    assert [(row["node_id"], row["port"]) for row in trace_rows(services, ids["bob"])][-2:] == [
        ("f1", "no"),
        ("e2", "out"),
    ]
    assert unbalanced_counters(services, campaign_id) == {}


def test_a_second_run_of_the_chain_queues_nothing_twice(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    document = campaign(wait_node("w1", 1, "hours"), email_node("e1"), edges=[("trigger", "w1"), ("w1", "e1")])
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, ["ann"], None)

    assert release_wait(services, campaign_id, "w1") == 1
    assert release_wait(services, campaign_id, "w1") == 0  # nobody is due at the wait any more
    assert advance_chunk(services.db, services.documents, DueNode(campaign_id, "e1"), LATER, limit=100).size == 0
    assert len(queued_at(services)) == 1


def test_customers_held_at_a_node_reached_at_once_wait_there_with_its_request(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann"})
    document = campaign(
        wait_node("w1", 1, "hours"),
        node("b1", "accrue_bonus_points", amount=10),
        wait_node("w2", 1),
        edges=[("trigger", "w1"), ("w1", "b1"), ("b1", "w2")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, ["ann"], None)

    assert release_wait(services, campaign_id, "w1") == 1

    [(held_at, arrived, due)] = token_rows(services, campaign_id).values()
    assert (held_at, arrived) == ("b1", LATER) and due > LATER  # held until the re-check
    with services.db.engine.connect() as conn:
        requests = conn.execute(select(loyalty_requests.c.node_id, loyalty_requests.c.customer_id)).all()
    assert [tuple(row) for row in requests] == [("b1", ids["ann"])]
    services.scheduler.tick()  # the processor accrues and wakes her
    services.scheduler.tick()  # and the next chunk sends her on
    assert token_rows(services, campaign_id)[ids["ann"]][0] == "w2"
    assert [(row["node_id"], row["arrived_at"]) for row in trace_rows(services, ids["ann"])][-1] == ("b1", LATER)
    assert unbalanced_counters(services, campaign_id) == {}
