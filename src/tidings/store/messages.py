"""Statements on messages and the sandbox mailbox.

A message's life (``status``)::

    queued ──claim──► queued + lease ──taken by a provider──► sending ──► sent (→ delivered, opened, … by tracking)
      ▲                   │                                      │  ├──► failed          (refused for good)
      └── retry (back-off)┴──────────────────────────────────────┘  └──► undeliverable   (lifetime over, attempts
                                                                                          used up)

A claimed message stays ``queued`` with ``leased_until`` set: a worker that dies before handing it to a provider
loses nothing (the lease runs out and another worker claims it). ``sending`` means "maybe in a provider's
hands"; one found ``sending`` with its lease run out belongs to a dead worker and is resent under the same
idempotency key. The lease value is also the fence: every status write names the lease it was given, so a
worker whose lease was taken over writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Select,
    Update,
    bindparam,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy import (
    case as sql_case,
)

from tidings.core.dialect import Dialect, Rows
from tidings.model.statuses import MessageStatus
from tidings.store.tables import customers, journey_state, mailbox, messages, push_tokens
from tidings.store.types import Timestamp

#: ``payload.mode`` of a Viber message that falls back to SMS when Viber cannot deliver it.
CASCADE = "viber_sms"
#: The note on a message that a dead worker left in a provider's hands; kept once it is sent again.
IN_DOUBT = "a worker stopped while the provider had this message; resent under the same idempotency key"


def _free(wall_now: datetime) -> ColumnElement[bool]:
    return or_(messages.c.leased_until.is_(None), messages.c.leased_until < wall_now)


def _lease_is(lease: ColumnElement[Any]) -> ColumnElement[bool]:
    return messages.c.leased_until.is_not_distinct_from(lease)


# -- queueing (the send actions) -----------------------------------------------------------------------------
def queue_from_batch(
    dialect: Dialect,
    performed: ColumnElement[bool],
    *,
    node_id: str,
    channel: ColumnElement[Any],
    recipient: ColumnElement[Any],
    send_after: ColumnElement[Any],
    expires_at: ColumnElement[Any] | None,
    payload: ColumnElement[Any] | None,
    now: datetime,
    reads_customers: bool = True,
) -> Insert:
    """One queued message of node ``node_id`` (the chunk's) per ``journey_state`` row that ``performed`` holds for
    (``Batch.performed``: suppressed rows are left out); at most one per (entry, node, customer) — the unique index
    makes a replay a no-op. The value expressions read the ``journey_state`` row and, with ``reads_customers``, its
    customer's ``customers`` row."""
    rows = select(
        journey_state.c.campaign_id,
        journey_state.c.version,
        journey_state.c.entry_id,
        literal(node_id),
        journey_state.c.customer_id,
        channel,
        recipient,
        literal("queued"),
        send_after,
        expires_at if expires_at is not None else null(),
        payload if payload is not None else null(),
        literal(now, Timestamp()),
    ).where(performed)
    if reads_customers:
        rows = rows.join_from(journey_state, customers, customers.c.id == journey_state.c.customer_id)
    columns = [
        "campaign_id",
        "version",
        "entry_id",
        "node_id",
        "customer_id",
        "channel",
        "recipient",
        "status",
        "send_after",
        "expires_at",
        "payload",
        "created_at",
    ]
    return _queue_once(dialect).from_select(columns, rows)


def _queue_once(dialect: Dialect) -> Insert:
    """The unique index on (entry, node, customer) makes queueing a replay a no-op."""
    return dialect.insert_ignoring_conflicts(messages, ["entry_id", "node_id", "customer_id"])


def zones_of_batch(batch_member: ColumnElement[bool]) -> Select[Any]:
    """The distinct customer time zones (NULL included) of a batch's rows."""
    return (
        select(customers.c.timezone)
        .join_from(journey_state, customers, customers.c.id == journey_state.c.customer_id)
        .where(batch_member)
        .distinct()
    )


# -- the delivery queue -----------------------------------------------------------------------------------------
def _due(dialect: Dialect, *, channel: str, now: datetime, wall_now: datetime, limit: int) -> Select[Any]:
    """Up to ``limit`` due messages of a channel, earliest first, none another worker holds."""
    due = select(messages.c.id).where(
        messages.c.status == "queued",
        messages.c.channel == channel,
        messages.c.send_after <= now,
        _free(wall_now),
        or_(messages.c.expires_at.is_(None), messages.c.expires_at > now),
    )
    return dialect.lock_for_claim(due.order_by(messages.c.send_after).limit(limit))


def claim_due(
    dialect: Dialect,
    *,
    channel: str,
    now: datetime,
    wall_now: datetime,
    limit: int,
    lease_until: datetime,
    expires_at: datetime,
) -> Update:
    """Lease up to ``limit`` due messages of a channel, count the attempt, and give a message without a lifetime
    of its own one ending at ``expires_at`` (the lifetime runs from the first attempt): for a chunk whose sending
    outlives its transaction."""
    due = _due(dialect, channel=channel, now=now, wall_now=wall_now, limit=limit)
    return (
        update(messages)
        .where(dialect.among(messages.c.id, due))
        .values(
            leased_until=lease_until,
            attempts=messages.c.attempts + 1,
            expires_at=func.coalesce(messages.c.expires_at, literal(expires_at, Timestamp())),
        )
        .returning(messages.c.id)
    )


def lock_due(dialect: Dialect, *, channel: str, now: datetime, wall_now: datetime, limit: int) -> Select[Any]:
    """Lock up to ``limit`` due messages of a channel for this transaction, writing nothing: for a chunk claimed,
    sent and recorded in one transaction, whose record counts the attempt (``counted_attempt``)."""
    return _due(dialect, channel=channel, now=now, wall_now=wall_now, limit=limit)


def with_customers(dialect: Dialect, ids: Sequence[int]) -> Select[Any]:
    """The claimed messages with their recipients' time zones (the template variables come from
    ``rendering.variables.build_contexts``)."""
    return (
        select(
            messages.c.id.label("message_id"),
            messages.c.campaign_id,
            messages.c.version,
            messages.c.node_id,
            messages.c.entry_id,
            messages.c.channel,
            messages.c.recipient,
            messages.c.payload,
            messages.c.attempts,
            messages.c.expires_at,
            messages.c.leased_until,
            messages.c.customer_id,
            customers.c.timezone,
        )
        .join(customers, customers.c.id == messages.c.customer_id)
        .where(dialect.among(messages.c.id, ids))
        .order_by(messages.c.id)
    )


def push_tokens_of(dialect: Dialect, ids: Sequence[int]) -> Select[Any]:
    """(message id, token) for every active device token of the recipients of these messages."""
    return (
        select(messages.c.id, push_tokens.c.token)
        .join(push_tokens, push_tokens.c.customer_id == messages.c.customer_id)
        .where(dialect.among(messages.c.id, ids), push_tokens.c.active.is_(True))
        .order_by(messages.c.id, push_tokens.c.id)
    )


def mark_sending() -> Update:
    """Messages about to be handed to a provider, executed with ``ids``, ``claimed`` (the lease they were claimed
    under) and ``lease_until``; returns the ids still ours."""
    return (
        update(messages)
        .where(
            messages.c.id.in_(bindparam("ids", expanding=True)),
            messages.c.status == "queued",
            _lease_is(bindparam("claimed", type_=Timestamp())),
        )
        .values(status="sending", leased_until=bindparam("lease_until", type_=Timestamp()))
        .returning(messages.c.id)
    )


# -- recording results: each statement writes a set of messages, given as rows ---------------------------------
class Sent(NamedTuple):
    """A message its provider accepted, with what it sent (``stored``)."""

    id: int
    leased_until: datetime | None  # the lease it was handed over under: the fence
    attempts: int  # counting this one
    expires_at: datetime | None
    subject: str | None
    body: str
    provider_message_id: str | None


class Retried(NamedTuple):
    """A message queued again after a transient failure."""

    id: int
    leased_until: datetime | None
    attempts: int
    expires_at: datetime | None
    error: str
    send_after: datetime


class Failed(NamedTuple):
    """A message that will not be sent: ``failed`` (refused for good) or ``undeliverable``."""

    id: int
    leased_until: datetime | None
    attempts: int
    expires_at: datetime | None
    status: MessageStatus
    error: str


class Switched(NamedTuple):
    """A cascade's Viber message that becomes its SMS (``switch_to_sms``)."""

    id: int
    leased_until: datetime | None
    send_after: datetime
    expires_at: datetime
    payload: dict[str, Any]
    error: str


def _results(dialect: Dialect, name: str, row: type[NamedTuple], rows: Sequence[NamedTuple]) -> Rows:
    """``rows`` (of type ``row``), each field the ``messages`` column it names."""
    return dialect.rows(name, [messages.c[field] for field in row._fields], rows)


def _fenced(results: Rows) -> ColumnElement[bool]:
    """Each message of ``results``, while it is still held under the lease its row names."""
    return results.match(messages.c.id, "id") & _lease_is(results["leased_until"])


def mark_sent(conn: Connection, dialect: Dialect, rows: Sequence[Sent], *, now: datetime, provider: str) -> int:
    """The messages ``provider`` accepted at ``now`` become ``sent``, with the text they were sent with; returns how
    many were still held under their lease."""
    sent = _results(dialect, "sent", Sent, rows)
    statement = (
        update(messages)
        .where(_fenced(sent))
        .values(
            status="sent",
            sent_at=literal(now, Timestamp()),
            provider=provider,
            subject=sent["subject"],
            body=sent["body"],
            provider_message_id=sent["provider_message_id"],
            error=sql_case((messages.c.error == IN_DOUBT, messages.c.error), else_=null()),
            leased_until=None,
            attempts=sent["attempts"],
            expires_at=sent["expires_at"],
        )
    )
    return sent.write(conn, statement)


def mark_retry(conn: Connection, dialect: Dialect, rows: Sequence[Retried]) -> int:
    retried = _results(dialect, "retried", Retried, rows)
    statement = (
        update(messages)
        .where(_fenced(retried))
        .values(
            status="queued",
            error=retried["error"],
            send_after=retried["send_after"],
            leased_until=None,
            attempts=retried["attempts"],
            expires_at=retried["expires_at"],
        )
    )
    return retried.write(conn, statement)


def mark_failed(conn: Connection, dialect: Dialect, rows: Sequence[Failed]) -> int:
    failed = _results(dialect, "failed", Failed, rows)
    statement = (
        update(messages)
        .where(_fenced(failed))
        .values(
            status=failed["status"],
            error=failed["error"],
            leased_until=None,
            attempts=failed["attempts"],
            expires_at=failed["expires_at"],
        )
    )
    return failed.write(conn, statement)


def switch_to_sms(conn: Connection, dialect: Dialect, rows: Sequence[Switched]) -> int:
    """Viber → SMS cascade: each message becomes the SMS in place (one message per entry, node and customer),
    keeping what became of the Viber attempt in its payload."""
    switched = _results(dialect, "switched", Switched, rows)
    statement = (
        update(messages)
        .where(_fenced(switched), messages.c.channel == "viber")
        .values(
            channel="sms",
            status="queued",
            attempts=0,
            send_after=switched["send_after"],
            expires_at=switched["expires_at"],
            payload=switched["payload"],
            error=switched["error"],
            provider=None,
            provider_message_id=None,
            sent_at=None,
            delivered_at=None,
            bounced_at=None,
            leased_until=None,
        )
    )
    return switched.write(conn, statement)


def release(ids: Sequence[int], *, claimed: datetime) -> Update:
    """Claimed messages that were never handed to a provider: free again, the attempt not counted."""
    return (
        update(messages)
        .where(messages.c.id.in_(ids), messages.c.status == "queued", _lease_is(literal(claimed, Timestamp())))
        .values(leased_until=None, attempts=messages.c.attempts - 1)
    )


def recover_in_doubt(*, wall_now: datetime) -> Update:
    """Messages a dead worker had handed to a provider without learning the outcome: queue them again, to be
    resent under the same idempotency key (see ``delivery.pipeline``)."""
    return (
        update(messages)
        .where(messages.c.status == "sending", messages.c.leased_until < wall_now)
        .values(
            status="queued",
            leased_until=None,
            error=IN_DOUBT,
        )
    )


def _is_cascade() -> ColumnElement[bool]:
    mode: ColumnElement[str] = messages.c.payload["mode"].as_string()
    return mode == CASCADE


def falls_back_to_sms(channel: str, payload: Mapping[str, Any] | None) -> bool:
    """Whether a message is the Viber message of a Viber → SMS cascade, which becomes its SMS when Viber cannot
    deliver it (in SQL: ``_is_cascade`` of a Viber message)."""
    return channel == "viber" and payload is not None and payload.get("mode") == CASCADE


#: A bounce reported this long after a cascade's Viber message went out no longer sends its SMS (and keeps the
#: search for bounced cascades on the recent end of the queue index).
BOUNCE_FALLBACK_WINDOW = timedelta(days=3)


def cascades_to_switch(*, now: datetime, wall_now: datetime) -> Select[Any]:
    """Viber messages of a Viber → SMS cascade that Viber will not deliver: their lifetime ended while queued,
    or a delivery report said bounced (within ``BOUNCE_FALLBACK_WINDOW``). With what the switch needs (customer
    time zone, node, payload)."""
    expired = (messages.c.status == "queued") & (messages.c.send_after <= now) & (messages.c.expires_at <= now)
    bounced = (messages.c.status == "bounced") & (messages.c.send_after > now - BOUNCE_FALLBACK_WINDOW)
    return (
        select(
            messages.c.id,
            messages.c.campaign_id,
            messages.c.version,
            messages.c.node_id,
            messages.c.status,
            messages.c.error,
            messages.c.payload,
            messages.c.leased_until,
            messages.c.provider_message_id,
            customers.c.timezone,
        )
        .join(customers, customers.c.id == messages.c.customer_id)
        .where(
            messages.c.channel == "viber",
            or_(expired & _free(wall_now), bounced),
            _is_cascade(),
        )
        .order_by(messages.c.id)
    )


def expire_overdue(*, now: datetime, wall_now: datetime) -> Update:
    """Queued messages whose lifetime ended become ``undeliverable`` (cascades are switched to SMS first)."""
    return (
        update(messages)
        .where(
            messages.c.status == "queued",
            messages.c.send_after <= now,
            messages.c.expires_at <= now,
            _free(wall_now),
        )
        .values(
            status="undeliverable",
            leased_until=None,
            error=sql_case(
                (messages.c.error.is_(None), literal("message lifetime ended before it could be sent")),
                else_=literal("message lifetime ended; last error: ") + messages.c.error,
            ),
        )
    )


def next_send_after(*, after: datetime) -> Select[Any]:
    return select(func.min(messages.c.send_after)).where(messages.c.status == "queued", messages.c.send_after > after)


# -- the sandbox mailbox ----------------------------------------------------------------------------------------
class Received(NamedTuple):
    """An e-mail the sandbox keeps in the built-in mailbox."""

    message_id: int
    recipient: str
    sender: str
    subject: str
    body_html: str
    received_at: datetime


def insert_mailbox(conn: Connection, dialect: Dialect, rows: Sequence[Received]) -> int:
    received = dialect.rows("received", [mailbox.c[field] for field in Received._fields], rows)
    return received.write(conn, received.insert_into(mailbox))


# -- reading ----------------------------------------------------------------------------------------------------
def list_messages(
    *, campaign_id: int | None, node_id: str | None, customer_id: int | None, limit: int, offset: int
) -> Select[Any]:
    query = select(messages, customers.c.external_id).join(customers, customers.c.id == messages.c.customer_id)
    if campaign_id is not None:
        query = query.where(messages.c.campaign_id == campaign_id)
    if node_id is not None:
        query = query.where(messages.c.node_id == node_id)
    if customer_id is not None:
        query = query.where(messages.c.customer_id == customer_id)
    return query.order_by(messages.c.id).limit(limit).offset(offset)


def list_mailbox(*, recipient: str | None, limit: int, offset: int) -> Select[Any]:
    query = select(mailbox)
    if recipient is not None:
        query = query.where(mailbox.c.recipient == recipient)
    return query.order_by(mailbox.c.id).limit(limit).offset(offset)
