"""Segment is changed: customers entering — or leaving — a segment at its recomputes enter the campaign."""

from __future__ import annotations

from tests.engine.helpers import add_customers, advance
from tests.segments_service.helpers import city_is, segment_service
from tests.triggers.helpers import entered, start_with
from tidings.services import Services


def test_leaving_and_entering_a_segment_each_have_their_campaign(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "ann", "city": "Riga"},
        {"external_id": "bob", "city": "Riga"},
        {"external_id": "cid", "city": "Oslo"},
    )
    segment_id = segment_service(services).create("Riga", city_is("Riga"), 60)["id"]  # a baseline: nobody moves
    left = start_with(services, "segment_changed", segment_id=segment_id, change="left")
    joined = start_with(services, "segment_changed", segment_id=segment_id)  # entered, by default
    advance(services, minutes=61)
    assert entered(services, left) == entered(services, joined) == []

    add_customers(services, {"external_id": "ann", "city": "Oslo"}, {"external_id": "cid", "city": "Riga"})
    advance(services, minutes=60)
    assert [customer for customer, _ in entered(services, left)] == [ids["ann"]]
    assert [customer for customer, _ in entered(services, joined)] == [ids["cid"]]

    advance(services, minutes=60)  # nothing changed: nobody more
    assert len(entered(services, left)) == len(entered(services, joined)) == 1


def test_editing_the_condition_is_a_baseline_for_leavers_too(services: Services) -> None:
    add_customers(services, {"external_id": "ann", "city": "Riga"})
    segments = segment_service(services)
    segment_id = segments.create("Riga", city_is("Riga"), 60)["id"]
    left = start_with(services, "segment_changed", segment_id=segment_id, change="left")
    segments.update(segment_id, "Oslo", city_is("Oslo"), 60)  # ann no longer matches: not a leaver
    advance(services, minutes=61)
    assert entered(services, left) == []
