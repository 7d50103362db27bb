"""Accrue bonus points (D9, E18) with the built-in ledger: customers wait at the node until the loyalty program
confirmed their accrual, then continue; control customers get nothing; an entry is accrued once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tests.actions.helpers import make_audience, node, node_metrics
from tests.conftest import START
from tests.engine.helpers import (
    add_customers,
    advance,
    advance_to,
    campaign,
    counters,
    filter_node,
    start,
    tokens,
    trace,
    unbalanced_counters,
    wait_node,
    where_is,
)
from tidings.core.errors import DocumentInvalid
from tidings.document.validation import parse_document
from tidings.segments.segments import SegmentService
from tidings.services import Services
from tidings.store.tables import customers, loyalty_requests, points_ledger


def accrue(node_id: str, amount: float, **config: Any) -> dict[str, Any]:
    return node(node_id, "accrue_bonus_points", amount=amount, **config)


def balance(services: Services, customer_id: int) -> Decimal:
    with services.db.engine.connect() as conn:
        found = conn.execute(select(customers.c.points_balance).where(customers.c.id == customer_id)).scalar_one()
    return Decimal(found)


def bonus_requests(services: Services) -> list[dict[str, Any]]:
    with services.db.engine.connect() as conn:
        query = select(loyalty_requests).order_by(loyalty_requests.c.id)
        return [dict(row) for row in conn.execute(query).mappings()]


def test_customers_continue_once_the_program_confirmed_their_accrual(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann"}, {"external_id": "bob"})
    document = campaign(
        accrue("b1", 150, expiry_days=30, partner="SHOP-1", description="Thank you"),
        wait_node("w1", 1),
        edges=[("trigger", "b1"), ("b1", "w1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, ["ann", "bob"], None)
    services.scheduler.tick()  # the node requests the accruals and holds the customers; the processor accrues
    assert where_is(services, ids["ann"]) == ["b1"]
    assert [(row["kind"], row["status"]) for row in bonus_requests(services)] == [("bonus", "done")] * 2
    assert {due for _, _, due in tokens(services, campaign_id)} == {START}  # woken: no wait for the re-check

    services.scheduler.tick()
    assert where_is(services, ids["ann"]) == ["w1"] and where_is(services, ids["bob"]) == ["w1"]
    assert balance(services, ids["ann"]) == Decimal("150.00")
    [request, _] = bonus_requests(services)
    assert request["payload"] == {"amount": 150, "expiry_days": 30, "partner": "SHOP-1", "description": "Thank you"}
    assert (request["node_id"], request["status"], request["attempts"]) == ("b1", "done", 1)
    with services.db.engine.connect() as conn:
        row = conn.execute(select(points_ledger).where(points_ledger.c.customer_id == ids["ann"])).mappings().one()
    assert (row["node_id"], row["amount"], row["reason"]) == ("b1", Decimal("150.00"), "Thank you")
    assert row["expires_at"] == START + timedelta(days=30)
    assert trace(services, ids["ann"])[-1] == ("b1", "performed", "out", None)
    assert node_metrics(counters(services, campaign_id), "b1") == {"entered": 2, "performed": 2, "port:out": 2}
    assert unbalanced_counters(services, campaign_id) == {}


def test_control_customers_continue_and_nothing_is_requested_for_them(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann"}, {"external_id": "bob"})
    holdout = make_audience(services, "Holdout", [ids["bob"]])
    document = campaign(
        node("cg", "control_group", method="audience", audience=holdout),
        accrue("b1", 10),
        wait_node("w1", 1),
        edges=[("trigger", "cg"), ("cg", "b1"), ("b1", "w1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, ["ann", "bob"], None)
    advance(services, minutes=1)
    assert [row["customer_id"] for row in bonus_requests(services)] == [ids["ann"]]
    assert balance(services, ids["bob"]) == Decimal("0.00")
    assert where_is(services, ids["bob"]) == ["w1"]
    assert trace(services, ids["bob"])[-1] == ("b1", "performed", "out", "control_group")
    assert node_metrics(counters(services, campaign_id), "b1")["suppressed:control_group"] == 1


def test_an_entry_reaching_the_node_twice_is_accrued_once(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann"})
    document = campaign(
        wait_node("a", 1, "hours"),
        wait_node("b", 1, "hours"),
        wait_node("late", 3, "hours"),
        accrue("b1", 10),
        wait_node("w1", 1),
        edges=[("trigger", "a"), ("trigger", "b"), ("trigger", "late"), ("a", "b1"), ("b", "b1"), ("late", "b1"),
               ("b1", "w1")],
    )  # fmt: skip
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, hours=4)
    assert len(bonus_requests(services)) == 1
    assert balance(services, ids["ann"]) == Decimal("10.00")
    assert node_metrics(counters(services, campaign_id), "b1") == {
        "entered": 3,
        "performed": 1,
        "port:out": 1,
        "dropped:already_accrued": 2,
    }
    assert where_is(services, ids["ann"]) == ["w1"]
    assert unbalanced_counters(services, campaign_id) == {}


def test_e18_a_birthday_bonus_for_customers_registered_over_a_year_ago(services: Services) -> None:
    """Segment "days since registration ≥ 365"; a daily trigger at 00:00 takes its members (D11), a filter keeps
    those whose birthday is today, and the node accrues the bonus."""
    tomorrow = date(2026, 1, 6)  # START is 2026-01-05 10:00 UTC; the trigger next fires at 2026-01-06 00:00
    ids = add_customers(
        services,
        {"external_id": "veteran", "registered_at": START - timedelta(days=400), "birthday": date(1990, 1, 6)},
        {"external_id": "newcomer", "registered_at": START - timedelta(days=100), "birthday": date(1991, 1, 6)},
        {"external_id": "not_today", "registered_at": START - timedelta(days=400), "birthday": date(1985, 3, 1)},
        {"external_id": "year_to_the_day", "registered_at": datetime(2025, 1, 6, 12, tzinfo=UTC),
         "birthday": date(1999, 1, 6)},
    )  # fmt: skip
    over_a_year = {
        "all": [
            {"field": "registered_at", "op": "not_empty"},
            {"not": {"field": "registered_at", "op": "in_last_days", "value": 364}},
        ]
    }
    hourly = 60  # recomputed at 00:00 too, just before the trigger fires in the same tick
    segment = SegmentService(services.db, services.clock).create("Registered over a year ago", over_a_year, hourly)
    document = campaign(
        node("s1", "select_from_segment", segment=segment["id"]),
        filter_node("birthday", {"field": "birthday", "op": "day_and_month_today"}),
        accrue("b1", 500, description="Happy birthday"),
        wait_node("w1", 1),
        edges=[("s1", "birthday"), ("birthday", "b1", "yes"), ("b1", "w1")],
        trigger={"id": "trigger", "type": "repeated_date", "config": {"frequency": "daily"}},
    )
    document["edges"].insert(0, {"source": "trigger", "target": "s1"})
    campaign_id = start(services, document)
    advance_to(services, datetime.combine(tomorrow, datetime.min.time(), UTC) + timedelta(minutes=5))

    assert balance(services, ids["veteran"]) == Decimal("500.00")
    assert where_is(services, ids["veteran"]) == ["w1"]
    assert balance(services, ids["newcomer"]) == Decimal("0.00")
    assert trace(services, ids["newcomer"]) == []  # never entered: not in the segment
    assert balance(services, ids["not_today"]) == Decimal("0.00")
    assert trace(services, ids["not_today"])[-1] == ("birthday", "performed", "no", None)
    assert balance(services, ids["year_to_the_day"]) == Decimal("500.00")  # 365 days on the day it fires
    assert {row["customer_id"] for row in bonus_requests(services)} == {ids["veteran"], ids["year_to_the_day"]}
    assert unbalanced_counters(services, campaign_id) == {}


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"amount": 0}, "config.amount", "greater than 0"),
        ({"amount": 1.234}, "config.amount", "two decimals"),
        ({"amount": 5, "expiry_days": 0}, "config.expiry_days", "greater than or equal to 1"),
        ({"amount": 5, "expiry_days": 3, "expiry_date": "2026-12-31"}, "config", "either expiry_days or expiry_date"),
        ({"amount": 5, "currency": "stars"}, "config.currency", "unknown field"),
    ],
)
def test_bad_configs_are_refused_naming_the_node_and_field(config: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(DocumentInvalid) as raised:
        parse_document(campaign(node("b1", "accrue_bonus_points", **config), edges=[("trigger", "b1")]))
    [problem] = raised.value.details
    assert (problem["node"], problem["field"]) == ("b1", field)
    assert message in problem["message"]
