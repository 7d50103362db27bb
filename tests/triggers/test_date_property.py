"""Property: for random account zones (including zones whose DST rules changed, a 30-minute DST, a skipped day),
dates (29 February, month ends, the DST gap and overlap), offsets, delays, intervals and launch hours, the daily
date triggers fire at the instants, and enrol the customers, that an independent model written here from
``zoneinfo`` and ``dateutil.rrule`` gives — on SQLite and PostgreSQL.

The model: a fire for account day D is at D's launch hour in the account zone (a wall time the clocks skip fires
when the gap ends, a repeated one at its first occurrence); a customer's date is its calendar day in the account
zone; an anniversary is an occurrence of an rrule from that day (yearly on 29 February: the last of 28/29 February;
monthly on the 29th to 31st: the last of the days up to it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import DAILY, MONTHLY, YEARLY, rrule
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from tidings.core.account import AccountSettings
from tidings.store.database import Database
from tidings.store.tables import customers
from tidings.triggers.anniversary import Anniversary, AnniversaryConfig
from tidings.triggers.date_come_for_client import DateComeForClient, DateComeForClientConfig
from tidings.triggers.days_since import DaysSince, DaysSinceConfig

ZONES = (
    "UTC",
    "Europe/Riga",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",  # +05:30
    "America/Sao_Paulo",  # DST at midnight until 2019, then none
    "Europe/Moscow",  # permanent +04 in 2011-2014, then +03
    "Pacific/Apia",  # skipped 30 December 2011; DST until 2021
    "Australia/Lord_Howe",  # a 30-minute DST
    "America/Havana",  # DST changes at midnight
)
CREATED = datetime(2000, 1, 1, tzinfo=UTC)

# days on the edges: leap days, month ends, DST changes (spring and autumn, northern and southern), ordinary days
EDGE_DAYS = [
    date(2000, 2, 29),
    date(2004, 2, 29),
    date(2011, 12, 29),
    date(2011, 12, 31),
    date(2012, 2, 29),
    date(2018, 11, 4),
    date(2019, 1, 31),
    date(2019, 3, 31),
    date(2019, 4, 7),
    date(2019, 10, 6),
    date(2019, 10, 27),
    date(2019, 11, 3),
    date(2020, 1, 30),
    date(2020, 2, 28),
    date(2020, 3, 8),
    date(2021, 3, 14),
    date(2021, 4, 30),
    date(2021, 5, 31),
    date(2021, 8, 31),
    date(2023, 2, 28),
    date(2024, 2, 29),
    date(2024, 3, 31),
    date(2024, 10, 27),
    date(2024, 12, 31),
    date(2025, 3, 30),
]
DAYS = st.one_of(st.sampled_from(EDGE_DAYS), st.dates(min_value=date(1996, 1, 1), max_value=date(2027, 12, 31)))
FIRE_DAYS = st.one_of(
    st.sampled_from([d for d in EDGE_DAYS if d.year >= 2011] + [date(2027, 2, 28), date(2028, 2, 29)]),
    st.dates(min_value=date(2011, 1, 1), max_value=date(2028, 12, 31)),
)
MINUTES = st.sampled_from([0, 1, 29, 30, 59, 60, 119, 120, 150, 179, 180, 719, 1380, 1439])


def _shifted(day: date, years: int = 0, months: int = 0) -> date:
    """``day`` moved by whole years and months, on the month's last day when it lacks the day."""
    month = day.year * 12 + day.month - 1 + years * 12 + months
    year, month = divmod(month, 12)
    for dom in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, dom)
        except ValueError:
            continue
    raise AssertionError


@st.composite
def days_near(draw: st.DrawFn, day: date) -> date:
    """A day a date trigger firing on ``day`` may be looking for: whole years, months or some days away (the
    edges the rules turn on), or any day."""
    return draw(
        st.one_of(
            st.builds(lambda y: _shifted(day, years=-y), st.integers(0, 25)),
            st.builds(lambda m: _shifted(day, months=-m), st.integers(0, 40)),
            st.builds(lambda d: day + timedelta(days=d), st.sampled_from([0, 1, -1, 2, -2, 7, -7, 15, -15, 30, -30])),
            st.builds(lambda d: day - timedelta(days=d), st.sampled_from([100, 200, 300, 365, 366, 3000, 3001])),
            DAYS,
        )
    )


def days_around(day: date) -> st.SearchStrategy[date]:
    """``day`` or a day either side of it."""
    return st.sampled_from([day - timedelta(days=1), day, day, day + timedelta(days=1)])


@st.composite
def people_near(draw: st.DrawFn, day: date, zone: str, near: Any = days_near) -> list[dict[str, Any]]:
    """Customers whose birthday and registration (an instant near a local midnight) fall near ``day`` (by
    ``near``: its anniversaries, unless told otherwise)."""
    people = []
    for _ in range(draw(st.integers(1, 6))):
        birthday = draw(st.one_of(st.none(), near(day)))
        registered = draw(st.one_of(st.none(), near(day)))
        registered_at = None
        if registered is not None:
            midnight = model_fire(registered, 0, zone)
            registered_at = midnight + timedelta(minutes=draw(MINUTES) - draw(st.sampled_from([0, 720, 1440])))
        people.append({"birthday": birthday, "registered_at": registered_at})
    return people


# -- the independent model ------------------------------------------------------------------------------------
def model_fire(day: date, hour: int, zone: str) -> datetime:
    """The first instant whose wall time in ``zone`` is ``day`` at ``hour`` or later (a skipped wall time: the end
    of the gap; a repeated one: its first occurrence)."""
    tz = ZoneInfo(zone)
    wanted = datetime.combine(day, time(hour))
    early = min(datetime.combine(day, time(hour), tz).replace(fold=f).astimezone(UTC) for f in (0, 1))
    moment = early - timedelta(hours=2)
    while moment.astimezone(tz).replace(tzinfo=None) < wanted:
        moment += timedelta(minutes=15)
    while (moment - timedelta(minutes=1)).astimezone(tz).replace(tzinfo=None) >= wanted:
        moment -= timedelta(minutes=1)
    return moment


def local_day(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def model_anniversary(base: date, day: date, every: int, unit: str) -> bool:
    """``day`` is an anniversary (not the date itself) of ``base``, by rrule."""
    start = datetime.combine(base, time())
    if unit == "years":
        if (base.month, base.day) == (2, 29):
            rule = rrule(YEARLY, interval=every, dtstart=start, bymonth=2, bymonthday=(28, 29), bysetpos=-1)
        else:
            rule = rrule(YEARLY, interval=every, dtstart=start)
    elif unit == "months":
        if base.day > 28:
            days = tuple(range(28, base.day + 1))
            rule = rrule(MONTHLY, interval=every, dtstart=start, bymonthday=days, bysetpos=-1)
        else:
            rule = rrule(MONTHLY, interval=every, dtstart=start)
    else:
        rule = rrule(DAILY, interval=every, dtstart=start)
    target = datetime.combine(day, time())
    return day > base and rule.between(target, target, inc=True) != []


# -- the fixture: a database, customers replaced per example ----------------------------------------------------
@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    opened = Database.open(database_url)
    yield opened
    opened.dispose()


def put(db: Database, people: list[dict[str, Any]]) -> list[int]:
    with db.engine.begin() as conn:
        conn.execute(delete(customers))
        rows = [
            {"external_id": f"c{i}", "created_at": CREATED, "updated_at": CREATED, **p} for i, p in enumerate(people)
        ]
        conn.execute(insert(customers), rows)
        return list(conn.execute(select(customers.c.id).order_by(customers.c.id)).scalars())


def fire(db: Database, trigger: Any, config: Any, day: date, zone: str) -> tuple[datetime, set[int]]:
    """The trigger's fire for account ``day`` (the first after that day's start) and whom it enrols."""
    account = AccountSettings(zone, 540, 1260, "campaigns@tidings.local", "Tidings")
    start = model_fire(day, 0, zone)
    fire_at = trigger.next_fire_at(config, start - timedelta(microseconds=1), account)
    with db.engine.connect() as conn:
        return fire_at, set(conn.execute(trigger.audience(config, fire_at, account)).scalars())


SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(
    data=st.data(),
    zone=st.sampled_from(ZONES),
    day=FIRE_DAYS,
    hour=st.integers(0, 23),
    every=st.sampled_from([1, 1, 2, 3, 7, 100]),
    unit=st.sampled_from(["years", "months", "days"]),
    delay=st.sampled_from([0, 0, -15, -1, 1, 7, 30]),
    source=st.sampled_from(["birthday", "registration"]),
)
def test_anniversary_fires_and_enrols_as_the_model_says(
    db: Database,
    data: st.DataObject,
    zone: str,
    day: date,
    hour: int,
    every: int,
    unit: str,
    delay: int,
    source: str,
) -> None:
    people = data.draw(people_near(day - timedelta(days=delay), zone))
    ids = put(db, people)
    config = AnniversaryConfig(source=source, every=every, unit=unit, delay_days=delay, hour=hour)  # type: ignore[arg-type]
    fire_at, chosen = fire(db, Anniversary(), config, day, zone)
    assert fire_at == model_fire(day, hour, zone)
    anniversary = day - timedelta(days=delay)
    expected = set()
    for customer_id, person in zip(ids, people, strict=True):
        base = person["birthday"] if source == "birthday" else person["registered_at"]
        if base is None:
            continue
        base_day = base if source == "birthday" else local_day(base, zone)
        if model_anniversary(base_day, anniversary, every, unit):
            expected.add(customer_id)
    event(f"anniversary enrols {'some' if expected else 'nobody'}")
    assert chosen == expected


@SETTINGS
@given(
    data=st.data(),
    zone=st.sampled_from(ZONES),
    day=FIRE_DAYS,
    hour=st.integers(0, 23),
    days=st.sampled_from([1, 2, 7, 30, 365, 366, 3000]),
    field=st.sampled_from(["birthday", "registered_at"]),
    when=st.sampled_from(["on_date", "days_before", "days_after"]),
)
def test_date_come_and_days_since_enrol_as_the_model_says(
    db: Database,
    data: st.DataObject,
    zone: str,
    day: date,
    hour: int,
    days: int,
    field: str,
    when: str,
) -> None:
    offset = {"on_date": 0, "days_before": days, "days_after": -days}[when]
    people = data.draw(people_near(day + timedelta(days=offset), zone, days_around))
    people += data.draw(people_near(day - timedelta(days=days), zone, days_around))  # for days since
    ids = put(db, people)
    config = DateComeForClientConfig(field=field, when=when, days=0 if when == "on_date" else days, hour=hour)  # type: ignore[arg-type]
    fire_at, chosen = fire(db, DateComeForClient(), config, day, zone)
    assert fire_at == model_fire(day, hour, zone)

    def day_of(person: dict[str, Any], name: str) -> date | None:
        value = person[name]
        return None if value is None else value if name == "birthday" else local_day(value, zone)

    assert chosen == {i for i, p in zip(ids, people, strict=True) if day_of(p, field) == day + timedelta(days=offset)}
    event(f"date come enrols {'some' if chosen else 'nobody'}")
    since = DaysSinceConfig(since="registration", days=days, hour=hour)
    _, registered = fire(db, DaysSince(), since, day, zone)
    assert registered == {
        i for i, p in zip(ids, people, strict=True) if day_of(p, "registered_at") == day - timedelta(days=days)
    }
    event(f"days since enrols {'some' if registered else 'nobody'}")
