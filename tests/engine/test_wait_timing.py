"""Waits release customers at the exact minute: fixed waits, and wait-until-date in the account time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.engine.helpers import (
    add_customers,
    advance_to,
    campaign,
    email_node,
    mailbox_count,
    message_count,
    set_timezone,
    start,
    tokens,
    trace_rows,
    wait_node,
    where_is,
)
from tidings.services import Services

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def left(services: Services, customer_id: int, node_id: str) -> datetime:
    rows = [row for row in trace_rows(services, customer_id) if row["node_id"] == node_id]
    assert len(rows) == 1, rows
    assert rows[0]["outcome"] == "performed"
    return rows[0]["at"]  # type: ignore[no-any-return]


def test_three_day_wait_releases_at_the_exact_minute(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    campaign_id = start(
        services, campaign(wait_node("w1", 3), email_node("e1"), edges=[("trigger", "w1"), ("w1", "e1")])
    )
    assert services.clock.now() == START
    assert services.campaigns.enroll(campaign_id, ["ann"], None)["entered"] == 1
    assert tokens(services, campaign_id) == [(ids["ann"], "w1", START + timedelta(days=3))]

    advance_to(services, START + timedelta(days=3) - timedelta(minutes=1))
    assert where_is(services, ids["ann"]) == ["w1"]
    assert message_count(services) == 0
    assert mailbox_count(services) == 0

    advance_to(services, START + timedelta(days=3))
    assert where_is(services, ids["ann"]) == []
    assert mailbox_count(services, "ann@example.com") == 1
    wait_row = next(row for row in trace_rows(services, ids["ann"]) if row["node_id"] == "w1")
    assert wait_row["arrived_at"] == START
    assert wait_row["at"] == START + timedelta(days=3)
    assert left(services, ids["ann"], "e1") == START + timedelta(days=3)


def test_a_long_jump_releases_each_customer_at_their_own_due_minute(services: Services) -> None:
    """Advancing far past several due times still records each release at its own due time, not the jump end."""
    ids = add_customers(
        services,
        {"external_id": "early", "email": "early@example.com"},
        {"external_id": "late", "email": "late@example.com"},
    )
    campaign_id = start(
        services, campaign(wait_node("w1", 90, "minutes"), email_node("e1"), edges=[("trigger", "w1"), ("w1", "e1")])
    )
    services.campaigns.enroll(campaign_id, ["early"], None)
    advance_to(services, START + timedelta(minutes=17))
    services.campaigns.enroll(campaign_id, ["late"], None)
    advance_to(services, START + timedelta(days=10))
    assert left(services, ids["early"], "w1") == START + timedelta(minutes=90)
    assert left(services, ids["late"], "w1") == START + timedelta(minutes=17 + 90)
    assert mailbox_count(services) == 2


def wait_until(date: str, time: str | None = None) -> dict[str, object]:
    config: dict[str, object] = {"date": date}
    if time is not None:
        config["time"] = time
    return {"id": "wu", "type": "wait_until_date", "config": config}


def test_wait_until_date_releases_at_local_midnight_across_the_spring_dst_change(services: Services) -> None:
    # The EU moved to summer time on 2026-03-29: midnight of 2026-03-30 in Riga is 21:00 UTC the day before (UTC+3),
    # where a fixed winter offset (UTC+2) would give 22:00.
    set_timezone(services, "Europe/Riga")
    release = datetime(2026, 3, 29, 21, 0, tzinfo=UTC)
    ids = add_customers(
        services,
        {"external_id": "early", "email": "early@example.com"},
        {"external_id": "late", "email": "late@example.com"},
    )
    campaign_id = start(
        services, campaign(wait_until("2026-03-30"), email_node("e1"), edges=[("trigger", "wu"), ("wu", "e1")])
    )
    services.campaigns.enroll(campaign_id, ["early"], None)
    assert tokens(services, campaign_id) == [(ids["early"], "wu", release)]

    advance_to(services, release - timedelta(minutes=1))
    assert where_is(services, ids["early"]) == ["wu"]
    assert message_count(services) == 0

    advance_to(services, release)
    assert where_is(services, ids["early"]) == []
    assert left(services, ids["early"], "wu") == release
    assert mailbox_count(services, "early@example.com") == 1

    # a customer arriving after the moment has passed goes straight through
    advance_to(services, release + timedelta(days=2, hours=3, minutes=7))
    arrival = services.clock.now()
    services.campaigns.enroll(campaign_id, ["late"], None)
    advance_to(services, arrival + timedelta(minutes=1))
    assert left(services, ids["late"], "wu") == arrival
    assert left(services, ids["late"], "e1") == arrival
    assert mailbox_count(services, "late@example.com") == 1


def test_wait_until_date_at_a_time_inside_the_dst_gap_releases_when_the_gap_ends(services: Services) -> None:
    # 03:30 on 2026-03-29 does not exist in Riga: clocks jump from 03:00 (UTC+2) to 04:00 (UTC+3) at 01:00 UTC.
    set_timezone(services, "Europe/Riga")
    ids = add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    campaign_id = start(services, campaign(wait_until("2026-03-29", "03:30"), edges=[("trigger", "wu")]))
    services.campaigns.enroll(campaign_id, ["ann"], None)
    gap_end = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert tokens(services, campaign_id) == [(ids["ann"], "wu", gap_end)]
    advance_to(services, gap_end - timedelta(minutes=1))
    assert where_is(services, ids["ann"]) == ["wu"]
    advance_to(services, gap_end)
    assert left(services, ids["ann"], "wu") == gap_end


def test_wait_until_date_follows_the_account_time_zone(services: Services) -> None:
    """The same document releases at different instants for accounts in different zones."""
    set_timezone(services, "America/New_York")
    ids = add_customers(services, {"external_id": "ann"})
    campaign_id = start(services, campaign(wait_until("2026-01-06", "09:00"), edges=[("trigger", "wu")]))
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance_to(services, datetime(2026, 1, 6, 13, 59, tzinfo=UTC))
    assert where_is(services, ids["ann"]) == ["wu"]
    advance_to(services, datetime(2026, 1, 6, 14, 0, tzinfo=UTC))
    assert left(services, ids["ann"], "wu") == datetime(2026, 1, 6, 14, 0, tzinfo=UTC)
