"""A whole-base fire enters its audience in slices by customer id, each its own transaction: every customer enters
once, the fire is recorded with its last slice, and a fire left part-way (a worker died, the campaign was paused)
resumes after the last slice that committed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from tests.engine.helpers import add_customers, campaign, email_node, entry_rows, mailbox_count, start
from tidings.engine.triggering import fire_schedules
from tidings.services import Services
from tidings.store.account import load_account
from tidings.store.tables import campaign_triggers

FIRE = datetime(2026, 1, 7, 9, 0, tzinfo=UTC)
TRIGGER = {"id": "trigger", "type": "date_has_come", "config": {"date": "2026-01-07", "hour": 9}}


def five_customers(services: Services) -> list[int]:
    ids = add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(5)))
    return sorted(ids.values())


def fire(services: Services, *, slice_size: int) -> int:
    services.clock.set(FIRE)
    with services.db.engine.connect() as conn:
        account = load_account(conn)
    return fire_schedules(services.db, services.documents, FIRE, account, slice_size=slice_size)


def trigger_row(services: Services, campaign_id: int) -> tuple[datetime | None, datetime | None, int | None]:
    """(next_fire_at, last_fired_at, fire_cursor)"""
    t = campaign_triggers
    with services.db.engine.connect() as conn:
        row = conn.execute(
            select(t.c.next_fire_at, t.c.last_fired_at, t.c.fire_cursor).where(t.c.campaign_id == campaign_id)
        ).one()
    return row.next_fire_at, row.last_fired_at, row.fire_cursor


def entered(services: Services, campaign_id: int) -> list[int]:
    return sorted(row["customer_id"] for row in entry_rows(services, campaign_id))


def set_cursor(services: Services, campaign_id: int, cursor: int) -> None:
    """What a slice that committed before its worker died leaves behind."""
    with services.db.engine.begin() as conn:
        conn.execute(
            update(campaign_triggers).where(campaign_triggers.c.campaign_id == campaign_id).values(fire_cursor=cursor)
        )


@pytest.mark.parametrize("slice_size", [1, 2, 5, 6])
def test_every_customer_enters_once_and_the_fire_is_recorded_with_its_last_slice(
    services: Services, slice_size: int
) -> None:
    ids = five_customers(services)
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")], trigger=TRIGGER))

    assert fire(services, slice_size=slice_size) == 5

    assert entered(services, campaign_id) == ids
    assert trigger_row(services, campaign_id) == (None, FIRE, None)  # one-off date: nothing more to fire
    assert fire(services, slice_size=slice_size) == 0


def test_a_fire_left_part_way_resumes_after_the_last_slice_that_committed(services: Services) -> None:
    ids = five_customers(services)
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")], trigger=TRIGGER))
    set_cursor(services, campaign_id, ids[1])

    assert fire(services, slice_size=2) == 3

    assert entered(services, campaign_id) == ids[2:]
    assert trigger_row(services, campaign_id) == (None, FIRE, None)


def test_a_campaign_paused_part_way_through_a_fire_finishes_it_when_resumed(services: Services) -> None:
    ids = five_customers(services)
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")], trigger=TRIGGER))
    set_cursor(services, campaign_id, ids[2])
    services.campaigns.transition(campaign_id, "pause")
    services.clock.set(FIRE + timedelta(hours=2))  # past the fire's hour: re-armed from now, it would never fire
    services.campaigns.transition(campaign_id, "activate")

    assert trigger_row(services, campaign_id) == (FIRE, None, ids[2])
    services.advancer.advance_to(FIRE + timedelta(hours=2, minutes=1))
    assert entered(services, campaign_id) == ids[3:]
    assert mailbox_count(services) == 2
