"""Delivering queued e-mail: claim a chunk, render it, hand it to the provider, record each result."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from liquid.exceptions import LiquidError
from sqlalchemy import Connection

from tidings.delivery.providers import EmailProvider, OutboundEmail, SendResult
from tidings.delivery.templates import TemplateCache, customer_variables
from tidings.delivery.tracking import Tracker
from tidings.engine.clock import SystemClock
from tidings.engine.documents import DocumentCache
from tidings.store import messages as message_sql
from tidings.store.account import load_account
from tidings.store.database import Database

RETRY_DELAY = timedelta(minutes=5)
MAX_ATTEMPTS = 5


class Delivery:
    def __init__(
        self,
        db: Database,
        documents: DocumentCache,
        provider: EmailProvider,
        *,
        tracker: Tracker,
        chunk_size: int,
        lease_seconds: float,
    ) -> None:
        self.db = db
        self.documents = documents
        self.provider = provider
        self.tracker = tracker
        self.chunk_size = chunk_size
        self.lease = timedelta(seconds=lease_seconds)
        self.templates = TemplateCache()
        self.wall = SystemClock()

    def __call__(self, now: datetime) -> int:
        """Deliver everything due at ``now``, chunk by chunk; returns the number of messages handled."""
        handled = 0
        with self.db.engine.begin() as conn:
            conn.execute(message_sql.interrupted_sends(wall_now=self.wall.now()))
        while True:
            count = self._deliver_chunk(now)
            handled += count
            if count < self.chunk_size:
                return handled

    def _deliver_chunk(self, now: datetime) -> int:
        with self.db.engine.begin() as conn:
            ids = list(
                conn.execute(
                    message_sql.claim_due(
                        self.db.dialect,
                        now=now,
                        limit=self.chunk_size,
                        lease_until=self.wall.now() + self.lease,
                    )
                ).scalars()
            )
            if not ids:
                return 0
            outbound, failures = self._render(conn, ids)
            if self.provider.in_transaction:
                self._record(conn, outbound, self.provider.send(conn, outbound, now) + failures, now)
                return len(ids)
        results = self.provider.send(None, outbound, now) + failures
        with self.db.engine.begin() as conn:
            self._record(conn, outbound, results, now)
        return len(ids)

    def _render(self, conn: Connection, ids: list[int]) -> tuple[list[OutboundEmail], list[SendResult]]:
        account = load_account(conn)
        outbound: list[OutboundEmail] = []
        failures: list[SendResult] = []
        for row in conn.execute(message_sql.with_customers(ids)).mappings():
            node = self.documents.get(conn, row["campaign_id"], row["version"]).node(row["node_id"])
            config = node.config
            message_id = row["message_id"]
            variables = {
                "customer": customer_variables(row),
                "unsubscribe_url": self.tracker.unsubscribe_url(message_id),
            }
            try:
                subject = self.templates.render(config.subject, variables)
                body = self.templates.render(config.body_html, variables)
            except LiquidError as error:
                failures.append(SendResult(message_id, False, error=f"template error: {error}"))
                continue
            # what is sent, and stored on the message, is the tracked HTML
            body = self.tracker.track(body, message_id, config.utm.query() if config.utm else None)
            name = config.sender_name or account.email_from_name
            address = config.sender_email or account.email_from
            outbound.append(
                OutboundEmail(
                    message_id=message_id,
                    idempotency_key=f"{row['campaign_id']}.{row['entry_id']}.{row['node_id']}.{row['id']}",
                    sender=f"{name} <{address}>",
                    reply_to=config.reply_to,
                    recipient=row["recipient"],
                    subject=subject,
                    body_html=body,
                )
            )
        return outbound, failures

    def _record(
        self, conn: Connection, outbound: Sequence[OutboundEmail], results: Sequence[SendResult], now: datetime
    ) -> None:
        by_id = {message.message_id: message for message in outbound}
        sent: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for result in results:
            if result.ok:
                message = by_id[result.message_id]
                sent.append(
                    {
                        "b_id": result.message_id,
                        "b_subject": message.subject,
                        "b_body": message.body_html,
                        "b_provider_message_id": result.provider_message_id,
                    }
                )
            else:
                retry = result.transient
                failed.append(
                    {
                        "b_id": result.message_id,
                        "b_status": "queued" if retry else "failed",
                        "b_error": result.error,
                        "b_send_after": now + RETRY_DELAY if retry else now,
                    }
                )
        if sent:
            conn.execute(message_sql.mark_sent(now=now, provider=self.provider.name), sent)
        if failed:
            conn.execute(message_sql.mark_failed(), failed)
