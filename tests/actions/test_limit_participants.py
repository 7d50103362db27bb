"""Limit number of participants (D4): the first N of a period pass, the rest drop with `limit_reached`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.actions.helpers import campaign_row, entry_count, node, node_metrics
from tests.engine.helpers import (
    add_customers,
    advance,
    advance_to,
    campaign,
    chunks_at_once,
    counters,
    email_node,
    mailbox_count,
    post_events,
    set_timezone,
    start,
    trace,
    unbalanced_counters,
    wait_node,
    where_is,
)
from tidings.actions.limit_participants import period_key
from tidings.core.errors import DocumentInvalid
from tidings.document.validation import parse_document
from tidings.services import Services
from tidings.store.tables import limit_counters

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # 12:00 in Riga (UTC+2 in winter)
RIGA_MIDNIGHT = datetime(2026, 1, 5, 22, 0, tzinfo=UTC)  # 00:00 on the 6th in Riga, still the 5th in UTC


def limit(node_id: str, count: int, period: str) -> dict[str, Any]:
    return node(node_id, "limit_participants", limit=count, period=period)


def people(services: Services, count: int) -> dict[str, int]:
    return add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(count)))


def limit_rows(services: Services) -> dict[str, int]:
    query = select(limit_counters.c.period, limit_counters.c.passed).order_by(limit_counters.c.period)
    with services.db.engine.connect() as conn:
        return {period: int(passed) for period, passed in conn.execute(query)}


def test_a_daily_limit_resets_at_midnight_in_the_account_time_zone(services: Services) -> None:
    set_timezone(services, "Europe/Riga")
    ids = people(services, 9)
    document = campaign(limit("l1", 3, "day"), wait_node("w1", 2), edges=[("trigger", "l1"), ("l1", "w1")])
    campaign_id = start(services, document)

    services.campaigns.enroll(campaign_id, ["c0", "c1", "c2", "c3"], None)
    advance(services, minutes=1)
    assert [where_is(services, ids[f"c{i}"]) for i in range(4)] == [["w1"], ["w1"], ["w1"], []]
    assert trace(services, ids["c3"])[-1] == ("l1", "dropped", None, "limit_reached")

    advance_to(services, RIGA_MIDNIGHT - timedelta(minutes=1))  # 23:59 in Riga: still day 1
    services.campaigns.enroll(campaign_id, ["c4"], None)
    advance(services, seconds=30)
    assert trace(services, ids["c4"])[-1] == ("l1", "dropped", None, "limit_reached")

    advance_to(services, RIGA_MIDNIGHT)  # a new day in Riga (not yet in UTC)
    services.campaigns.enroll(campaign_id, ["c5", "c6", "c7", "c8"], None)
    advance(services, minutes=1)
    assert [where_is(services, ids[f"c{i}"]) for i in range(5, 9)] == [["w1"], ["w1"], ["w1"], []]
    assert trace(services, ids["c8"])[-1] == ("l1", "dropped", None, "limit_reached")

    assert limit_rows(services) == {"2026-01-05": 3, "2026-01-06": 3}
    assert node_metrics(counters(services, campaign_id), "l1") == {
        "entered": 9,
        "performed": 6,
        "port:out": 6,
        "dropped:limit_reached": 3,
    }
    assert campaign_row(services, campaign_id)["status_reason"] is None  # a periodic limit never closes entry
    assert unbalanced_counters(services, campaign_id) == {}


def test_the_first_customers_of_a_chunk_pass_in_order(services: Services) -> None:
    ids = people(services, 5)
    campaign_id = start(services, campaign(limit("l1", 2, "week"), edges=[("trigger", "l1")]))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert [trace(services, ids[f"c{i}"])[-1][1] for i in range(5)] == [
        "performed",
        "performed",
        "dropped",
        "dropped",
        "dropped",
    ]
    assert limit_rows(services) == {"2026-W02": 2}


def test_a_whole_campaign_limit_stops_new_entries_and_lets_those_past_it_continue(services: Services) -> None:
    ids = people(services, 5)
    document = campaign(
        limit("l1", 2, "campaign"),
        wait_node("w1", 1),
        email_node("e1"),
        edges=[("trigger", "l1"), ("l1", "w1"), ("w1", "e1")],
    )
    campaign_id = start(services, document)
    assert services.campaigns.enroll(campaign_id, ["c0", "c1", "c2"], None)["entered"] == 3
    advance(services, minutes=1)
    assert trace(services, ids["c2"])[-1] == ("l1", "dropped", None, "limit_reached")
    row = campaign_row(services, campaign_id)
    assert row["status"] == "active"
    assert row["status_reason"] == "participant limit reached at node l1: no new entries"
    assert services.campaigns.get(campaign_id)["status_reason"] == row["status_reason"]

    assert services.campaigns.enroll(campaign_id, ["c3", "c4"], None) == {
        "entered": 0,
        "not_entered": 2,
        "unknown_customers": [],
    }
    advance(services, days=1)
    assert mailbox_count(services) == 2  # c0 and c1 went on to the e-mail
    assert trace(services, ids["c1"])[-1] == ("e1", "performed", "out", None)
    assert entry_count(services, campaign_id) == 3
    assert limit_rows(services) == {"all": 2}


def test_reaching_the_whole_campaign_limit_exactly_closes_entry(services: Services) -> None:
    people(services, 3)
    campaign_id = start(services, campaign(limit("l1", 2, "campaign"), edges=[("trigger", "l1")]))
    services.campaigns.enroll(campaign_id, ["c0", "c1"], None)
    advance(services, minutes=1)
    assert node_metrics(counters(services, campaign_id), "l1")["performed"] == 2
    assert services.campaigns.enroll(campaign_id, ["c2"], None)["entered"] == 0


def test_after_a_pause_the_campaign_stays_closed_and_says_why_again(services: Services) -> None:
    people(services, 3)
    campaign_id = start(services, campaign(limit("l1", 1, "campaign"), edges=[("trigger", "l1")]))
    services.campaigns.enroll(campaign_id, ["c0"], None)
    advance(services, minutes=1)
    services.campaigns.transition(campaign_id, "pause")
    services.campaigns.transition(campaign_id, "activate")
    assert services.campaigns.enroll(campaign_id, ["c1"], None)["entered"] == 0
    assert (
        campaign_row(services, campaign_id)["status_reason"] == "participant limit reached at node l1: no new entries"
    )


def test_raising_a_reached_whole_campaign_limit_reopens_entry(services: Services) -> None:
    people(services, 3)
    campaign_id = start(services, campaign(limit("l1", 1, "campaign"), edges=[("trigger", "l1")]))
    services.campaigns.enroll(campaign_id, ["c0"], None)
    advance(services, minutes=1)
    assert services.campaigns.enroll(campaign_id, ["c1"], None)["entered"] == 0
    assert campaign_row(services, campaign_id)["status_reason"] is not None
    services.campaigns.update(campaign_id, campaign(limit("l1", 2, "campaign"), edges=[("trigger", "l1")]))
    assert services.campaigns.enroll(campaign_id, ["c1"], None)["entered"] == 1
    assert campaign_row(services, campaign_id)["status_reason"] is None
    advance(services, minutes=1)
    assert limit_rows(services) == {"all": 2}


def test_below_the_whole_campaign_limit_entry_stays_open(services: Services) -> None:
    people(services, 3)
    campaign_id = start(services, campaign(limit("l1", 3, "campaign"), edges=[("trigger", "l1")]))
    services.campaigns.enroll(campaign_id, ["c0", "c1"], None)
    advance(services, minutes=1)
    assert services.campaigns.enroll(campaign_id, ["c2"], None)["entered"] == 1
    assert campaign_row(services, campaign_id)["status_reason"] is None


def test_a_closed_campaign_ignores_its_trigger_events(services: Services) -> None:
    ids = people(services, 2)
    trigger = {"id": "trigger", "type": "event_occurred", "config": {"event": "visit"}}
    campaign_id = start(services, campaign(limit("l1", 1, "campaign"), edges=[("trigger", "l1")], trigger=trigger))
    post_events(services, (ids["c0"], "visit", {}))
    advance(services, minutes=1)
    assert entry_count(services, campaign_id) == 1
    post_events(services, (ids["c1"], "visit", {}))
    advance(services, minutes=1)
    assert entry_count(services, campaign_id) == 1
    assert trace(services, ids["c1"]) == []


def test_concurrent_chunks_at_one_limit_never_let_more_than_the_limit_through(services: Services) -> None:
    ids = people(services, 8)
    campaign_id = start(
        services, campaign(limit("l1", 5, "campaign"), wait_node("w1", 1), edges=[("trigger", "l1"), ("l1", "w1")])
    )
    services.campaigns.enroll(campaign_id, list(ids), None)
    chunks_at_once(services, campaign_id, "l1", 4, 4)
    assert limit_rows(services) == {"all": 5}
    values = node_metrics(counters(services, campaign_id), "l1")
    assert (values["performed"], values["dropped:limit_reached"]) == (5, 3)
    assert sum(where_is(services, customer) == ["w1"] for customer in ids.values()) == 5


@pytest.mark.parametrize(
    ("period", "moment", "timezone", "key"),
    [
        ("campaign", datetime(2026, 5, 1, 12, tzinfo=UTC), "UTC", "all"),
        ("day", datetime(2026, 1, 5, 21, 59, tzinfo=UTC), "Europe/Riga", "2026-01-05"),
        ("day", datetime(2026, 1, 5, 22, 0, tzinfo=UTC), "Europe/Riga", "2026-01-06"),
        ("day", datetime(2026, 1, 5, 3, 0, tzinfo=UTC), "America/New_York", "2026-01-04"),
        ("week", datetime(2026, 1, 4, 21, 59, tzinfo=UTC), "Europe/Riga", "2026-W01"),  # Sunday 23:59
        ("week", datetime(2026, 1, 4, 22, 0, tzinfo=UTC), "Europe/Riga", "2026-W02"),  # Monday 00:00
        ("week", datetime(2027, 1, 1, 12, 0, tzinfo=UTC), "UTC", "2026-W53"),  # ISO year of the week
        ("month", datetime(2026, 1, 31, 21, 59, tzinfo=UTC), "Europe/Riga", "2026-01"),
        ("month", datetime(2026, 1, 31, 22, 0, tzinfo=UTC), "Europe/Riga", "2026-02"),
    ],
)
def test_period_keys_are_calendar_periods_in_the_account_time_zone(
    period: Any, moment: datetime, timezone: str, key: str
) -> None:
    assert period_key(period, moment, timezone) == key


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"limit": 0}, "config.limit"),
        ({"limit": -3, "period": "day"}, "config.limit"),
        ({"limit": 5, "period": "year"}, "config.period"),
        ({"period": "day"}, "config.limit"),
    ],
)
def test_bad_limits_are_refused_naming_node_and_field(config: dict[str, Any], field: str) -> None:
    with pytest.raises(DocumentInvalid) as raised:
        parse_document(campaign(node("l1", "limit_participants", **config), edges=[("trigger", "l1")]))
    [problem] = raised.value.details
    assert (problem["node"], problem["field"]) == ("l1", field)


def test_the_period_defaults_to_the_whole_campaign() -> None:
    document = parse_document(campaign(node("l1", "limit_participants", limit=10), edges=[("trigger", "l1")]))
    assert document.node("l1").config.period == "campaign"
