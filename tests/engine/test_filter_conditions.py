"""Yes/no routing of filter_customers: nested all/any/not; text, number, date and subscription conditions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.engine.helpers import (
    add_category,
    add_customers,
    advance,
    campaign,
    filter_node,
    set_points,
    set_timezone,
    start,
    subscribe_category,
    trace,
    trace_rows,
)
from tidings.services import Services


def ports(services: Services, condition: dict[str, Any], ids: dict[str, int]) -> dict[str, str | None]:
    """Enrol everyone into a fresh campaign whose only node is a filter; the port each customer left by."""
    campaign_id = start(services, campaign(filter_node("f1", condition), edges=[("trigger", "f1")]))
    assert services.campaigns.enroll(campaign_id, list(ids), None)["entered"] == len(ids)
    advance(services, minutes=1)
    result: dict[str, str | None] = {}
    for external_id, customer_id in ids.items():
        decisions = [row for row in trace_rows(services, customer_id, campaign_id) if row["node_id"] == "f1"]
        assert len(decisions) == 1, decisions
        assert decisions[0]["outcome"] == "performed"
        result[external_id] = decisions[0]["port"]
    return result


def test_nested_all_any_not_with_text_number_date_and_subscription(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "riga", "email": "a@example.com", "city": "Riga", "birthday": "1995-05-01"},
        {"external_id": "tallinn_edges", "email": "b@example.com", "city": "Tallinn", "birthday": "1990-01-01"},
        {"external_id": "oslo", "email": "c@example.com", "city": "Oslo", "birthday": "1995-05-01"},
        {"external_id": "poor", "email": "d@example.com", "city": "Riga", "birthday": "1995-05-01"},
        {"external_id": "old", "email": "e@example.com", "city": "Riga", "birthday": "1989-12-31"},
        {
            "external_id": "unsubscribed",
            "email": "f@example.com",
            "city": "Riga",
            "birthday": "1995-05-01",
            "subscriptions": {"email": False},
        },
    )
    for external_id, balance in {
        "riga": 150,
        "tallinn_edges": 100,
        "oslo": 500,
        "poor": 99.99,
        "old": 150,
        "unsubscribed": 150,
    }.items():
        set_points(services, ids[external_id], balance)
    condition = {
        "all": [
            {
                "any": [
                    {"field": "city", "op": "equals", "value": "Riga"},
                    {"field": "city", "op": "starts_with", "value": "Tal"},
                ]
            },
            {"field": "points_balance", "op": "gte", "value": 100},
            {"not": {"field": "birthday", "op": "before", "value": "1990-01-01"}},
            {"subscription": {"channel": "email"}, "op": "subscribed"},
        ]
    }
    assert ports(services, condition, ids) == {
        "riga": "yes",
        "tallinn_edges": "yes",
        "oslo": "no",
        "poor": "no",
        "old": "no",
        "unsubscribed": "no",
    }


def test_text_operators(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "t1", "city": "Riga", "first_name": "Anna"},
        {"external_id": "t2", "city": "Rigas 100%", "first_name": "Ann_e"},
        {"external_id": "t3", "city": "", "first_name": "Bob"},
        {"external_id": "t4", "first_name": "Zed"},
    )
    assert ports(services, {"field": "city", "op": "contains", "value": "100%"}, ids) == {
        "t1": "no",
        "t2": "yes",
        "t3": "no",
        "t4": "no",
    }
    assert ports(services, {"field": "first_name", "op": "starts_with", "value": "Ann_"}, ids) == {
        "t1": "no",
        "t2": "yes",
        "t3": "no",
        "t4": "no",
    }
    assert ports(services, {"field": "first_name", "op": "in", "value": ["Bob", "Zed"]}, ids) == {
        "t1": "no",
        "t2": "no",
        "t3": "yes",
        "t4": "yes",
    }
    assert ports(services, {"field": "city", "op": "empty"}, ids) == {"t1": "no", "t2": "no", "t3": "yes", "t4": "yes"}
    assert ports(services, {"field": "city", "op": "not_equals", "value": "Riga"}, ids) == {
        "t1": "no",
        "t2": "yes",
        "t3": "yes",
        "t4": "yes",
    }


def test_not_condition_is_stored_and_returned_under_its_own_key(services: Services) -> None:
    """Regression: `not` was saved as `not_`, so a campaign using it could not even be activated."""
    condition = {"all": [{"not": {"field": "city", "op": "equals", "value": "Riga"}}]}
    ids = add_customers(services, {"external_id": "oslo", "city": "Oslo"}, {"external_id": "riga", "city": "Riga"})
    campaign_id = start(services, campaign(filter_node("f1", condition), edges=[("trigger", "f1")]))
    stored = services.campaigns.get(campaign_id)["document"]["nodes"][0]["config"]["condition"]
    assert stored == {"all": [{"not": {"field": "city", "op": "equals", "value": "Riga"}}]}
    services.campaigns.enroll(campaign_id, ["oslo", "riga"], None)
    advance(services, minutes=1)
    assert trace(services, ids["oslo"])[-1] == ("f1", "performed", "yes", None)
    assert trace(services, ids["riga"])[-1] == ("f1", "performed", "no", None)


def test_not_is_the_complement_even_for_unknown_values(services: Services) -> None:
    """`not X` routes to `yes` exactly the customers `X` routes to `no` — also those with an empty field."""
    ids = add_customers(
        services,
        {"external_id": "riga", "city": "Riga", "birthday": "1980-01-01"},
        {"external_id": "oslo", "city": "Oslo", "birthday": "1999-01-01"},
        {"external_id": "unknown"},
    )
    for condition in (
        {"field": "city", "op": "equals", "value": "Riga"},
        {"field": "birthday", "op": "before", "value": "1990-01-01"},
    ):
        plain = ports(services, condition, ids)
        negated = ports(services, {"not": condition}, ids)
        assert plain["unknown"] == "no"
        assert negated == {key: "no" if port == "yes" else "yes" for key, port in plain.items()}
    assert ports(services, {"not": {"field": "city", "op": "equals", "value": "Riga"}}, ids) == ports(
        services, {"field": "city", "op": "not_equals", "value": "Riga"}, ids
    )


def test_number_operators(services: Services) -> None:
    ids = add_customers(services, *({"external_id": f"n{i}"} for i in range(4)))
    for external_id, balance in {"n0": 0, "n1": 10, "n2": 10.5, "n3": 20}.items():
        set_points(services, ids[external_id], balance)
    assert ports(services, {"field": "points_balance", "op": "between", "value": [10, 20]}, ids) == {
        "n0": "no",
        "n1": "yes",
        "n2": "yes",
        "n3": "yes",
    }
    assert ports(services, {"field": "points_balance", "op": "gt", "value": 10}, ids) == {
        "n0": "no",
        "n1": "no",
        "n2": "yes",
        "n3": "yes",
    }
    assert ports(services, {"field": "points_balance", "op": "lt", "value": 10.5}, ids) == {
        "n0": "yes",
        "n1": "yes",
        "n2": "no",
        "n3": "no",
    }
    assert ports(services, {"field": "points_balance", "op": "eq", "value": 10.5}, ids) == {
        "n0": "no",
        "n1": "no",
        "n2": "yes",
        "n3": "no",
    }


def test_date_operators_use_the_account_day(services: Services) -> None:
    # Now is 2026-01-05T10:00Z = 12:00 in Riga. In Riga, 2026-01-02 runs from 2026-01-01T22:00Z to 2026-01-02T22:00Z.
    set_timezone(services, "Europe/Riga")
    ids = add_customers(
        services,
        {"external_id": "jan2_early", "registered_at": "2026-01-01T22:30:00Z", "birthday": "1990-01-05"},
        {"external_id": "jan1_late", "registered_at": "2026-01-01T21:59:00Z", "birthday": "1990-01-06"},
        {"external_id": "jan3", "registered_at": "2026-01-02T22:00:00Z", "birthday": "1985-01-04"},
        {"external_id": "last_year", "registered_at": "2025-12-28T21:59:00Z"},
    )
    assert ports(services, {"field": "registered_at", "op": "days_ago", "value": 3}, ids) == {
        "jan2_early": "yes",
        "jan1_late": "no",
        "jan3": "no",
        "last_year": "no",
    }
    # the last 7 days: 2025-12-29 .. 2026-01-05, Riga days
    assert ports(services, {"field": "registered_at", "op": "in_last_days", "value": 7}, ids) == {
        "jan2_early": "yes",
        "jan1_late": "yes",
        "jan3": "yes",
        "last_year": "no",
    }
    assert ports(services, {"field": "registered_at", "op": "after", "value": "2026-01-02T22:00:00Z"}, ids) == {
        "jan2_early": "no",
        "jan1_late": "no",
        "jan3": "no",
        "last_year": "no",
    }
    assert ports(services, {"field": "registered_at", "op": "before", "value": "2026-01-01T22:00:00+00:00"}, ids) == {
        "jan2_early": "no",
        "jan1_late": "yes",
        "jan3": "no",
        "last_year": "yes",
    }
    assert ports(services, {"field": "birthday", "op": "day_and_month_today"}, ids) == {
        "jan2_early": "yes",
        "jan1_late": "no",
        "jan3": "no",
        "last_year": "no",
    }
    assert ports(services, {"field": "birthday", "op": "between", "value": ["1985-01-04", "1990-01-05"]}, ids) == {
        "jan2_early": "yes",
        "jan1_late": "no",
        "jan3": "yes",
        "last_year": "no",
    }
    assert ports(services, {"field": "birthday", "op": "on", "value": "1990-01-06"}, ids) == {
        "jan2_early": "no",
        "jan1_late": "yes",
        "jan3": "no",
        "last_year": "no",
    }
    assert ports(services, {"field": "birthday", "op": "empty"}, ids) == {
        "jan2_early": "no",
        "jan1_late": "no",
        "jan3": "no",
        "last_year": "yes",
    }


def test_channel_and_category_subscriptions(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "default", "email": "a@example.com"},
        {"external_id": "opted_in", "email": "b@example.com", "subscriptions": {"email": True}},
        {"external_id": "opted_out", "email": "c@example.com", "subscriptions": {"email": False, "sms": True}},
        {"external_id": "news_reader", "email": "d@example.com"},
        {"external_id": "news_refuser", "email": "e@example.com"},
    )
    news = add_category(services, "news")
    subscribe_category(services, ids["news_reader"], news, "Y")
    subscribe_category(services, ids["news_refuser"], news, "N")
    subscribe_category(services, ids["opted_out"], news, "Y", channel="sms")
    assert ports(services, {"subscription": {"channel": "email"}, "op": "subscribed"}, ids) == {
        "default": "yes",
        "opted_in": "yes",
        "opted_out": "no",
        "news_reader": "yes",
        "news_refuser": "yes",
    }
    assert ports(services, {"subscription": {"channel": "sms"}, "op": "unsubscribed"}, ids) == {
        "default": "no",
        "opted_in": "no",
        "opted_out": "no",
        "news_reader": "no",
        "news_refuser": "no",
    }
    assert ports(services, {"subscription": {"channel": "email", "category": "news"}, "op": "subscribed"}, ids) == {
        "default": "no",
        "opted_in": "no",
        "opted_out": "no",
        "news_reader": "yes",
        "news_refuser": "no",
    }
    assert ports(
        services,
        {
            "any": [
                {"subscription": {"channel": "sms", "category": "news"}},
                {
                    "all": [
                        {"subscription": {"channel": "email", "category": "news"}, "op": "unsubscribed"},
                        {"field": "email", "op": "starts_with", "value": "e@"},
                    ]
                },
            ]
        },
        ids,
    ) == {"default": "no", "opted_in": "no", "opted_out": "yes", "news_reader": "no", "news_refuser": "yes"}


def test_condition_is_evaluated_when_the_customer_reaches_the_filter(services: Services) -> None:
    """Live data at arrival time, not at entry time: a city changed during a wait changes the route."""
    ids = add_customers(services, {"external_id": "mover", "city": "Oslo"})
    document = campaign(
        {"id": "w1", "type": "wait", "config": {"amount": 1, "unit": "days"}},
        filter_node("f1", {"field": "city", "op": "equals", "value": "Riga"}),
        edges=[("trigger", "w1"), ("w1", "f1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, ["mover"], None)
    advance(services, hours=1)
    add_customers(services, {"external_id": "mover", "city": "Riga"})
    advance(services, days=1)
    assert trace(services, ids["mover"])[-1] == ("f1", "performed", "yes", None)
    assert services.clock.now() == datetime(2026, 1, 6, 11, 0, tzinfo=UTC)
