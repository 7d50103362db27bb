"""The getting_into_segment trigger: customers who join a segment at a recompute enter the listening campaigns.

Existing members never count as having entered: not at the segment's first computation, not when a campaign is
activated, not when the segment's condition is redefined.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from tests.engine.helpers import (
    add_customers,
    advance,
    campaign,
    email_node,
    entry_rows,
    mailbox_count,
    start,
    trace_rows,
    wait_node,
)
from tests.segments_service.helpers import city_is, inbox, segment_service
from tidings.core.errors import Conflict, DocumentInvalid
from tidings.services import Services
from tidings.store.tables import campaign_triggers, segments

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def segment_trigger(segment_id: int) -> dict[str, Any]:
    return {"id": "trigger", "type": "getting_into_segment", "config": {"segment_id": segment_id}}


def welcome(segment_id: int, **settings: Any) -> dict[str, Any]:
    return campaign(email_node("e1"), edges=[("trigger", "e1")], trigger=segment_trigger(segment_id), **settings)


def entered(services: Services, campaign_id: int, ids: dict[str, int]) -> list[tuple[str, datetime]]:
    names = {customer_id: name for name, customer_id in ids.items()}
    return [(names[row["customer_id"]], row["entered_at"]) for row in entry_rows(services, campaign_id)]


def test_the_trigger_must_name_an_existing_segment(services: Services) -> None:
    with pytest.raises(DocumentInvalid) as refused:
        services.campaigns.create(welcome(42))
    assert refused.value.details == [
        {
            "node": "trigger",
            "field": "config.segment_id",
            "message": "segment 42 does not exist; create it with POST /api/v1/segments first",
        }
    ]


def test_activation_records_the_segment_the_trigger_listens_to(services: Services) -> None:
    segment_id = segment_service(services).create("Riga", city_is("Riga"), 60)["id"]
    campaign_id = start(services, welcome(segment_id))
    with services.db.engine.connect() as conn:
        row = conn.execute(select(campaign_triggers).where(campaign_triggers.c.campaign_id == campaign_id)).one()
    assert (row.kind, row.segment_id, row.event_name, row.next_fire_at) == ("segment", segment_id, None, None)


def test_only_customers_who_join_after_activation_enter_never_the_existing_members(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "ann", "city": "Riga", "email": "ann@example.com"},
        {"external_id": "bob", "city": "Riga", "email": "bob@example.com"},
    )
    segment_id = segment_service(services).create("Riga", city_is("Riga"), 60)["id"]
    campaign_id = start(services, welcome(segment_id))
    advance(services, minutes=30)
    ids |= add_customers(services, {"external_id": "cid", "city": "Riga", "email": "cid@example.com"})

    advance(services, minutes=29)  # before the recompute
    assert entry_rows(services, campaign_id) == []

    advance(services, minutes=1)  # the recompute at START + 60 min
    assert entered(services, campaign_id, ids) == [("cid", START + timedelta(minutes=60))]
    assert mailbox_count(services, "cid@example.com") == 1
    assert mailbox_count(services) == 1
    assert [(step["node_id"], step["outcome"]) for step in trace_rows(services, ids["cid"], campaign_id)] == [
        ("trigger", "performed"),
        ("e1", "performed"),
    ]
    assert inbox(services) == []  # the newcomers were consumed

    advance(services, hours=5)  # later recomputes: nobody new
    assert len(entry_rows(services, campaign_id)) == 1


def test_the_first_computation_of_a_segment_is_a_baseline(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "city": "Riga"})
    segment_id = segment_service(services).create("Riga", city_is("Tallinn"), 60)["id"]
    campaign_id = start(services, welcome(segment_id))
    segment_service(services).update(segment_id, "Riga", city_is("Riga"), 60)  # redefined: a baseline too
    ids |= add_customers(services, {"external_id": "bob", "city": "Riga"})

    advance(services, minutes=60)

    assert entered(services, campaign_id, ids) == [("bob", START + timedelta(minutes=60))]


def test_newcomers_of_an_on_demand_recompute_enter_at_the_next_tick(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "city": "Riga"})
    segment_id = segment_service(services).create("Riga", city_is("Riga"), 600)["id"]
    campaign_id = start(services, welcome(segment_id))
    advance(services, minutes=5)
    ids |= add_customers(services, {"external_id": "bob", "city": "Riga"})

    done = segment_service(services).recompute_now(segment_id)
    assert (done.entered, done.baseline) == (1, False)
    assert inbox(services) == [(campaign_id, ids["bob"], None)]

    advance(services, minutes=0)
    assert entered(services, campaign_id, ids) == [("bob", START + timedelta(minutes=5))]


def test_every_active_campaign_listening_to_the_segment_gets_the_newcomers(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "city": "Tallinn"})
    riga = segment_service(services).create("Riga", city_is("Riga"), 60)["id"]
    tallinn = segment_service(services).create("Tallinn", city_is("Tallinn"), 60)["id"]
    first = start(services, welcome(riga))
    second = start(services, welcome(riga))
    other = start(services, welcome(tallinn))
    draft = int(services.campaigns.create(welcome(riga))["id"])
    ids = add_customers(services, {"external_id": "bob", "city": "Riga"})

    advance(services, minutes=60)

    assert entered(services, first, ids) == [("bob", START + timedelta(minutes=60))]
    assert entered(services, second, ids) == [("bob", START + timedelta(minutes=60))]
    assert entry_rows(services, other) == []
    assert entry_rows(services, draft) == []


def test_customers_who_join_while_the_campaign_is_paused_are_not_kept_for_later(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "city": "Tallinn"})
    segment_id = segment_service(services).create("Riga", city_is("Riga"), 60)["id"]
    campaign_id = start(services, welcome(segment_id))
    services.campaigns.transition(campaign_id, "pause")
    add_customers(services, {"external_id": "ann", "city": "Riga"})
    advance(services, minutes=60)
    assert inbox(services) == []

    services.campaigns.transition(campaign_id, "activate")
    ids |= add_customers(services, {"external_id": "bob", "city": "Riga"})
    advance(services, minutes=60)

    assert entered(services, campaign_id, ids) == [("bob", START + timedelta(minutes=120))]


def test_reentry_rules_apply_to_customers_who_leave_and_join_again(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "city": "Tallinn", "email": "ann@example.com"})
    segment_id = segment_service(services).create("Riga", city_is("Riga"), 24 * 60)["id"]
    document = campaign(
        wait_node("w1", 1), email_node("e1"), edges=[("trigger", "w1"), ("w1", "e1")], reentry_interval="P7D"
    )
    document["trigger"] = segment_trigger(segment_id)
    campaign_id = start(services, document)

    def move(city: str) -> None:
        add_customers(services, {"external_id": "ann", "city": city})
        advance(services, days=1)

    move("Riga")  # day 1: joins → enters
    move("Tallinn")  # day 2: leaves (the entry is still running: it waits a day)
    move("Riga")  # day 3: joins again, 2 days after entering: inside the re-entry interval
    move("Tallinn")
    move("Tallinn")
    move("Tallinn")
    move("Tallinn")
    move("Tallinn")
    move("Riga")  # day 9: joins again, 8 days after the first entry → enters

    assert entered(services, campaign_id, ids) == [
        ("ann", START + timedelta(days=1)),
        ("ann", START + timedelta(days=9)),
    ]
    assert mailbox_count(services, "ann@example.com") == 1  # the second entry is still waiting a day


def test_a_segment_a_running_campaign_listens_to_cannot_be_deleted(services: Services) -> None:
    segment_id = segment_service(services).create("Riga", city_is("Riga"), 60)["id"]
    campaign_id = start(services, welcome(segment_id))
    with pytest.raises(Conflict) as refused:
        segment_service(services).delete(segment_id)
    assert refused.value.details == {"campaigns": [campaign_id]}

    services.campaigns.transition(campaign_id, "pause")
    with pytest.raises(Conflict):
        segment_service(services).delete(segment_id)

    services.campaigns.transition(campaign_id, "stop")
    segment_service(services).delete(segment_id)


def test_a_segment_first_computed_by_the_scheduler_hands_nobody_over(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "city": "Riga"})
    with services.db.engine.begin() as conn:  # a segment stored without its first computation
        conn.execute(
            insert(segments).values(
                id=5, name="Raw", condition=city_is("Riga"), recompute_minutes=60, created_at=START, updated_at=START
            )
        )
    campaign_id = start(services, welcome(5))

    advance(services, minutes=0)  # the first computation: ann is a member, not a newcomer
    assert segment_service(services).get(5)["size"] == 1
    ids |= add_customers(services, {"external_id": "bob", "city": "Riga"})
    advance(services, minutes=60)

    assert entered(services, campaign_id, ids) == [("bob", START + timedelta(minutes=60))]
