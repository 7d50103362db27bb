"""Nesting: all / any / not over every leaf kind, compiled to one SQL expression with bound parameters only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.segments.world import World, at
from tidings.segments.compiler import ConditionCompiler
from tidings.store.tables import customers


def check(world: World, condition: dict[str, Any], expected: set[str]) -> None:
    assert world.select(condition) == expected, condition
    assert world.expected(condition) == expected, condition


def populate(world: World) -> None:
    world.declare("size", "number")
    world.audience(1)
    world.segment(2)
    world.campaign(3)
    ann = world.customer("ann", city="Riga", points_balance=150, attributes={"size": 38})
    bob = world.customer("bob", city="Tallinn", points_balance=20, attributes={"size": 44})
    cat = world.customer("cat", city="Riga", points_balance=500)
    world.customer("dan")
    world.order(ann, 80, at("2026-01-03"))
    world.order(ann, 20, at("2025-12-01"))
    world.order(bob, 300, at("2026-01-04"))
    world.event(cat, "viewed", at("2026-01-04"), product="bag")
    world.event(bob, "viewed", at("2025-11-04"), product="bag")
    world.join_audience(cat, 1)
    world.join_segment(bob, 2)
    world.message(ann, 3, "e1", sent_at=at("2026-01-02"), opened_at=at("2026-01-02", "13:00"))
    world.entry(ann, 3, at("2026-01-01"))


def test_empty_groups(world: World) -> None:
    populate(world)
    check(world, {"all": []}, {"ann", "bob", "cat", "dan"})
    check(world, {"any": []}, set())
    check(world, {"not": {"any": []}}, {"ann", "bob", "cat", "dan"})
    check(world, {"all": [{"any": []}]}, set())


def test_deep_nesting_over_every_kind(world: World) -> None:
    populate(world)
    condition = {
        "any": [
            {
                "all": [
                    {"field": "city", "op": "equals", "value": "Riga"},
                    {"orders": {"metric": "count", "period": {"last_days": 7}}, "op": "gte", "value": 1},
                    {"message": {"campaign": 3, "status": "opened"}},
                    {"campaign": {"id": 3}},
                ]
            },
            {
                "all": [
                    {"segment": 2},
                    {"not": {"event": {"name": "viewed", "period": {"last_days": 30}}, "op": "at_least", "value": 1}},
                    {"field": "attributes.size", "op": "gt", "value": 40},
                ]
            },
            {"all": [{"audience": 1}, {"not": {"field": "points_balance", "op": "lt", "value": 100}}]},
        ]
    }
    check(world, condition, {"ann", "bob", "cat"})
    check(world, {"not": condition}, {"dan"})
    check(world, {"all": [condition, {"not": {"field": "city", "op": "equals", "value": "Riga"}}]}, {"bob"})


def test_not_is_the_exact_complement_of_an_unknown_comparison(world: World) -> None:
    """A comparison with an unknown value is neither true nor false in SQL; `not` makes it false → true, so
    `X` and `not X` always split the customers in two, whatever `X` is."""
    populate(world)
    everyone = set(world.customers)
    for leaf in (
        {"field": "attributes.size", "op": "lt", "value": 40},
        {"orders": {"metric": "average"}, "op": "gt", "value": 10},
        {"orders": {"metric": "last_date"}, "op": "after", "value": "2025-12-15"},
        {"event": {"name": "viewed"}, "op": "days_since_last_gte", "value": 3},
        {
            "any": [
                {"field": "city", "op": "equals", "value": "Oslo"},
                {"field": "attributes.size", "op": "gt", "value": 1},
            ]
        },
    ):
        plain = world.select(leaf)
        assert world.select({"not": leaf}) == everyone - plain, leaf
        assert world.select({"not": {"not": leaf}}) == plain, leaf
        assert world.expected({"not": leaf}) == everyone - plain, leaf


def test_one_expression_with_bound_parameters_only(world: World) -> None:
    """User values never appear in the SQL text: they are bound parameters (no injection, cacheable plans)."""
    populate(world)
    marker = "Riga'; DROP TABLE customers; --"
    condition = world.parse(
        {
            "all": [
                {"field": "city", "op": "contains", "value": marker},
                {"field": "attributes.size", "op": "gte", "value": 31337},
                {"orders": {"metric": "sum", "product": "sku-777", "store": "store-888"}, "op": "gt", "value": 4242},
                {
                    "event": {"name": "ev-555", "properties": [{"property": "p", "op": "equals", "value": "v-999"}]},
                    "op": "at_least",
                    "value": 3,
                },
                {"message": {"campaign": 3, "node": "node-666"}},
            ]
        }
    )
    where = ConditionCompiler(world.now, world.timezone).compile(condition)
    statement = select(customers.c.id).where(where)
    with world.engine.connect() as conn:
        sql = str(statement.compile(dialect=conn.dialect))
        assert conn.execute(statement).all() == []
    for value in (marker, "31337", "sku-777", "store-888", "4242", "ev-555", "v-999", "node-666"):
        assert value not in sql
