"""Delivering queued messages: claim a chunk of one channel, render it, hand it to the channel's provider, record
each result.

Each call (one per scheduler tick) first settles what time decided: messages a dead worker left ``sending`` are
queued again, Viber messages of a Viber → SMS cascade that Viber will not deliver become the SMS, and messages
whose lifetime ended become ``undeliverable``. Then it delivers due chunks, the channels taking turns.

The pipeline knows a message's node only through the ``DeliveryRules`` its action declares (``core.delivery``),
looked up by the ``DeliveryRulesOf`` it is built with: what to render on the message's channel, whether it waits
for the delivery window, its lifetime. It knows a channel only through its route (``delivery.channels``): how a
message is composed from what its node sends there, which provider sends it, at what pace.

Retries. A transient failure is retried after the back-off of ``core.retry`` (doubling from ``retry_base``, at
most ``retry_max``; the provider's ``Retry-After`` when it sent one); a retry of a windowed message (SMS, Viber or
push unless its node says "deliver immediately") waits for the delivery window. The lifetime, not the window or
the back-off, decides when a message is given up: one whose next attempt would come after its lifetime (the window
closed for the night, say) stays queued until its lifetime ends and becomes ``undeliverable`` then, with its last
error; one past ``max_attempts`` becomes ``undeliverable`` at once. A permanent failure
makes it ``failed`` — except a Viber message of a cascade, which becomes its SMS (in place: one message per
entry, node and customer).

Exactly once. The sandbox writes inside the chunk's transaction: a crash rolls the whole chunk back, a commit
records it whole, and no message of it is ever ``sending``. Any other provider runs between transactions, and the
pipeline records each message as ``sending`` before handing it over and records each result before its task is
handed the next message (group-committed by ``delivery.handover``; ``store.messages`` explains the states). A
worker killed at any moment therefore leaves in doubt only the messages its provider held at that moment — one per
SMTP connection (``TIDINGS_SMTP_CONNECTIONS``), which carries one message at a time; up to ``concurrency`` for an
HTTP provider. After the lease those are queued again and resent under the same idempotency key: the same SMTP
``Message-ID``, the same ``Idempotency-Key`` header. Everything else is either recorded or was never handed over.

The limit, stated plainly: a message in doubt is resent. If the provider had in fact accepted it in the
instant before the worker died (the SMTP server committed it and its ``250`` was never read), the recipient
gets it twice, with the same ``Message-ID`` / idempotency key so a receiver that honours them drops the copy.
Nothing else is ever sent twice, and nothing is lost. Leases are real time: a worker that stalls longer than
its lease (``TIDINGS_LEASE_SECONDS``) can be overtaken, so keep the lease above the providers' timeouts (SMTP
30 s, ``TIDINGS_PROVIDER_TIMEOUT_SECONDS`` for HTTP); chunks of a rate-limited provider are sized to finish in
half a lease.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Executable

from tidings.core.account import AccountSettings
from tidings.core.clock import Clock
from tidings.core.delivery import Channel, DeliveryRules, DeliveryRulesOf
from tidings.core.retry import RetryPolicy
from tidings.core.windows import Window, zone_of
from tidings.delivery.channels.route import Chunk, Claimed, Compose, Route
from tidings.delivery.handover import Handover
from tidings.delivery.providers import Outbound, Outbox, SendResult, Transaction, run_sync
from tidings.delivery.tracking import Tracker
from tidings.model.statuses import MessageStatus
from tidings.rendering.templates import TemplateContext, TemplateError, default_templates
from tidings.rendering.variables import MessageRef, build_contexts
from tidings.settings import Settings
from tidings.store import messages as message_sql
from tidings.store import push_tokens as token_sql
from tidings.store.account import load_account
from tidings.store.database import Database

# The statement every hand-over runs, built once: every value is a parameter.
MARK_SENDING = message_sql.mark_sending()


class Unrenderable(Exception):
    """A message its node cannot make (the node sends nothing on the message's channel)."""


@dataclass(frozen=True)
class Policy:
    """How the pipeline chunks, leases, retries and expires messages."""

    chunk_size: int
    lease: timedelta
    lifetime: timedelta
    retry: RetryPolicy

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            chunk_size=settings.delivery_chunk_size,
            lease=timedelta(seconds=settings.lease_seconds),
            lifetime=timedelta(minutes=settings.message_lifetime_minutes),
            retry=RetryPolicy(
                max_attempts=settings.delivery_max_attempts,
                base=timedelta(seconds=settings.retry_base_seconds),
                cap=timedelta(seconds=settings.retry_max_seconds),
            ),
        )


@dataclass(frozen=True)
class Prepared:
    """A claimed message, rendered, with what recording its result needs."""

    message_id: int
    outbound: Outbound | None  # None when it could not be rendered
    customer_id: int
    attempts: int
    expires_at: datetime | None
    zone: str  # the recipient's time zone
    window: Window | None  # the delivery window it waits for (its node's rules are ``windowed``)
    cascade: bool  # a Viber message that becomes its SMS when Viber cannot deliver it
    lifetime: timedelta | None  # the action's own lifetime, if any
    payload: dict[str, Any] | None

    def opening(self, at: datetime) -> datetime:
        """``at``, or when the delivery window next opens for the recipient."""
        return at if self.window is None else self.window.opening(at, self.zone)


class Delivery:
    """Delivers every due message, each channel through its ``Route`` (how its messages are composed, their
    provider and its rate limit)."""

    def __init__(
        self,
        db: Database,
        routes: Mapping[Channel, Route[Any, Any]],
        *,
        rules: DeliveryRulesOf,
        tracker: Tracker,
        policy: Policy,
        wall: Clock,
    ) -> None:
        self.db = db
        self.routes = routes
        self.rules = rules
        self.tracker = tracker
        self.policy = policy
        self.templates = default_templates()
        self.wall = wall  # leases are about real worker deaths, never simulated time

    def __call__(self, now: datetime) -> int:
        """Deliver everything due at ``now``; returns how many messages were handled (sent, failed, retried,
        expired or switched to SMS). Stops starting chunks after half a lease, so a slow provider cannot hold
        the scheduler: what is left is due at the next tick."""
        wall_now = self.wall.now()
        with self.db.engine.begin() as conn:
            account = load_account(conn)  # once per call: every chunk of it renders and windows with these
            conn.execute(message_sql.recover_in_doubt(wall_now=wall_now))
            handled = self._switch_cascades(conn, now, wall_now, account)
            handled += conn.execute(message_sql.expire_overdue(now=now, wall_now=wall_now)).rowcount
        deadline = time.monotonic() + self.policy.lease.total_seconds() / 2
        busy = dict(self.routes)
        while busy and time.monotonic() <= deadline:  # a chunk per channel in turn: no channel waits for another
            for channel, route in list(busy.items()):
                count, more = self._deliver_chunk(route, now, account)
                handled += count
                if not more:
                    del busy[channel]
        return handled

    # -- one chunk ------------------------------------------------------------------------------------------------
    def _chunk_limit(self, route: Route[Any, Any]) -> int:
        rate = route.rate_limit.rate
        if rate == 0:
            return self.policy.chunk_size
        return max(1, min(self.policy.chunk_size, int(rate * self.policy.lease.total_seconds() / 2)))

    def _deliver_chunk(self, route: Route[Any, Any], now: datetime, account: AccountSettings) -> tuple[int, bool]:
        """(messages claimed, whether a full chunk was claimed). A transactional provider's chunk is claimed,
        rendered, sent and recorded in one transaction: its messages are locked, not leased, so each is written
        once, when its result is recorded. Either way a chunk takes a number of statements that does not grow with
        its size (``store.messages``: each status a set of rows in one statement)."""
        limit = self._chunk_limit(route)
        wall_now = self.wall.now()
        lease = wall_now + self.policy.lease
        transactional = route.provider.transactional
        with self.db.engine.begin() as conn:
            claim: Executable
            if transactional:
                claim = message_sql.lock_due(
                    self.db.dialect, channel=route.channel, now=now, wall_now=wall_now, limit=limit
                )
            else:
                claim = message_sql.claim_due(
                    self.db.dialect,
                    channel=route.channel,
                    now=now,
                    wall_now=wall_now,
                    limit=limit,
                    lease_until=lease,
                    expires_at=now + self.policy.lifetime,
                )
            ids = list(conn.execute(claim).scalars().all())
            if not ids:
                return 0, False
            prepared, failures = self._prepare(conn, route, ids, now, account, counted=not transactional)
            by_id = {p.message_id: p for p in prepared}
            leases: dict[int, datetime | None] = dict.fromkeys(ids, None if transactional else lease)
            prepared = [p for p in prepared if p.outbound is not None]
            if transactional:
                results: list[SendResult] = run_sync(self._collect(route, prepared, now, conn))
                self._record(conn, by_id, leases, [*results, *failures], now, route.provider.name)
                return len(ids), len(ids) == limit
            self._record(conn, by_id, leases, failures, now, route.provider.name)
        run_sync(self._stream(route, prepared, lease, now))
        return len(ids), len(ids) == limit

    async def _collect(
        self, route: Route[Any, Any], prepared: Sequence[Prepared], now: datetime, conn: Connection
    ) -> Any:
        async def take(_: Outbound) -> bool:
            await route.rate_limit.acquire()
            return True

        transaction = Transaction(conn, self.db.dialect)
        outbox = Outbox([p.outbound for p in prepared if p.outbound is not None], now, transaction, take)
        return [result async for result in route.provider.send(outbox)]

    async def _stream(
        self, route: Route[Any, Any], prepared: Sequence[Prepared], claimed: datetime, now: datetime
    ) -> None:
        """Hand the chunk to a provider that works outside our transactions: each message is recorded ``sending``
        before it is handed over, and each result before its task is handed the next message (``Handover``
        group-commits both)."""
        by_id = {p.message_id: p for p in prepared}
        leases = {p.message_id: claimed for p in prepared}  # each renewed when it is handed over
        fate: dict[int, bool] = {}  # True: handed over (sending) by us; False: taken over by another worker

        def record(conn: Connection, results: Sequence[SendResult]) -> None:
            self._record(conn, by_id, leases, results, now, route.provider.name)

        def mark(conn: Connection, ids: Sequence[int]) -> dict[int, datetime]:
            lease = self.wall.now() + self.policy.lease
            ours = conn.execute(MARK_SENDING, {"ids": ids, "claimed": claimed, "lease_until": lease}).scalars()
            return dict.fromkeys(ours, lease)

        def release(conn: Connection) -> None:
            untouched = [p.message_id for p in prepared if p.message_id not in fate]
            if untouched:
                conn.execute(message_sql.release(untouched, claimed=claimed))

        async with Handover(self.db.engine, record=record, mark=mark, release=release) as handover:

            async def take(message: Outbound) -> bool:
                if route.rate_limit.rate:  # results do not wait for the pace of the next hand-over
                    await handover.record()
                await route.rate_limit.acquire()
                lease = await handover.take(message.message_id)  # committed: only now is its fate known
                fate[message.message_id] = lease is not None
                if lease is not None:
                    leases[message.message_id] = lease
                return lease is not None

            outbox = Outbox([p.outbound for p in prepared if p.outbound is not None], now, None, take)
            async with contextlib.aclosing(route.provider.send(outbox)) as results:  # its tasks end before ours
                async for result in results:
                    handover.answered(result)
                    if outbox.drained:  # no hand-over is left to record it with: record it now
                        await handover.record()

    # -- rendering ------------------------------------------------------------------------------------------------
    def _prepare(
        self,
        conn: Connection,
        route: Route[Any, Any],
        ids: list[int],
        now: datetime,
        account: AccountSettings,
        *,
        counted: bool,
    ) -> tuple[list[Prepared], list[SendResult]]:
        """Every claimed message, rendered; and a permanent failure for each that cannot be (a template error).
        Unless the claim ``counted`` this attempt and started the lifetime (a lease does), the message is
        prepared as it will be recorded: one more attempt, the lifetime running from now."""
        window = Window.of(account)
        dialect = self.db.dialect
        rows = conn.execute(message_sql.with_customers(dialect, ids)).mappings().all()
        refs = [MessageRef(r["message_id"], r["customer_id"], r["campaign_id"], r["entry_id"]) for r in rows]
        contexts = build_contexts(
            conn, dialect, refs, timezone=account.timezone, now=now, unsubscribe_url=self.tracker.unsubscribe_url
        )
        rules_of = self._rules_of(conn, rows)
        compose = route.composer(Chunk(conn, dialect, ids, account, self.tracker))
        prepared: list[Prepared] = []
        failures: list[SendResult] = []
        for row in rows:
            rules = rules_of[row["campaign_id"], row["version"], row["node_id"]]
            outbound: Outbound | None = None
            try:
                context = contexts.get(row["message_id"])
                if context is None:
                    raise Unrenderable("the customer no longer exists")
                outbound = self._render(row, rules, route, compose, context)
            except TemplateError as error:
                failures.append(SendResult(row["message_id"], False, error=f"template error: {error}"))
            except Unrenderable as error:
                failures.append(SendResult(row["message_id"], False, error=str(error)))
            payload = row["payload"]
            prepared.append(
                Prepared(
                    message_id=row["message_id"],
                    outbound=outbound,
                    customer_id=row["customer_id"],
                    attempts=row["attempts"] if counted else row["attempts"] + 1,
                    expires_at=row["expires_at"] or (now + self.policy.lifetime),
                    zone=zone_of(row["timezone"], account.timezone),
                    window=window if rules is not None and rules.windowed else None,
                    cascade=message_sql.falls_back_to_sms(row["channel"], payload),
                    lifetime=rules.lifetime if rules is not None else None,
                    payload=payload,
                )
            )
        return prepared, failures

    def _rules_of(self, conn: Connection, rows: Sequence[Any]) -> dict[tuple[int, int, str], DeliveryRules | None]:
        """The rules of the nodes of these messages, each node's looked up once."""
        nodes = {(row["campaign_id"], row["version"], row["node_id"]) for row in rows}
        return {node: self.rules(conn, *node) for node in nodes}

    def _render(
        self,
        row: Any,
        rules: DeliveryRules | None,
        route: Route[Any, Any],
        compose: Compose[Any, Outbound],
        context: TemplateContext,
    ) -> Outbound:
        """The message to hand to the provider: what its node sends on its channel, composed by the channel's
        route and rendered for its recipient; raises ``TemplateError`` or ``Unrenderable``."""
        content = rules.content(route.channel) if rules is not None else None
        if rules is None or not isinstance(content, route.content):
            raise Unrenderable(f"node {row['node_id']!r} sends no {route.channel} message")
        message_id = row["message_id"]

        def render(source: str) -> str:
            return self.templates.render(source, context)

        message = Claimed(
            message_id=message_id,
            campaign_id=row["campaign_id"],
            node_id=row["node_id"],
            idempotency_key=f"{row['campaign_id']}.{row['entry_id']}.{row['node_id']}.{message_id}",
            recipient=row["recipient"],
            payload=row["payload"],
            internal=rules.internal,
            render=render,
        )
        return compose(content, message)

    # -- recording ------------------------------------------------------------------------------------------------
    def _record(
        self,
        conn: Connection,
        prepared: Mapping[int, Prepared],
        leases: Mapping[int, datetime | None],
        results: Sequence[SendResult],
        now: datetime,
        provider: str,
    ) -> None:
        """Record the results: one statement per kind of outcome, whatever their number."""
        sent: list[message_sql.Sent] = []
        retried: list[message_sql.Retried] = []
        failed: list[message_sql.Failed] = []
        switched: list[message_sql.Switched] = []
        dead_tokens: list[tuple[int, str]] = []
        for result in results:
            p = prepared.get(result.message_id)
            if p is None:
                continue
            lease = leases[result.message_id]
            dead_tokens += [(p.customer_id, token) for token in result.dead_tokens]
            if result.ok and p.outbound is not None:
                subject, body = p.outbound.stored()
                sent.append(
                    message_sql.Sent(
                        p.message_id, lease, p.attempts, p.expires_at, subject, body, result.provider_message_id
                    )
                )
                continue
            error = result.error or "refused"
            status: MessageStatus = "failed"
            if result.transient:
                at = p.opening(now + self.policy.retry.delay(p.attempts, result.retry_after))
                if self.policy.retry.exhausted(p.attempts):
                    status, error = "undeliverable", f"gave up after {p.attempts} attempts; last error: {error}"
                else:
                    if p.expires_at is not None and at >= p.expires_at:
                        at = p.expires_at  # no attempt fits in what is left of its lifetime: it expires then
                    retried.append(message_sql.Retried(p.message_id, lease, p.attempts, p.expires_at, error, at))
                    continue
            if p.cascade and p.outbound is not None:
                switched.append(self._switch(p, lease, f"Viber {status}: {error}", now))
            else:
                failed.append(message_sql.Failed(p.message_id, lease, p.attempts, p.expires_at, status, error))
        dialect = self.db.dialect
        if dead_tokens:
            token_sql.deactivate_tokens(conn, dialect, dead_tokens)
        if sent:
            message_sql.mark_sent(conn, dialect, sent, now=now, provider=provider)
        if retried:
            message_sql.mark_retry(conn, dialect, retried)
        if failed:
            message_sql.mark_failed(conn, dialect, failed)
        if switched:
            message_sql.switch_to_sms(conn, dialect, switched)

    def _switch(self, p: Prepared, lease: datetime | None, reason: str, now: datetime) -> message_sql.Switched:
        """The Viber → SMS switch of one cascade message."""
        send_after = p.opening(now)
        return message_sql.Switched(
            id=p.message_id,
            leased_until=lease,
            send_after=send_after,
            expires_at=send_after + (p.lifetime or self.policy.lifetime),
            payload={**(p.payload or {}), "viber": {"error": reason, "at": now.isoformat()}},
            error=f"{reason}; sent as SMS instead",
        )

    def _switch_cascades(self, conn: Connection, now: datetime, wall_now: datetime, account: AccountSettings) -> int:
        """Cascade Viber messages that time or a delivery report ruled undeliverable become their SMS."""
        rows = conn.execute(message_sql.cascades_to_switch(now=now, wall_now=wall_now)).mappings().all()
        if not rows:
            return 0
        rules_of = self._rules_of(conn, rows)
        switch = []
        for row in rows:
            rules = rules_of[row["campaign_id"], row["version"], row["node_id"]]
            p = Prepared(
                message_id=row["id"],
                outbound=None,
                customer_id=0,
                attempts=0,
                expires_at=None,
                zone=zone_of(row["timezone"], account.timezone),
                window=Window.of(account) if rules is not None and rules.windowed else None,
                cascade=True,
                lifetime=rules.lifetime if rules is not None else None,
                payload=row["payload"],
            )
            reason = "Viber bounced" if row["status"] == "bounced" else "Viber: message lifetime ended"
            switch.append(self._switch(p, row["leased_until"], reason, now))
        message_sql.switch_to_sms(conn, self.db.dialect, switch)
        return len(switch)
