"""Date come for client / order / receipt: a daily fire at 00:00 (or the launch hour) in the account time zone
enrols, set-at-a-time, the customers whose date is that day, N days ahead or N days past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from tests.engine.helpers import add_customers, advance_to, set_timezone
from tests.triggers.helpers import declare, entered, order, start_with, store
from tidings.core.errors import TidingsError
from tidings.document.validation import parse_document
from tidings.model.catalog import Catalog
from tidings.services import Services
from tidings.triggers.date_come_for_client import DateComeForClientConfig
from tidings.triggers.date_come_for_order import DateComeForOrderConfig

RIGA = "Europe/Riga"  # UTC+3 in summer, UTC+2 in winter


def riga(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(RIGA)).astimezone(UTC)


def test_storage_until_20_may_three_days_before_fires_on_17_may_at_midnight(services: Services) -> None:
    """The documented example (S11): the order is kept at the pick-up point until 20 May."""
    set_timezone(services, RIGA)
    advance_to(services, riga(2026, 5, 15, 12))
    ids = add_customers(services, {"external_id": "ann"}, {"external_id": "bob"}, {"external_id": "cid"})
    store(
        services,
        order("o-1", "ann", riga(2026, 5, 10, 12), attributes={"storage_until": "2026-05-20"}),
        order("o-2", "bob", riga(2026, 5, 10, 12), attributes={"storage_until": "2026-05-21"}),
        order("o-3", "ann", riga(2026, 5, 11, 12), attributes={"storage_until": "2026-05-20"}),  # ann's second
        order("r-1", "cid", riga(2026, 5, 10, 12), kind="receipt", attributes={"storage_until": "2026-05-20"}),
    )
    campaign_id = start_with(
        services, "date_come_for_order", field="attributes.storage_until", when="days_before", days=3
    )
    advance_to(services, riga(2026, 5, 16, 23, 59))
    assert entered(services, campaign_id) == []
    advance_to(services, riga(2026, 5, 17, 0, 0))
    assert entered(services, campaign_id) == [(ids["ann"], riga(2026, 5, 17))]  # once, though two orders match
    advance_to(services, riga(2026, 5, 18, 0, 0))
    assert entered(services, campaign_id)[1:] == [(ids["bob"], riga(2026, 5, 18))]


def test_date_come_for_client_on_profile_and_custom_dates(services: Services) -> None:
    set_timezone(services, RIGA)
    advance_to(services, riga(2026, 3, 9, 12))
    ids = add_customers(
        services,
        {"external_id": "born_10th", "birthday": "1990-03-10"},
        {"external_id": "born_11th", "birthday": "1990-03-11"},
        # registered 23:30 on 8 March in Riga (21:30 UTC): the 8th in the account zone, not the UTC date
        {"external_id": "late", "registered_at": datetime(2026, 3, 8, 21, 30, tzinfo=UTC)},
        {"external_id": "early", "registered_at": datetime(2026, 3, 7, 23, 30, tzinfo=UTC)},  # 8 March 01:30
        {"external_id": "utc_8th", "registered_at": datetime(2026, 3, 8, 22, 30, tzinfo=UTC)},  # 9 March 00:30
        {"external_id": "visit_date", "attributes": {"next_visit": "2026-03-11"}},
        {"external_id": "visit_instant", "attributes": {"next_visit": "2026-03-10T22:30:00Z"}},  # 11 March 00:30
        {"external_id": "visit_bad", "attributes": {"next_visit": "soon"}},
    )
    declare(services, next_visit="date")
    on_birthday = start_with(services, "date_come_for_client", field="birthday", every_year=True)
    two_days_after = start_with(services, "date_come_for_client", field="registered_at", when="days_after", days=2)
    day_before_at_nine = start_with(
        services, "date_come_for_client", field="attributes.next_visit", when="days_before", days=1, hour=9
    )
    advance_to(services, riga(2026, 3, 10, 12))
    assert entered(services, on_birthday) == [(ids["born_10th"], riga(2026, 3, 10))]
    assert sorted(entered(services, two_days_after)) == sorted(
        [(ids["late"], riga(2026, 3, 10)), (ids["early"], riga(2026, 3, 10))]
    )
    assert sorted(entered(services, day_before_at_nine)) == sorted(
        [(ids["visit_date"], riga(2026, 3, 10, 9)), (ids["visit_instant"], riga(2026, 3, 10, 9))]
    )
    advance_to(services, riga(2026, 3, 11, 12))
    assert entered(services, on_birthday)[1:] == [(ids["born_11th"], riga(2026, 3, 11))]
    assert entered(services, two_days_after)[2:] == [(ids["utc_8th"], riga(2026, 3, 11))]


def test_date_come_for_receipt_counts_receipts_in_the_chosen_statuses(services: Services) -> None:
    advance_to(services, datetime(2026, 1, 31, 12, tzinfo=UTC))
    ids = add_customers(services, {"external_id": "ann"}, {"external_id": "bob"}, {"external_id": "cid"})
    placed = datetime(2026, 1, 2, 15, tzinfo=UTC)
    store(
        services,
        order("r-1", "ann", placed, kind="receipt"),
        order("r-2", "bob", placed, kind="receipt", status="returned"),
        order("o-1", "cid", placed),  # an order, not a receipt
    )
    campaign_id = start_with(
        services, "date_come_for_receipt", field="placed_at", when="days_after", days=30, statuses=["paid"]
    )
    advance_to(services, datetime(2026, 2, 1, 23, 59, tzinfo=UTC))
    assert entered(services, campaign_id) == [(ids["ann"], datetime(2026, 2, 1, tzinfo=UTC))]


def test_a_fire_enrols_only_that_day_at_the_launch_hour(services: Services) -> None:
    ids = add_customers(
        services, {"external_id": "ann", "birthday": "2000-01-06"}, {"external_id": "bob", "birthday": "2026-01-06"}
    )
    campaign_id = start_with(services, "date_come_for_client", field="birthday", hour=10, every_year=True)
    advance_to(services, datetime(2026, 1, 8, 12, tzinfo=UTC))
    assert entered(services, campaign_id) == [(ids["ann"], datetime(2026, 1, 6, 10, tzinfo=UTC))]


def test_bad_configs_name_the_field() -> None:
    with pytest.raises(ValidationError, match="first_name"):
        DateComeForClientConfig(field="first_name")
    with pytest.raises(ValidationError, match="days_before needs a number of days"):
        DateComeForClientConfig(field="birthday", when="days_before")
    with pytest.raises(ValidationError, match="not a date of an order"):
        DateComeForOrderConfig(field="total")
    trigger = {"id": "trigger", "type": "date_come_for_client", "config": {"field": "attributes.size"}}
    document = {"name": "x", "trigger": trigger, "nodes": [], "edges": []}
    with pytest.raises(TidingsError, match=r"attributes\.size") as caught:
        parse_document(document, Catalog(custom_fields={"size": "number", "visit": "date"}))
    assert "number field, not a date" in str(caught.value)
    assert parse_document({**document, "trigger": {**trigger, "config": {"field": "attributes.visit"}}})


def test_activation_mid_day_fires_first_at_the_next_midnight(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann", "birthday": "1990-01-05"})  # today: missed
    campaign_id = start_with(services, "date_come_for_client", field="birthday", every_year=True)
    advance_to(services, services.clock.now() + timedelta(days=1))
    assert entered(services, campaign_id) == []
    del ids
