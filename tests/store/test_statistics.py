"""The planner statistics of the tables a campaign run grows are sampled again once they changed a lot."""

from __future__ import annotations

import time

from sqlalchemy import text

from tests.engine.helpers import add_customers, campaign, email_node, start
from tidings.services import Services
from tidings.store.tables import RUN_TABLES


def _refresh(services: Services) -> list[str]:
    with services.db.engine.begin() as conn:
        return services.db.dialect.refresh_statistics(conn, RUN_TABLES)


def _sampled_rows(services: Services, table: str) -> float:
    with services.db.engine.connect() as conn:
        return float(conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}).scalar_one())


def test_a_run_that_grows_its_tables_gets_them_sampled_again_once(services: Services) -> None:
    people = [{"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(1_500)]
    add_customers(services, *people)
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    services.campaigns.enroll(campaign_id, [person["external_id"] for person in people], None)

    refreshed = _refresh(services)
    if services.db.dialect.name == "sqlite":
        assert refreshed == []  # SQLite's planner does without sampled statistics
        return
    deadline = time.monotonic() + 20
    while not refreshed and time.monotonic() < deadline:  # a session reports its writes within seconds, not at once
        time.sleep(0.2)
        refreshed = _refresh(services)
    assert refreshed == ["entries", "journey_state", "journey_trace"]  # 1,500 rows each, never sampled before
    assert _sampled_rows(services, "entries") == 1_500
    assert _refresh(services) == []  # nothing changed since
