from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import START
from tidings.core.errors import Unauthenticated
from tidings.demo import CITIES, DEMO_ADMIN, NEWSLETTER, REGISTRATION, WELCOME, demo_admin, demo_customers, load_demo
from tidings.services import Services
from tidings.store.bulk_import import count_customers
from tidings.store.custom_fields import declared_types
from tidings.store.tables import campaign_triggers, channel_subscriptions, customers, entries, events, messages

TODAY = START.replace(hour=0)


def count(services: Services, table: Any, *where: Any) -> int:
    with services.db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def customer_rows(services: Services) -> list[tuple[Any, ...]]:
    with services.db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(customers).order_by(customers.c.external_id))]


def test_demo_loads_twice_without_duplicates_and_both_campaigns_are_active(services: Services) -> None:
    first = load_demo(services)
    assert (first.customers, first.new_customers, first.events) == (200, 200, 10)
    assert sorted(first.created_campaigns) == [NEWSLETTER, WELCOME]
    stored = customer_rows(services)

    second = load_demo(services)
    assert (second.customers, second.new_customers, second.events, second.created_campaigns) == (200, 0, 0, [])
    assert second.campaigns == first.campaigns
    assert count_customers(services.db) == 200
    assert customer_rows(services) == stored
    assert count(services, events, events.c.name == REGISTRATION) == 10
    listed = services.campaigns.list_all()
    assert sorted((row["name"], row["status"]) for row in listed) == [(NEWSLETTER, "active"), (WELCOME, "active")]


def test_demo_customers_are_varied_and_deterministic() -> None:
    people = demo_customers(200, seed=7, today=TODAY)
    assert people == demo_customers(200, seed=7, today=TODAY)
    assert people[:50] == demo_customers(50, seed=7, today=TODAY)  # a customer depends on its index only
    assert people != demo_customers(200, seed=8, today=TODAY)
    assert {row.city for row in people} == set(CITIES)
    assert all(row.timezone == CITIES[row.city].timezone for row in people if row.city)
    assert all(row.email and row.email.endswith("example.com") for row in people)
    assert 0 < sum("@" not in (row.email or "") for row in people) < 20
    assert 0 < sum(not (row.subscriptions or {}).get("email", True) for row in people) < 30
    assert 50 < sum(row.phone is not None for row in people) < 200
    assert 50 < sum(row.birthday is not None for row in people) < 200
    assert all(row.registered_at is not None and row.registered_at < TODAY for row in people)


def test_demo_stores_consents_and_arms_the_newsletter(services: Services) -> None:
    report = load_demo(services, customers=40, seed=3)
    assert report.customers == 40
    unsubscribed = count(
        services,
        channel_subscriptions,
        channel_subscriptions.c.channel == "email",
        channel_subscriptions.c.status == "N",
    )
    assert unsubscribed == sum(1 for index in range(40) if index % 13 == 4)
    with services.db.engine.connect() as conn:
        fires = conn.execute(
            select(campaign_triggers.c.next_fire_at).where(
                campaign_triggers.c.campaign_id == report.campaigns[NEWSLETTER]
            )
        ).scalar_one()
    assert fires == datetime(2026, 2, 1, 10, 0, tzinfo=UTC)  # the 1st at 10:00 in the account zone (UTC)


def test_registrations_run_through_the_welcome_series(services: Services) -> None:
    report = load_demo(services)
    welcome = report.campaigns[WELCOME]
    registrants = [
        row for row in demo_customers(200, seed=7, today=TODAY) if int(row.external_id.removeprefix("demo-")) % 20 == 0
    ]
    capitals = [row for row in registrants if row.city in ("Riga", "Tallinn")]
    reachable = [
        row for row in registrants if row.email and "@" in row.email and (row.subscriptions or {}).get("email", True)
    ]
    assert capitals and len(capitals) < len(registrants)

    services.advancer.advance_to(services.clock.now() + timedelta(minutes=1))
    assert count(services, entries, entries.c.campaign_id == welcome) == len(registrants)
    now_sent = count(services, messages, messages.c.campaign_id == welcome, messages.c.node_id == "welcome_now")
    assert now_sent == len([row for row in capitals if row in reachable])
    assert count(services, messages, messages.c.node_id == "welcome_later") == 0

    services.advancer.advance_to(services.clock.now() + timedelta(days=1, minutes=1))
    later_sent = count(services, messages, messages.c.campaign_id == welcome, messages.c.node_id == "welcome_later")
    assert later_sent == len([row for row in reachable if row not in capitals])

    load_demo(services)  # loading again posts no new registrations, so nobody enters twice
    services.advancer.advance_to(services.clock.now() + timedelta(minutes=1))
    assert count(services, entries, entries.c.campaign_id == welcome) == len(registrants)


def test_demo_attributes_are_declared_custom_fields(services: Services) -> None:
    load_demo(services, customers=5)
    with services.db.engine.connect() as conn:
        declared = declared_types(conn)
    assert declared["loyalty_level"] == "text" and declared["demo"] == "boolean"


def test_the_demo_admin_signs_in_with_the_password_of_the_last_run(services: Services) -> None:
    first = demo_admin(services)
    second = demo_admin(services)  # the next `run --demo`: a new password, the same admin
    assert first != second
    session = services.accounts.sign_in(DEMO_ADMIN, second, "127.0.0.1")
    assert (session.principal.role, session.principal.name) == ("admin", "Demo admin")
    with pytest.raises(Unauthenticated):
        services.accounts.sign_in(DEMO_ADMIN, first, "127.0.0.1")
