"""The loyalty processor: claim due requests in chunks, hand them to the adapter, record every outcome.

One call of the processor is one round of the scheduler's tick. Per chunk:

1. claim (one transaction): lease the due pending requests (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), count
   the attempt;
2. apply: the adapter carries them out — inside the claiming transaction for the built-in ledger, between two
   transactions for the HTTP adapter (no database transaction waits on the network);
3. record (one transaction): ``done`` and ``failed`` requests are finished and wake the customers held at their
   node; a transient failure is retried after the back-off of ``core.retry`` (exponential, or the program's
   ``Retry-After``) until the last attempt, which fails with the last reason.

A worker that dies between 1 and 3 leaves a lease that expires (wall-clock time); the request is claimed again
and sent with the same idempotency key, so the program applies it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from tidings.core.clock import Clock
from tidings.core.retry import RetryPolicy
from tidings.loyalty.adapter import LoyaltyAdapter, LoyaltyCall, LoyaltyResult, idempotency_key
from tidings.model.statuses import LoyaltyRequestStatus
from tidings.store import loyalty as loyalty_sql
from tidings.store.database import Database

#: Reason of a request whose customer was deleted before it was sent.
CUSTOMER_MISSING = "customer_missing"
#: Reason of a bonus whose campaign was stopped before it was sent (stopping ends every journey, D13).
CAMPAIGN_STOPPED = "campaign_stopped"


class LoyaltyProcessor:
    def __init__(
        self,
        db: Database,
        adapter: LoyaltyAdapter,
        *,
        retry: RetryPolicy,
        chunk_size: int,
        lease_seconds: float,
        wall: Clock,
    ) -> None:
        self.db = db
        self.adapter = adapter
        self.retry = retry
        self.chunk_size = chunk_size
        self.lease = timedelta(seconds=lease_seconds)
        self.wall = wall  # leases are about real worker deaths, never simulated time

    def __call__(self, now: datetime) -> int:
        """Process every request due at ``now``, chunk by chunk; returns how many were handled."""
        handled = 0
        while True:
            count = self._process_chunk(now)
            handled += count
            if count < self.chunk_size:
                return handled

    def claim(self, conn: Connection, now: datetime) -> list[LoyaltyCall]:
        """Lease a chunk of due requests. Requests of deleted customers, and bonuses of campaigns stopped since,
        are failed here and not returned."""
        ids = list(
            conn.execute(
                loyalty_sql.claim_due(
                    self.db.dialect,
                    now=now,
                    wall_now=self.wall.now(),
                    limit=self.chunk_size,
                    lease_until=self.wall.now() + self.lease,
                )
            ).scalars()
        )
        if not ids:
            return []
        rows = conn.execute(loyalty_sql.calls(ids)).mappings().all()
        refused = [
            LoyaltyResult(request_id, "failed", reason=CUSTOMER_MISSING, error="the customer was deleted")
            for request_id in sorted(set(ids) - {row["id"] for row in rows})
        ]
        found: list[LoyaltyCall] = []
        for row in rows:
            if row["kind"] == loyalty_sql.BONUS and row["campaign_status"] in loyalty_sql.ENDED:
                error = f"campaign {row['campaign_id']} was {row['campaign_status']} before the bonus was sent"
                refused.append(LoyaltyResult(row["id"], "failed", reason=CAMPAIGN_STOPPED, error=error))
            else:
                found.append(_call(row))
        if refused:
            self.record(conn, refused, now)
        return found

    def record(self, conn: Connection, results: Sequence[LoyaltyResult], now: datetime) -> None:
        """Store the outcomes: finish ``done`` and ``failed`` (waking their customers), reschedule ``retry``."""
        ids = [result.request_id for result in results]
        attempts = {row.id: row.attempts for row in conn.execute(loyalty_sql.attempts_of(ids))}
        finished: list[dict[str, Any]] = []
        retried: list[dict[str, Any]] = []
        for result in sorted(results, key=lambda r: r.request_id):  # id order: the lock order of every writer
            attempt = attempts.get(result.request_id, 1)
            if result.outcome == "retry" and not self.retry.exhausted(attempt):
                retried.append(
                    {
                        "b_id": result.request_id,
                        "b_next_attempt_at": now + self.retry.delay(attempt, result.retry_after),
                        "b_error": _error_text(result),
                    }
                )
                continue
            status: LoyaltyRequestStatus = "done" if result.outcome == "done" else "failed"
            response = (
                result.response if status == "done" else {**(result.response or {}), "reason": result.reason or "error"}
            )
            error = None if status == "done" else _error_text(result)
            finished.append({"b_id": result.request_id, "b_status": status, "b_response": response, "b_error": error})
        if finished:
            conn.execute(loyalty_sql.mark_finished(now=now), finished)
            conn.execute(loyalty_sql.wake_waiting([row["b_id"] for row in finished], now=now))
        if retried:
            conn.execute(loyalty_sql.mark_retry(), retried)

    def _process_chunk(self, now: datetime) -> int:
        with self.db.engine.begin() as conn:
            calls = self.claim(conn, now)
            if not calls:
                return 0
            if self.adapter.in_transaction:
                self.record(conn, self.adapter.apply(conn, calls, now), now)
                return len(calls)
        results = self.adapter.apply(None, calls, now)
        with self.db.engine.begin() as conn:
            self.record(conn, results, now)
        return len(calls)


def _call(row: Any) -> LoyaltyCall:
    key = idempotency_key(
        request_id=row["id"],
        campaign_id=row["campaign_id"],
        entry_id=row["entry_id"],
        node_id=row["node_id"],
        customer_id=row["customer_id"],
    )
    return LoyaltyCall(
        request_id=row["id"],
        kind=row["kind"],
        idempotency_key=key,
        customer_id=row["customer_id"],
        customer=row["external_id"],
        campaign_id=row["campaign_id"],
        entry_id=row["entry_id"],
        node_id=row["node_id"],
        payload=dict(row["payload"] or {}),
        created_at=row["created_at"],
        attempt=row["attempts"],
    )


def _error_text(result: LoyaltyResult) -> str:
    prefix = f"{result.reason}: " if result.reason else ""
    return prefix + (result.error or "")
