"""Subscriptions, memberships, order aggregates, events, messages and campaign participation, on SQLite and
PostgreSQL. Now is 2026-01-05 10:00 UTC (a Monday); the account time zone is UTC unless a test says otherwise."""

from __future__ import annotations

from typing import Any

from tests.segments.world import World, at


def check(world: World, condition: dict[str, Any], expected: set[str]) -> None:
    assert world.select(condition) == expected, condition
    assert world.expected(condition) == expected, condition


def test_channel_and_category_subscriptions(world: World) -> None:
    world.category("news")
    default = world.customer("default")
    out = world.customer("opted_out")
    reader = world.customer("reader")
    refuser = world.customer("refuser")
    world.channel(out, "email", "N")
    world.channel(reader, "email", "Y")
    world.subscribe(reader, "news", "email", "Y")
    world.subscribe(refuser, "news", "email", "N")
    world.subscribe(out, "news", "sms", "Y")
    assert default.channels == {}
    check(world, {"subscription": {"channel": "email"}}, {"default", "reader", "refuser"})
    check(world, {"subscription": {"channel": "email"}, "op": "unsubscribed"}, {"opted_out"})
    check(world, {"subscription": {"channel": "email", "category": "news"}}, {"reader"})
    check(world, {"subscription": {"channel": "sms", "category": "news"}}, {"opted_out"})
    check(
        world,
        {"subscription": {"channel": "email", "category": "news"}, "op": "unsubscribed"},
        {"default", "opted_out", "refuser"},
    )
    check(world, {"subscription": {"channel": "email", "category": "missing"}}, set())


def test_audience_and_segment_membership(world: World) -> None:
    world.audience(1)
    world.audience(2)
    world.segment(5)
    a = world.customer("a")
    b = world.customer("b")
    world.customer("c")
    world.join_audience(a, 1)
    world.join_audience(b, 2)
    world.join_segment(b, 5)
    check(world, {"audience": 1}, {"a"})
    check(world, {"audience": 1, "op": "not_member"}, {"b", "c"})
    check(world, {"segment": 5, "op": "member"}, {"b"})
    check(world, {"segment": 5, "op": "not_member"}, {"a", "c"})


def orders_world(world: World) -> None:
    one = world.customer("one")
    two = world.customer("two")
    world.customer("none")
    world.order(one, 100, at("2026-01-04"), lines=[("shoe", "footwear", 60), ("sock", "footwear", 40)])
    world.order(two, 30, at("2025-11-01"), kind="receipt", store="riga", lines=[("bag", "bags", 30)])
    world.order(two, 70.5, at("2026-01-02"), status="cancelled", lines=[("shoe", "footwear", 70.5)])
    world.order(two, 20, at("2026-01-05", "09:00"), kind="receipt", store="tallinn", lines=[("sock", "footwear", 20)])


def test_order_count_including_customers_with_none(world: World) -> None:
    orders_world(world)
    check(world, {"orders": {"metric": "count"}, "op": "eq", "value": 0}, {"none"})
    check(world, {"orders": {"metric": "count"}, "op": "gte", "value": 1}, {"one", "two"})
    check(world, {"orders": {"metric": "count"}, "op": "gt", "value": 2}, {"two"})
    check(world, {"orders": {"metric": "count"}, "op": "lt", "value": 1.5}, {"one", "none"})
    check(world, {"orders": {"metric": "count"}, "op": "lte", "value": 2}, {"one", "none"})
    check(world, {"orders": {"metric": "count"}, "op": "ne", "value": 1}, {"two", "none"})
    check(world, {"orders": {"metric": "count"}, "op": "eq", "value": 1.5}, set())
    check(world, {"orders": {"metric": "count"}, "op": "between", "value": [0.5, 3]}, {"one", "two"})
    check(world, {"orders": {"kind": "receipt", "metric": "count"}, "op": "eq", "value": 2}, {"two"})
    check(world, {"orders": {"kind": "order", "metric": "count"}, "op": "eq", "value": 1}, {"one", "two"})
    check(world, {"orders": {"metric": "count", "status": "paid"}, "op": "eq", "value": 1}, {"one"})
    check(world, {"orders": {"metric": "count", "store": "riga"}, "op": "gte", "value": 1}, {"two"})
    check(world, {"orders": {"metric": "count", "product": "shoe"}, "op": "gte", "value": 1}, {"one", "two"})
    check(world, {"orders": {"metric": "count", "category": "footwear"}, "op": "eq", "value": 2}, {"two"})
    check(
        world,
        {"orders": {"metric": "count", "product": "sock", "category": "bags"}, "op": "gte", "value": 1},
        set(),
    )


def test_order_count_in_a_period(world: World) -> None:
    orders_world(world)
    last_3_days = {"metric": "count", "period": {"last_days": 3}}  # 2026-01-02 .. 2026-01-05
    check(world, {"orders": last_3_days, "op": "eq", "value": 2}, {"two"})
    check(world, {"orders": {**last_3_days, "period": {"last_days": 0}}, "op": "eq", "value": 1}, {"two"})
    november = {"metric": "count", "period": {"between": ["2025-11-01", "2025-11-30"]}}
    check(world, {"orders": november, "op": "gte", "value": 1}, {"two"})


def test_order_sum_and_average(world: World) -> None:
    orders_world(world)
    check(world, {"orders": {"metric": "sum"}, "op": "eq", "value": 0}, {"none"})
    check(world, {"orders": {"metric": "sum"}, "op": "eq", "value": 120.5}, {"two"})
    check(world, {"orders": {"metric": "sum"}, "op": "gte", "value": 100}, {"one", "two"})
    check(world, {"orders": {"metric": "sum", "product": "shoe"}, "op": "eq", "value": 60}, {"one"})
    check(world, {"orders": {"metric": "sum", "category": "footwear"}, "op": "eq", "value": 90.5}, {"two"})
    check(world, {"orders": {"metric": "average"}, "op": "eq", "value": 100}, {"one"})
    check(world, {"orders": {"metric": "average"}, "op": "lt", "value": 50}, {"two"})
    check(world, {"orders": {"metric": "average"}, "op": "empty"}, {"none"})
    check(world, {"orders": {"metric": "average"}, "op": "not_empty"}, {"one", "two"})
    check(world, {"orders": {"metric": "average"}, "op": "ne", "value": 100}, {"two", "none"})
    # by line: (70.5 + 20) / 2 orders with a footwear line
    check(world, {"orders": {"metric": "average", "category": "footwear"}, "op": "eq", "value": 45.25}, {"two"})
    check(world, {"orders": {"metric": "average", "product": "bag"}, "op": "empty"}, {"one", "none"})


def test_order_first_and_last_dates(world: World) -> None:
    orders_world(world)
    check(world, {"orders": {"metric": "first_date"}, "op": "before", "value": "2026-01-01"}, {"two"})
    check(world, {"orders": {"metric": "last_date"}, "op": "days_ago", "value": 0}, {"two"})
    check(world, {"orders": {"metric": "last_date"}, "op": "in_last_days", "value": 1}, {"one", "two"})
    check(world, {"orders": {"metric": "first_date", "kind": "order"}, "op": "after", "value": "2026-01-02"}, {"one"})
    check(world, {"orders": {"metric": "last_date"}, "op": "empty"}, {"none"})
    check(world, {"orders": {"metric": "first_date"}, "op": "not_empty"}, {"one", "two"})
    check(
        world,
        {"orders": {"metric": "last_date", "store": "riga"}, "op": "between", "value": ["2025-10-01", "2025-11-01"]},
        {"two"},
    )


def test_events_counted_in_a_period_with_property_conditions(world: World) -> None:
    a = world.customer("a")
    b = world.customer("b")
    world.customer("never")
    world.event(a, "viewed", at("2026-01-05", "08:00"), product="bag", price=120)
    world.event(a, "viewed", at("2026-01-01"), product="shoe", price="45.5")
    world.event(a, "viewed", at("2025-12-01"), product="bag", price=20)
    world.event(b, "viewed", at("2025-12-20"), product="bag")
    world.event(b, "bought", at("2026-01-04"), product="bag")
    check(world, {"event": {"name": "viewed"}, "op": "at_least", "value": 3}, {"a"})
    check(world, {"event": {"name": "viewed"}, "op": "at_least", "value": 1}, {"a", "b"})
    check(world, {"event": {"name": "viewed"}, "op": "at_least", "value": 0}, {"a", "b", "never"})
    check(world, {"event": {"name": "viewed"}, "op": "at_most", "value": 1}, {"b", "never"})
    check(world, {"event": {"name": "viewed"}, "op": "at_most", "value": 0}, {"never"})
    check(world, {"event": {"name": "viewed", "period": {"last_days": 7}}, "op": "at_least", "value": 2}, {"a"})
    bags = [{"property": "product", "op": "equals", "value": "bag"}]
    check(world, {"event": {"name": "viewed", "properties": bags}, "op": "at_least", "value": 2}, {"a"})
    pricey = [{"property": "price", "op": "gt", "value": 40}]
    check(world, {"event": {"name": "viewed", "properties": pricey}, "op": "at_least", "value": 2}, {"a"})
    check(world, {"event": {"name": "viewed", "properties": pricey}, "op": "at_most", "value": 0}, {"b", "never"})


def test_days_since_the_last_event_count_account_days(world: World) -> None:
    # In Riga now is 2026-01-05 12:00; an event at 2026-01-04T22:30Z happened on the 5th there (0 days ago).
    world.timezone = "Europe/Riga"
    late = world.customer("late")
    yesterday = world.customer("yesterday")
    old = world.customer("old")
    world.customer("never")
    world.event(late, "visit", at("2026-01-04", "22:30"))
    world.event(late, "visit", at("2025-10-01"))
    world.event(yesterday, "visit", at("2026-01-04", "21:30"))
    world.event(old, "visit", at("2025-12-05"))
    check(world, {"event": {"name": "visit"}, "op": "days_since_last_lte", "value": 0}, {"late"})
    check(world, {"event": {"name": "visit"}, "op": "days_since_last_lte", "value": 1}, {"late", "yesterday"})
    check(world, {"event": {"name": "visit"}, "op": "days_since_last_gte", "value": 1}, {"yesterday", "old"})
    check(world, {"event": {"name": "visit"}, "op": "days_since_last_gte", "value": 31}, {"old"})
    check(world, {"event": {"name": "visit"}, "op": "days_since_last_gte", "value": 32}, set())
    check(world, {"not": {"event": {"name": "visit"}, "op": "days_since_last_lte", "value": 30}}, {"old", "never"})
    in_october = {"name": "visit", "period": {"between": ["2025-10-01", "2025-10-31"]}}
    check(world, {"event": in_october, "op": "days_since_last_gte", "value": 90}, {"late"})


def test_messages_received_opened_clicked(world: World) -> None:
    emailed = world.customer("emailed")  # sent by e-mail, no delivery report: received
    texted = world.customer("texted")  # SMS sent but not delivered: not received
    delivered = world.customer("delivered")
    opener = world.customer("opener")
    world.customer("nothing")
    world.message(emailed, 1, "e1", sent_at=at("2026-01-04"))
    world.message(texted, 1, "s1", channel="sms", sent_at=at("2026-01-04"))
    world.message(delivered, 2, "s1", channel="sms", sent_at=at("2025-12-01"), delivered_at=at("2025-12-02"))
    world.message(
        opener, 1, "e2", sent_at=at("2026-01-01"), opened_at=at("2026-01-03"), clicked_at=at("2026-01-03", "13:00")
    )
    check(world, {"message": {"status": "received"}}, {"emailed", "delivered", "opener"})
    check(world, {"message": {"status": "received"}, "op": "no"}, {"texted", "nothing"})
    check(world, {"message": {"campaign": 1}}, {"emailed", "opener"})
    check(world, {"message": {"campaign": 1, "node": "e2"}}, {"opener"})
    check(world, {"message": {"channel": "sms"}}, {"delivered"})
    check(world, {"message": {"status": "received", "period": {"last_days": 3}}}, {"emailed"})
    check(world, {"message": {"status": "received", "period": {"last_days": 4}}}, {"emailed", "opener"})
    check(world, {"message": {"status": "opened"}}, {"opener"})
    check(world, {"message": {"status": "clicked", "period": {"between": ["2026-01-03", "2026-01-03"]}}}, {"opener"})
    check(world, {"message": {"status": "clicked", "campaign": 2}}, set())


def test_campaign_participation(world: World) -> None:
    world.campaign(1)
    world.campaign(2)
    a = world.customer("a")
    b = world.customer("b")
    world.customer("c")
    world.entry(a, 1, at("2026-01-04"))
    world.entry(b, 1, at("2025-06-01"))
    world.entry(b, 2, at("2026-01-05", "09:59"))
    check(world, {"campaign": {"id": 1}}, {"a", "b"})
    check(world, {"campaign": {"id": 1}, "op": "not_participated"}, {"c"})
    check(world, {"campaign": {"id": 1, "period": {"last_days": 30}}}, {"a"})
    check(world, {"campaign": {"id": 2, "period": {"last_days": 0}}, "op": "participated"}, {"b"})
    check(world, {"campaign": {"id": 3}}, set())
