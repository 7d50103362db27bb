"""Triggers: event_occurred with property conditions, date_has_come, repeated_date (weekly and cron)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tests.engine.helpers import (
    add_customers,
    advance,
    advance_to,
    campaign,
    email_node,
    entry_rows,
    mailbox_count,
    set_timezone,
    start,
    trace_rows,
)
from tidings.services import Services
from tidings.store.events import NewEvent, insert_events
from tidings.store.tables import campaign_triggers, events

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # Monday; 12:00 in Riga (UTC+2 in winter)


def post(services: Services, *rows: tuple[int, str, dict[str, Any]]) -> None:
    with services.db.engine.begin() as conn:
        insert_events(
            conn,
            [NewEvent(customer, name, properties) for customer, name, properties in rows],
            str(uuid.uuid4()),
            services.clock.now(),
        )


def event_trigger(event: str, *properties: dict[str, Any]) -> dict[str, Any]:
    return {"id": "trigger", "type": "event_occurred", "config": {"event": event, "properties": list(properties)}}


def entered(services: Services, campaign_id: int) -> list[tuple[int, datetime]]:
    return [(row["customer_id"], row["entered_at"]) for row in entry_rows(services, campaign_id)]


def fire_times(services: Services, campaign_id: int) -> list[datetime]:
    return sorted({row["entered_at"] for row in entry_rows(services, campaign_id)})


def next_fire(services: Services, campaign_id: int) -> datetime | None:
    with services.db.engine.connect() as conn:
        return conn.execute(
            select(campaign_triggers.c.next_fire_at).where(campaign_triggers.c.campaign_id == campaign_id)
        ).scalar_one()  # type: ignore[no-any-return]


# -- event_occurred ------------------------------------------------------------------------------------
def test_event_with_matching_properties_enters_its_customer(services: Services) -> None:
    ids = add_customers(
        services,
        *({"external_id": name, "email": f"{name}@example.com"} for name in ("ann", "bob", "cid", "dan", "eve")),
    )
    trigger = event_trigger(
        "order_paid",
        {"property": "amount", "op": "gte", "value": 100},
        {"property": "channel", "op": "in", "value": ["web", "app"]},
    )
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")], trigger=trigger))
    post(
        services,
        (ids["ann"], "order_paid", {"amount": 150, "channel": "web"}),
        (ids["bob"], "order_paid", {"amount": 99.5, "channel": "web"}),
        (ids["cid"], "order_paid", {"amount": 150, "channel": "store"}),
        (ids["dan"], "page_view", {"amount": 150, "channel": "web"}),
        (ids["eve"], "order_paid", {"channel": "app"}),
    )
    advance(services, minutes=1)
    assert entered(services, campaign_id) == [(ids["ann"], START)]
    assert mailbox_count(services) == 1
    assert mailbox_count(services, "ann@example.com") == 1
    with services.db.engine.connect() as conn:
        named = select(events.c.id).where(events.c.customer_id == ids["ann"], events.c.name == "order_paid")
        event_id = conn.execute(named).scalar_one()
    assert entry_rows(services, campaign_id)[0]["event_id"] == event_id

    # a later matching event for bob enters him; ann (already completed, no interval) enters again
    post(
        services,
        (ids["bob"], "order_paid", {"amount": 100, "channel": "app"}),
        (ids["ann"], "order_paid", {"amount": 500, "channel": "app"}),
    )
    advance(services, minutes=1)
    assert sorted(entered(services, campaign_id)) == sorted(
        [(ids["ann"], START), (ids["ann"], START + timedelta(minutes=1)), (ids["bob"], START + timedelta(minutes=1))]
    )


def test_text_property_operators(services: Services) -> None:
    ids = add_customers(services, *({"external_id": f"c{i}"} for i in range(4)))
    trigger = event_trigger(
        "view",
        {"property": "product", "op": "contains", "value": "Bag"},
        {"property": "coupon", "op": "not_exists"},
        {"property": "color", "op": "not_equals", "value": "red"},
    )
    campaign_id = start(services, campaign(edges=[], trigger=trigger))
    post(
        services,
        (ids["c0"], "view", {"product": "Red Bag", "color": "blue"}),
        (ids["c1"], "view", {"product": "Red Bag", "coupon": "SPRING"}),
        (ids["c2"], "view", {"product": "Shoe"}),
        (ids["c3"], "view", {"product": "Bag", "color": "red"}),
    )
    advance(services, minutes=1)
    assert [customer for customer, _ in entered(services, campaign_id)] == [ids["c0"]]


def test_exists_on_a_text_property(services: Services) -> None:
    ids = add_customers(services, {"external_id": "with"}, {"external_id": "without"})
    trigger = event_trigger("checkout", {"property": "coupon", "op": "exists"})
    campaign_id = start(services, campaign(edges=[], trigger=trigger))
    post(services, (ids["with"], "checkout", {"coupon": "SPRING"}), (ids["without"], "checkout", {}))
    advance(services, minutes=1)
    assert [customer for customer, _ in entered(services, campaign_id)] == [ids["with"]]


def test_a_non_numeric_value_fails_a_numeric_condition_without_blocking_other_events(services: Services) -> None:
    ids = add_customers(services, {"external_id": "odd"}, {"external_id": "fine"})
    trigger = event_trigger("order_paid", {"property": "amount", "op": "gt", "value": 10})
    campaign_id = start(services, campaign(edges=[], trigger=trigger))
    post(services, (ids["odd"], "order_paid", {"amount": "lots"}), (ids["fine"], "order_paid", {"amount": 11}))
    advance(services, minutes=1)
    assert [customer for customer, _ in entered(services, campaign_id)] == [ids["fine"]]


def test_lt_on_a_non_numeric_value_does_not_match(services: Services) -> None:
    ids = add_customers(services, {"external_id": "odd"}, {"external_id": "small"}, {"external_id": "absent"})
    trigger = event_trigger("order_paid", {"property": "amount", "op": "lt", "value": 10})
    campaign_id = start(services, campaign(edges=[], trigger=trigger))
    post(
        services,
        (ids["odd"], "order_paid", {"amount": "lots"}),
        (ids["small"], "order_paid", {"amount": -3}),
        (ids["absent"], "order_paid", {}),
    )
    advance(services, minutes=1)
    assert [customer for customer, _ in entered(services, campaign_id)] == [ids["small"]]


def test_numbers_compare_as_numbers_also_when_sent_as_numeric_text(services: Services) -> None:
    names = ("int", "float", "text", "text_float", "negative", "word", "two_dots", "object")
    ids = add_customers(services, *({"external_id": name} for name in names))
    trigger = event_trigger("order", {"property": "qty", "op": "in", "value": [2, 2.5, "two"]})
    campaign_id = start(services, campaign(edges=[], trigger=trigger))
    post(
        services,
        (ids["int"], "order", {"qty": 2}),
        (ids["float"], "order", {"qty": 2.0}),
        (ids["text"], "order", {"qty": "2"}),
        (ids["text_float"], "order", {"qty": "2.5"}),
        (ids["negative"], "order", {"qty": -2}),
        (ids["word"], "order", {"qty": "two"}),
        (ids["two_dots"], "order", {"qty": "2.5.1"}),
        (ids["object"], "order", {"qty": {"n": 2}}),
    )
    advance(services, minutes=1)
    assert sorted(customer for customer, _ in entered(services, campaign_id)) == sorted(
        ids[name] for name in ("int", "float", "text", "text_float", "word")
    )

    second = start(
        services,
        campaign(edges=[], trigger=event_trigger("refund", {"property": "amount", "op": "gte", "value": -5.5})),
    )
    post(
        services,
        (ids["int"], "refund", {"amount": "-5.5"}),
        (ids["float"], "refund", {"amount": "-5.6"}),
        (ids["text"], "refund", {"amount": "--5"}),
        (ids["word"], "refund", {"amount": "1e3"}),
        (ids["negative"], "refund", {"amount": 1e3}),
    )
    advance(services, minutes=1)
    assert sorted(customer for customer, _ in entered(services, second)) == sorted([ids["int"], ids["negative"]])


def test_boolean_property(services: Services) -> None:
    ids = add_customers(services, *({"external_id": name} for name in ("yes", "no", "text", "absent")))
    trigger = event_trigger("signup", {"property": "vip", "op": "equals", "value": True})
    campaign_id = start(services, campaign(edges=[], trigger=trigger))
    post(
        services,
        (ids["yes"], "signup", {"vip": True}),
        (ids["no"], "signup", {"vip": False}),
        (ids["text"], "signup", {"vip": "maybe"}),
        (ids["absent"], "signup", {}),
    )
    advance(services, minutes=1)
    assert [customer for customer, _ in entered(services, campaign_id)] == [ids["yes"]]


def test_events_of_a_paused_campaign_do_not_enter(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "email": "ann@example.com"})
    campaign_id = start(
        services, campaign(email_node("e1"), edges=[("trigger", "e1")], trigger=event_trigger("signup"))
    )
    services.campaigns.transition(campaign_id, "pause")
    post(services, (ids["ann"], "signup", {}))
    advance(services, hours=1)
    assert entered(services, campaign_id) == []
    services.campaigns.transition(campaign_id, "activate")
    advance(services, hours=1)
    assert entered(services, campaign_id) == []  # the event happened while paused: it is not replayed
    assert mailbox_count(services) == 0
    post(services, (ids["ann"], "signup", {}))
    advance(services, minutes=1)
    assert entered(services, campaign_id) == [(ids["ann"], START + timedelta(hours=2))]


def test_events_of_a_stopped_or_draft_campaign_do_not_enter(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann"})
    draft = int(services.campaigns.create(campaign(edges=[], trigger=event_trigger("signup")))["id"])
    stopped = start(services, campaign(edges=[], trigger=event_trigger("signup")))
    services.campaigns.transition(stopped, "stop")
    post(services, (ids["ann"], "signup", {}))
    advance(services, minutes=1)
    assert entered(services, draft) == []
    assert entered(services, stopped) == []


# -- date_has_come -------------------------------------------------------------------------------------
def test_date_has_come_fires_once_at_the_local_hour_and_enrols_the_whole_base(services: Services) -> None:
    set_timezone(services, "Europe/Riga")
    ids = add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(3)))
    trigger = {"id": "trigger", "type": "date_has_come", "config": {"date": "2026-01-07", "hour": 9}}
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")], trigger=trigger))
    fire = datetime(2026, 1, 7, 7, 0, tzinfo=UTC)  # 09:00 in Riga
    assert next_fire(services, campaign_id) == fire

    advance_to(services, fire - timedelta(minutes=1))
    assert entered(services, campaign_id) == []
    advance_to(services, fire)
    assert sorted(entered(services, campaign_id)) == sorted((customer, fire) for customer in ids.values())
    assert mailbox_count(services) == 3
    assert next_fire(services, campaign_id) is None

    add_customers(services, {"external_id": "newcomer", "email": "new@example.com"})
    advance_to(services, fire + timedelta(days=40))
    assert len(entry_rows(services, campaign_id)) == 3
    assert mailbox_count(services) == 3


def test_date_has_come_at_midnight_by_default(services: Services) -> None:
    set_timezone(services, "Europe/Riga")
    ids = add_customers(services, {"external_id": "ann"})
    trigger = {"id": "trigger", "type": "date_has_come", "config": {"date": "2026-03-30"}}
    campaign_id = start(services, campaign(edges=[], trigger=trigger))
    advance_to(services, datetime(2026, 3, 29, 20, 59, tzinfo=UTC))
    assert entered(services, campaign_id) == []
    advance_to(services, datetime(2026, 4, 2, tzinfo=UTC))
    assert entered(services, campaign_id) == [(ids["ann"], datetime(2026, 3, 29, 21, 0, tzinfo=UTC))]


def test_a_date_already_past_at_activation_never_fires(services: Services) -> None:
    add_customers(services, {"external_id": "ann"})
    trigger = {"id": "trigger", "type": "date_has_come", "config": {"date": "2026-01-05", "hour": 9}}
    campaign_id = start(services, campaign(edges=[], trigger=trigger))
    assert next_fire(services, campaign_id) is None
    advance(services, days=3)
    assert entered(services, campaign_id) == []


# -- repeated_date -------------------------------------------------------------------------------------
def repeated(**config: Any) -> dict[str, Any]:
    return {"id": "trigger", "type": "repeated_date", "config": config}


def test_weekly_on_monday_and_thursday_at_nine_over_two_weeks(services: Services) -> None:
    set_timezone(services, "Europe/Riga")
    ids = add_customers(
        services, {"external_id": "ann", "email": "ann@example.com"}, {"external_id": "bob", "email": "bob@example.com"}
    )
    trigger = repeated(frequency="weekly", weekdays=["mon", "thu"], hour=9)
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")], trigger=trigger))
    # Monday 2026-01-05 09:00 Riga (07:00Z) had passed at activation (10:00Z)
    expected = [datetime(2026, 1, day, 7, 0, tzinfo=UTC) for day in (8, 12, 15, 19)]
    advance_to(services, datetime(2026, 1, 19, 10, 0, tzinfo=UTC))
    assert fire_times(services, campaign_id) == expected
    assert len(entry_rows(services, campaign_id)) == 8
    assert mailbox_count(services, "ann@example.com") == 4
    trigger_rows = [row for row in trace_rows(services, ids["bob"]) if row["node_id"] == "trigger"]
    assert [row["at"] for row in trigger_rows] == expected
    assert next_fire(services, campaign_id) == datetime(2026, 1, 22, 7, 0, tzinfo=UTC)


def test_weekly_keeps_the_local_hour_across_the_dst_change(services: Services) -> None:
    set_timezone(services, "Europe/Riga")
    add_customers(services, {"external_id": "ann"})
    advance_to(services, datetime(2026, 3, 20, tzinfo=UTC))
    campaign_id = start(
        services, campaign(edges=[], trigger=repeated(frequency="weekly", weekdays=["mon", "thu"], hour=9))
    )
    advance_to(services, datetime(2026, 4, 3, tzinfo=UTC))
    assert fire_times(services, campaign_id) == [
        datetime(2026, 3, 23, 7, 0, tzinfo=UTC),
        datetime(2026, 3, 26, 7, 0, tzinfo=UTC),  # EET, UTC+2
        datetime(2026, 3, 30, 6, 0, tzinfo=UTC),
        datetime(2026, 4, 2, 6, 0, tzinfo=UTC),  # EEST, UTC+3
    ]


def test_cron_on_weekday_mornings(services: Services) -> None:
    set_timezone(services, "Europe/Riga")
    add_customers(services, {"external_id": "ann"})
    campaign_id = start(services, campaign(edges=[], trigger=repeated(frequency="cron", cron="30 8 * * 1-5")))
    advance_to(services, datetime(2026, 1, 12, 10, 0, tzinfo=UTC))
    assert fire_times(services, campaign_id) == [datetime(2026, 1, day, 6, 30, tzinfo=UTC) for day in (6, 7, 8, 9, 12)]


def test_a_daily_cron_fires_once_on_the_day_the_clocks_go_back(services: Services) -> None:
    # 2026-10-25 in Riga: 03:30 happens twice (00:30Z in summer time, 01:30Z in winter time). Once a day is once.
    set_timezone(services, "Europe/Riga")
    add_customers(services, {"external_id": "ann"})
    advance_to(services, datetime(2026, 10, 23, 12, 0, tzinfo=UTC))
    campaign_id = start(services, campaign(edges=[], trigger=repeated(frequency="cron", cron="30 3 * * *")))
    advance_to(services, datetime(2026, 10, 27, 12, 0, tzinfo=UTC))
    assert fire_times(services, campaign_id) == [
        datetime(2026, 10, 24, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
        datetime(2026, 10, 27, 1, 30, tzinfo=UTC),
    ]


def test_a_cron_time_in_the_spring_gap_fires_when_the_gap_ends(services: Services) -> None:
    set_timezone(services, "Europe/Riga")
    add_customers(services, {"external_id": "ann"})
    advance_to(services, datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    campaign_id = start(services, campaign(edges=[], trigger=repeated(frequency="cron", cron="30 3 * * *")))
    advance_to(services, datetime(2026, 3, 30, 12, 0, tzinfo=UTC))
    assert fire_times(services, campaign_id) == [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 03:30 does not exist: 04:00 EEST
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    ]


def test_a_paused_schedule_does_not_fire_and_resumes_from_the_next_occurrence(services: Services) -> None:
    add_customers(services, {"external_id": "ann"})
    campaign_id = start(services, campaign(edges=[], trigger=repeated(frequency="daily", hour=9)))
    services.campaigns.transition(campaign_id, "pause")
    advance_to(services, datetime(2026, 1, 8, 12, 0, tzinfo=UTC))
    assert fire_times(services, campaign_id) == []
    services.campaigns.transition(campaign_id, "activate")
    advance_to(services, datetime(2026, 1, 10, 12, 0, tzinfo=UTC))
    assert fire_times(services, campaign_id) == [
        datetime(2026, 1, 9, 9, 0, tzinfo=UTC),
        datetime(2026, 1, 10, 9, 0, tzinfo=UTC),
    ]
