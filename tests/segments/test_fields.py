"""Customer fields by type — built in and declared custom attributes — on SQLite and PostgreSQL.

Each case states the customers it expects; the reference evaluator must agree (so it is checked too)."""

from __future__ import annotations

from typing import Any

from tests.segments.world import World, at


def check(world: World, condition: dict[str, Any], expected: set[str]) -> None:
    assert world.select(condition) == expected, condition
    assert world.expected(condition) == expected, condition


def test_text_operators_are_case_sensitive_on_both_databases(world: World) -> None:
    world.customer("riga", city="Riga", first_name="Anna")
    world.customer("percent", city="Rigas 100%", first_name="Ann_e")
    world.customer("blank", city="", first_name="bob")
    world.customer("none", first_name="Zed")
    check(world, {"field": "city", "op": "equals", "value": "Riga"}, {"riga"})
    check(world, {"field": "city", "op": "equals", "value": "riga"}, set())
    check(world, {"field": "city", "op": "not_equals", "value": "Riga"}, {"percent", "blank", "none"})
    check(world, {"field": "city", "op": "contains", "value": "100%"}, {"percent"})
    check(world, {"field": "city", "op": "contains", "value": "IGA"}, set())
    check(world, {"field": "first_name", "op": "starts_with", "value": "Ann_"}, {"percent"})
    check(world, {"field": "first_name", "op": "starts_with", "value": "ann"}, set())
    check(world, {"field": "first_name", "op": "starts_with", "value": "Ann"}, {"riga", "percent"})
    check(world, {"field": "first_name", "op": "in", "value": ["bob", "Zed", "Nobody"]}, {"blank", "none"})
    check(world, {"field": "city", "op": "empty"}, {"blank", "none"})
    check(world, {"field": "city", "op": "not_empty"}, {"riga", "percent"})


def test_number_operators_on_points_balance(world: World) -> None:
    for name, balance in {"zero": 0, "ten": 10, "ten_half": 10.5, "twenty": 20}.items():
        world.customer(name, points_balance=balance)
    check(world, {"field": "points_balance", "op": "eq", "value": 10.5}, {"ten_half"})
    check(world, {"field": "points_balance", "op": "ne", "value": 10}, {"zero", "ten_half", "twenty"})
    check(world, {"field": "points_balance", "op": "lt", "value": 10}, {"zero"})
    check(world, {"field": "points_balance", "op": "lte", "value": 10}, {"zero", "ten"})
    check(world, {"field": "points_balance", "op": "gt", "value": 10}, {"ten_half", "twenty"})
    check(world, {"field": "points_balance", "op": "gte", "value": 10.5}, {"ten_half", "twenty"})
    check(world, {"field": "points_balance", "op": "between", "value": [10, 20]}, {"ten", "ten_half", "twenty"})
    check(world, {"field": "points_balance", "op": "empty"}, set())


def test_date_operators_count_account_days(world: World) -> None:
    # now: 2026-01-05T10:00Z = 12:00 in Riga
    world.timezone = "Europe/Riga"
    world.customer("jan5", birthday=at("1990-01-05").date())
    world.customer("jan4", birthday=at("1985-01-04").date())
    world.customer("dec29", birthday=at("2025-12-29").date())
    world.customer("unknown")
    check(world, {"field": "birthday", "op": "before", "value": "1990-01-01"}, {"jan4"})
    check(world, {"field": "birthday", "op": "after", "value": "1990-01-05"}, {"dec29"})
    check(world, {"field": "birthday", "op": "on", "value": "1985-01-04"}, {"jan4"})
    check(world, {"field": "birthday", "op": "between", "value": ["1985-01-04", "1990-01-05"]}, {"jan4", "jan5"})
    check(world, {"field": "birthday", "op": "in_last_days", "value": 7}, {"dec29"})
    check(world, {"field": "birthday", "op": "in_last_days", "value": 6}, set())
    check(world, {"field": "birthday", "op": "days_ago", "value": 7}, {"dec29"})
    check(world, {"field": "birthday", "op": "day_and_month_today"}, {"jan5"})
    check(world, {"field": "birthday", "op": "empty"}, {"unknown"})
    check(world, {"field": "birthday", "op": "not_empty"}, {"jan5", "jan4", "dec29"})


def test_datetime_operators_take_instants_or_account_days(world: World) -> None:
    # In Riga (UTC+2), 2026-01-02 runs from 2026-01-01T22:00Z to 2026-01-02T22:00Z; now is 2026-01-05 12:00 there.
    world.timezone = "Europe/Riga"
    world.customer("jan2_early", registered_at=at("2026-01-01", "22:30"))
    world.customer("jan1_late", registered_at=at("2026-01-01", "21:59"))
    world.customer("jan3", registered_at=at("2026-01-02", "22:00"))
    world.customer("dec28", registered_at=at("2025-12-28", "21:59"))
    world.customer("unknown")
    check(world, {"field": "registered_at", "op": "days_ago", "value": 3}, {"jan2_early"})
    check(world, {"field": "registered_at", "op": "in_last_days", "value": 7}, {"jan2_early", "jan1_late", "jan3"})
    check(world, {"field": "registered_at", "op": "before", "value": "2026-01-02"}, {"jan1_late", "dec28"})
    check(world, {"field": "registered_at", "op": "after", "value": "2026-01-02"}, {"jan3"})
    check(world, {"field": "registered_at", "op": "after", "value": "2026-01-02T22:00:00Z"}, set())
    check(
        world, {"field": "registered_at", "op": "before", "value": "2026-01-01T22:00:00+00:00"}, {"jan1_late", "dec28"}
    )
    check(
        world,
        {"field": "registered_at", "op": "between", "value": ["2026-01-01", "2026-01-02"]},
        {"jan2_early", "jan1_late"},
    )
    check(
        world,
        {"field": "registered_at", "op": "between", "value": ["2026-01-01T21:59:00Z", "2026-01-01T22:30:00Z"]},
        {"jan2_early", "jan1_late"},
    )
    check(world, {"field": "registered_at", "op": "empty"}, {"unknown"})


def test_custom_text_and_number_attributes_read_only_values_of_their_type(world: World) -> None:
    world.declare("tier", "text")
    world.declare("size", "number")
    world.customer("gold", attributes={"tier": "gold", "size": 42})
    world.customer("silver", attributes={"tier": "silver", "size": "41.5"})  # a decimal string counts as a number
    world.customer("numeric_tier", attributes={"tier": 7, "size": "forty"})  # wrong types: unknown
    world.customer("bad_size", attributes={"size": "1e5"})
    world.customer("object", attributes={"tier": {"a": 1}, "size": [1]})
    world.customer("none")
    check(world, {"field": "attributes.tier", "op": "equals", "value": "gold"}, {"gold"})
    check(world, {"field": "attributes.tier", "op": "starts_with", "value": "s"}, {"silver"})
    check(world, {"field": "attributes.tier", "op": "empty"}, {"numeric_tier", "bad_size", "object", "none"})
    check(world, {"field": "attributes.tier", "op": "not_equals", "value": "gold"}, set(world.customers) - {"gold"})
    check(world, {"field": "attributes.size", "op": "gt", "value": 41}, {"gold", "silver"})
    check(world, {"field": "attributes.size", "op": "between", "value": [41.5, 41.5]}, {"silver"})
    check(world, {"field": "attributes.size", "op": "empty"}, {"numeric_tier", "bad_size", "object", "none"})
    check(world, {"field": "attributes.size", "op": "ne", "value": 42}, set(world.customers) - {"gold"})


def test_custom_boolean_date_and_datetime_attributes(world: World) -> None:
    world.declare("vip", "boolean")
    world.declare("joined", "date")
    world.declare("seen", "datetime")
    world.customer("a", attributes={"vip": True, "joined": "2026-01-05", "seen": "2026-01-05T09:00:00Z"})
    world.customer("b", attributes={"vip": False, "joined": "2025-01-05", "seen": "2026-01-04T23:30:00-02:00"})
    world.customer("c", attributes={"vip": "true", "joined": "05.01.2026", "seen": "2026-01-04 10:00"})
    world.customer("d", attributes={"seen": "2026-01-04T10:00:00.25+03:00"})
    check(world, {"field": "attributes.vip", "op": "is_true"}, {"a"})
    check(world, {"field": "attributes.vip", "op": "is_false"}, {"b", "c", "d"})
    check(world, {"field": "attributes.joined", "op": "day_and_month_today"}, {"a", "b"})
    check(world, {"field": "attributes.joined", "op": "before", "value": "2026-01-01"}, {"b"})
    check(world, {"field": "attributes.joined", "op": "in_last_days", "value": 0}, {"a"})
    check(world, {"field": "attributes.joined", "op": "empty"}, {"c", "d"})
    # b is 2026-01-05T01:30Z; d is 2026-01-04T07:00:00.25Z
    check(world, {"field": "attributes.seen", "op": "days_ago", "value": 0}, {"a", "b"})
    check(world, {"field": "attributes.seen", "op": "before", "value": "2026-01-05T01:30:00Z"}, {"d"})
    check(world, {"field": "attributes.seen", "op": "after", "value": "2026-01-04T07:00:00.2Z"}, {"a", "b", "d"})
    check(world, {"field": "attributes.seen", "op": "after", "value": "2026-01-04T07:00:00.25Z"}, {"a", "b"})
    check(world, {"field": "attributes.seen", "op": "empty"}, {"c"})


def test_an_impossible_stored_day_rolls_over_instead_of_failing(world: World) -> None:
    world.declare("seen", "datetime")
    world.customer("feb30", attributes={"seen": "2026-02-30T00:00:00Z"})  # = 2026-03-02
    world.customer("month13", attributes={"seen": "2025-13-05T00:00:00Z"})  # = 2026-01-05
    check(world, {"field": "attributes.seen", "op": "between", "value": ["2026-03-02", "2026-03-02"]}, {"feb30"})
    check(world, {"field": "attributes.seen", "op": "days_ago", "value": 0}, {"month13"})


def test_without_a_catalog_an_attribute_keeps_its_recorded_type_or_is_text(world: World) -> None:
    world.declare("size", "number")
    world.customer("big", attributes={"size": 44})
    world.customer("small", attributes={"size": 36})
    saved = world.parse({"field": "attributes.size", "op": "gt", "value": 40})
    stored = saved.model_dump(mode="json")
    assert stored == {"field": "attributes.size", "op": "gt", "value": 40, "type": "number"}
    reloaded = world.parse(stored, catalog=False)  # the engine reloads documents without the catalog
    assert world.select(reloaded) == {"big"}
    untyped = world.parse({"field": "attributes.size", "op": "equals", "value": "44"}, catalog=False)
    assert untyped.type == "text"
    assert world.select(untyped) == set()  # 44 is a number, not the text "44"
    assert world.parse({"field": "city", "op": "equals", "value": "x"}).model_dump() == {
        "field": "city",
        "op": "equals",
        "value": "x",
    }
