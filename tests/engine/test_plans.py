"""PostgreSQL plans of the chunk's statements stay driven by the chunk when the planner's statistics are stale.

Statistics are sampled from time to time (the scheduler's ``statistics`` job), so a plan must not depend on them
being current. A sample taken when every entry of a run had finished says that no entry is active; a statement
that let the planner start from the active entries would then read every active entry of the campaign and scan
the chunk for each (minutes per chunk at a few hundred thousand customers)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text, update

from tests.engine.helpers import add_customers, campaign, email_node, start
from tidings.core.outcomes import Performed, encode
from tidings.engine.triggering import fire_schedules
from tidings.services import Services
from tidings.store import journeys
from tidings.store.account import load_account
from tidings.store.tables import journey_chunk


def test_completing_a_chunks_entries_reads_them_by_id_when_statistics_say_none_is_active(
    pg_services: Services,
) -> None:
    services = pg_services
    people = [{"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(400)]
    add_customers(services, *people)
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    services.campaigns.enroll(campaign_id, [p["external_id"] for p in people[:200]], None)
    services.scheduler.run_until_idle()  # every entry so far finished
    with services.db.engine.begin() as conn:
        conn.execute(text("ANALYZE entries"))  # the sample: no entry is active
    services.campaigns.enroll(campaign_id, [p["external_id"] for p in people[200:]], None)

    with services.db.engine.begin() as conn:
        conn.execute(journeys.prepare_chunk())
        version = conn.execute(journeys.campaign_for_chunk(campaign_id)).one().current_version
        claim = journeys.claim_chunk(
            services.db.dialect,
            campaign_id=campaign_id,
            version=version,
            node_id="e1",
            now=services.clock.now(),
            limit=10_000,
        )
        assert conn.execute(claim).rowcount == 200
        conn.execute(update(journey_chunk).values(outcome=encode(Performed("out"))))
        statement = journeys.complete_entries([Performed("out")], now=services.clock.now(), fans_out=False)
        sql = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join(conn.execute(text(f"EXPLAIN {sql}")).scalars())
        conn.rollback()

    assert "uq_entries_one_active" not in plan, plan
    assert "pk_entries" in plan, plan


def test_a_whole_base_fire_samples_the_statistics_of_the_tables_it_grew_before_any_chunk_runs(
    pg_services: Services,
) -> None:
    """The first chunks after a fire are planned on statistics that know the customers who entered."""
    services = pg_services
    add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(1_500)))
    trigger = {"id": "trigger", "type": "date_has_come", "config": {"date": "2026-01-07", "hour": 9}}
    start(services, campaign(email_node("e1"), edges=[("trigger", "e1")], trigger=trigger))
    fire_at = datetime(2026, 1, 7, 9, 0, tzinfo=UTC)
    services.clock.set(fire_at)
    with services.db.engine.connect() as conn:
        account = load_account(conn)
        conn.execute(text("ANALYZE entries, journey_state"))  # sampled empty, before the fire
    assert fire_schedules(services.db, services.documents, fire_at, account) == 1_500

    with services.db.engine.connect() as conn:
        sampled = dict(
            conn.execute(
                text("SELECT relname, reltuples FROM pg_class WHERE relname IN ('entries', 'journey_state')")
            ).all()
        )
    assert sampled == {"entries": 1_500, "journey_state": 1_500}
