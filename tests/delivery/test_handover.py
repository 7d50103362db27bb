"""Handover's group commit on a real database: what a failed commit held is recorded by the next one, and a
hand-over whose task stopped before its commit is never marked."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, create_engine, insert, select

from tidings.delivery.handover import Handover
from tidings.delivery.providers import SendResult

LEASE = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
metadata = MetaData()
journal = Table("journal", metadata, Column("id", Integer, primary_key=True), Column("what", String(16)))


def test_a_failed_commit_loses_no_result_and_marks_no_cancelled_hand_over(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'handover.db'}")
    metadata.create_all(engine)
    failures = [RuntimeError("the database went away")]

    def record(conn: Connection, results: Sequence[SendResult]) -> None:
        conn.execute(insert(journal), [{"id": r.message_id, "what": "result"} for r in results])
        if failures:
            raise failures.pop()  # this commit rolls back

    def mark(conn: Connection, ids: Sequence[int]) -> dict[int, datetime]:
        conn.execute(insert(journal), [{"id": 100 + i, "what": "sending"} for i in ids])
        return dict.fromkeys(ids, LEASE)

    async def run() -> tuple[Exception | None, datetime | None]:
        async with Handover(engine, record=record, mark=mark, release=lambda conn: None) as handover:
            handover.answered(SendResult(1, True))
            failed: Exception | None = None
            try:
                await handover.take(2)
            except RuntimeError as error:
                failed = error
            handover.answered(SendResult(3, True))
            stopped = asyncio.create_task(handover.take(4))
            await asyncio.sleep(0)  # its request is queued for the next commit …
            stopped.cancel()  # … and its task stops before that commit
            lease = await handover.take(5)
            return failed, lease

    failed, lease = asyncio.run(run())

    assert failed is not None and "went away" in str(failed)
    assert lease == LEASE
    with engine.connect() as conn:
        rows = set(conn.execute(select(journal.c.id, journal.c.what)).all())
    assert rows == {(1, "result"), (3, "result"), (105, "sending")}  # 2 failed with its commit; 4 never marked
    engine.dispose()
