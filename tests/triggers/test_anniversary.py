"""Anniversary and "days since": daily fires in the account time zone, each enrolling, set-at-a-time, the
customers whose birthday, registration, first or last purchase (or last visit) falls on the day looked for."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.engine.helpers import add_customers, advance_to, post_events, set_timezone
from tests.triggers.helpers import entered, order, start_with, store
from tidings.services import Services

RIGA = "Europe/Riga"


def riga(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(RIGA)).astimezone(UTC)


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_a_birthday_on_15_may_with_delay_minus_15_days_fires_on_30_april_every_year(services: Services) -> None:
    set_timezone(services, RIGA)
    advance_to(services, riga(2026, 4, 28, 12))
    ids = add_customers(
        services,
        {"external_id": "may15", "birthday": "1990-05-15"},
        {"external_id": "may15_young", "birthday": "2010-05-15"},
        {"external_id": "may16", "birthday": "1990-05-16"},
        {"external_id": "born_this_year", "birthday": "2026-05-15"},  # no anniversary yet
    )
    campaign_id = start_with(services, "anniversary", source="birthday", delay_days=-15)
    advance_to(services, riga(2026, 4, 30, 12))
    assert sorted(entered(services, campaign_id)) == [
        (ids["may15"], riga(2026, 4, 30)),
        (ids["may15_young"], riga(2026, 4, 30)),
    ]
    services.campaigns.transition(campaign_id, "pause")  # skip a year of daily fires
    advance_to(services, riga(2027, 4, 29, 12))
    services.campaigns.transition(campaign_id, "activate")
    advance_to(services, riga(2027, 4, 30, 12))
    assert sorted(entered(services, campaign_id)[2:]) == sorted(
        [
            (ids["may15"], riga(2027, 4, 30)),
            (ids["may15_young"], riga(2027, 4, 30)),
            (ids["born_this_year"], riga(2027, 4, 30)),
        ]
    )


def test_29_february_is_greeted_on_28_february_without_one_and_on_its_day_with_one(services: Services) -> None:
    advance_to(services, utc(2026, 2, 26, 12))
    ids = add_customers(
        services, {"external_id": "leap", "birthday": "2000-02-29"}, {"external_id": "feb28", "birthday": "1999-02-28"}
    )
    campaign_id = start_with(services, "anniversary", source="birthday")
    advance_to(services, utc(2026, 3, 2))
    assert sorted(entered(services, campaign_id)) == [(ids["leap"], utc(2026, 2, 28)), (ids["feb28"], utc(2026, 2, 28))]
    services.campaigns.transition(campaign_id, "pause")
    advance_to(services, utc(2028, 2, 27, 12))
    services.campaigns.transition(campaign_id, "activate")
    advance_to(services, utc(2028, 3, 1, 12))
    assert entered(services, campaign_id)[2:] == [(ids["feb28"], utc(2028, 2, 28)), (ids["leap"], utc(2028, 2, 29))]


def test_a_first_order_anniversary_with_plus_7_days_fires_7_days_after_it(services: Services) -> None:
    set_timezone(services, RIGA)
    advance_to(services, riga(2026, 3, 15, 12))
    ids = add_customers(services, {"external_id": "ann"}, {"external_id": "bob"}, {"external_id": "cid"})
    store(
        services,
        order("a-1", "ann", riga(2025, 3, 10, 23, 30)),  # 10 March in Riga (21:30 UTC)
        order("a-2", "ann", riga(2025, 3, 11, 10)),  # a later order: not the first
        order("b-1", "bob", riga(2025, 3, 11, 10)),
        order("c-1", "cid", riga(2025, 3, 10, 10), status="cancelled"),  # does not stand
        order("c-2", "cid", riga(2025, 6, 1, 10)),
    )
    first = start_with(services, "anniversary", source="first_order", delay_days=7)
    last = start_with(services, "anniversary", source="last_order", delay_days=7)
    advance_to(services, riga(2026, 3, 18, 12))
    assert entered(services, first) == [(ids["ann"], riga(2026, 3, 17)), (ids["bob"], riga(2026, 3, 18))]
    assert sorted(entered(services, last)) == [(ids["ann"], riga(2026, 3, 18)), (ids["bob"], riga(2026, 3, 18))]


def test_every_month_counts_month_ends_and_every_n_days_counts_days(services: Services) -> None:
    advance_to(services, utc(2026, 2, 20, 12))
    ids = add_customers(
        services,
        {"external_id": "jan31", "registered_at": utc(2026, 1, 31, 8)},
        {"external_id": "jan28", "registered_at": utc(2025, 12, 28, 8)},
        {"external_id": "days", "registered_at": utc(2025, 11, 20, 8)},  # 100 days before 28 Feb 2026
    )
    monthly = start_with(services, "anniversary", source="registration", unit="months")
    every_100_days = start_with(services, "anniversary", source="registration", unit="days", every=100)
    every_2_months = start_with(services, "anniversary", source="registration", unit="months", every=2)
    advance_to(services, utc(2026, 3, 1, 12))
    assert sorted(entered(services, monthly)) == [(ids["jan31"], utc(2026, 2, 28)), (ids["jan28"], utc(2026, 2, 28))]
    assert entered(services, every_100_days) == [(ids["days"], utc(2026, 2, 28))]
    assert entered(services, every_2_months) == [(ids["jan28"], utc(2026, 2, 28))]


# -- days since ------------------------------------------------------------------------------------------
def test_days_since_registration_is_exactly_n_days_in_the_account_zone(services: Services) -> None:
    set_timezone(services, RIGA)
    advance_to(services, riga(2026, 3, 9, 12))
    ids = add_customers(
        services,
        {"external_id": "local_2nd", "registered_at": riga(2026, 3, 2, 23, 30)},  # 21:30 UTC
        {"external_id": "local_3rd", "registered_at": riga(2026, 3, 3, 0, 30)},  # 2 March 22:30 UTC
        {"external_id": "unknown"},
    )
    campaign_id = start_with(services, "days_since", since="registration", days=7)
    advance_to(services, riga(2026, 3, 10, 12))
    assert entered(services, campaign_id) == [(ids["local_3rd"], riga(2026, 3, 10))]


def test_days_since_the_last_order_receipt_and_visit(services: Services) -> None:
    advance_to(services, utc(2026, 3, 1, 12))
    ids = add_customers(services, *({"external_id": name} for name in ("ann", "bob", "cid", "dan", "eve")))
    store(
        services,
        order("a-1", "ann", utc(2026, 2, 1, 10)),  # 30 days before 3 March
        order("b-1", "bob", utc(2026, 2, 1, 10)),
        order("b-2", "bob", utc(2026, 2, 20, 10)),  # bob ordered again since
        order("c-1", "cid", utc(2026, 2, 1, 10)),
        order("c-2", "cid", utc(2026, 2, 20, 10), status="cancelled"),  # does not count
        order("d-1", "dan", utc(2026, 2, 1, 10), kind="receipt"),
    )
    last_order = start_with(services, "days_since", since="last_order", days=30)
    last_receipt = start_with(services, "days_since", since="last_receipt", days=30)
    last_visit = start_with(services, "days_since", since="last_visit", days=2, hour=9)
    post_events(services, (ids["eve"], "page_view", {}), (ids["ann"], "page_view", {}))
    advance_to(services, utc(2026, 3, 2, 12))
    post_events(services, (ids["ann"], "page_view", {}))  # ann came back
    advance_to(services, utc(2026, 3, 3, 12))
    assert sorted(entered(services, last_order)) == [(ids["ann"], utc(2026, 3, 3)), (ids["cid"], utc(2026, 3, 3))]
    assert entered(services, last_receipt) == [(ids["dan"], utc(2026, 3, 3))]
    assert entered(services, last_visit) == [(ids["eve"], utc(2026, 3, 3, 9))]
