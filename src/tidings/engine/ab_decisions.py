"""A/B tests whose decision or restart has come are settled by the scheduler, even when no customer is waiting.

A chunk reaching an A/B node settles its test too (``tidings.actions.ab_test.settle``), so customers are never
routed on a stale state; this tick-side pass makes a decision happen at its moment — and be shown in the report
— when nobody arrives. Each test is settled in its own transaction under its row lock. The manual clock steps
to these moments through ``tidings.store.ab_tests.next_due_at``.
"""

from __future__ import annotations

from datetime import datetime

from tidings.actions.ab_test import AbTest, AbTestConfig, lock, settle
from tidings.document.cache import DocumentCache
from tidings.store import ab_tests as ab_sql
from tidings.store.database import Database


def settle_due(db: Database, documents: DocumentCache, now: datetime) -> int:
    """Decide or restart every test of an active campaign that is due at ``now``; returns how many changed.

    A test whose node is gone from the campaign's current document is left as it is."""
    with db.engine.connect() as conn:
        due = conn.execute(ab_sql.due_tests(now=now)).all()
    settled = 0
    for campaign_id, node_id, version in due:
        with db.engine.begin() as conn:
            document = documents.get(conn, campaign_id, version)
            if not document.has_node(node_id) or document.node(node_id).type != AbTest.type:
                continue
            config = document.node(node_id).config
            assert isinstance(config, AbTestConfig)
            before = lock(conn, db.dialect, campaign_id, node_id)
            after = settle(
                conn,
                campaign_id=campaign_id,
                node_id=node_id,
                config=config,
                document=document,
                state=before,
                now=now,
            )
            settled += after != before
    return settled
