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
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    Update,
    bindparam,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy import (
    case as sql_case,
)

from tidings.core.dialect import Dialect
from tidings.store.tables import customers, journey_state, mailbox, messages, push_tokens
from tidings.store.types import Json, Timestamp

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
    channel: ColumnElement[Any],
    recipient: ColumnElement[Any],
    send_after: ColumnElement[Any],
    expires_at: ColumnElement[Any] | None,
    payload: ColumnElement[Any] | None,
    now: datetime,
    reads_customers: bool = True,
) -> Insert:
    """One queued message per ``journey_state`` row that ``performed`` holds for (``Batch.performed``: suppressed
    rows are left out); at most one per (entry, node, customer) — the unique index makes a replay a no-op. The value
    expressions read the ``journey_state`` row and, with ``reads_customers``, its customer's ``customers`` row."""
    rows = select(
        journey_state.c.campaign_id,
        journey_state.c.version,
        journey_state.c.entry_id,
        journey_state.c.node_id,
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
    of its own one ending at ``expires_at`` (the lifetime runs from the first attempt)."""
    due = select(messages.c.id).where(
        messages.c.status == "queued",
        messages.c.channel == channel,
        messages.c.send_after <= now,
        _free(wall_now),
        or_(messages.c.expires_at.is_(None), messages.c.expires_at > now),
    )
    due = dialect.lock_for_claim(due.order_by(messages.c.send_after).limit(limit))
    return (
        update(messages)
        .where(messages.c.id.in_(due.scalar_subquery()))
        .values(
            leased_until=lease_until,
            attempts=messages.c.attempts + 1,
            expires_at=func.coalesce(messages.c.expires_at, literal(expires_at, Timestamp())),
        )
        .returning(messages.c.id)
    )


def with_customers(ids: Sequence[int]) -> Select[Any]:
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
        .where(messages.c.id.in_(ids))
        .order_by(messages.c.id)
    )


def push_tokens_of(ids: Sequence[int]) -> Select[Any]:
    """(message id, token) for every active device token of the recipients of these messages."""
    return (
        select(messages.c.id, push_tokens.c.token)
        .join(push_tokens, push_tokens.c.customer_id == messages.c.customer_id)
        .where(messages.c.id.in_(ids), push_tokens.c.active.is_(True))
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


def _lease_param() -> ColumnElement[Any]:
    return bindparam("b_lease", type_=Timestamp())


def mark_sent() -> Update:
    """Executed with many rows: b_id, b_lease, b_now, b_provider, b_subject, b_body, b_provider_message_id."""
    return (
        update(messages)
        .where(messages.c.id == bindparam("b_id"), _lease_is(_lease_param()))
        .values(
            status="sent",
            sent_at=bindparam("b_now", type_=Timestamp()),
            provider=bindparam("b_provider"),
            subject=bindparam("b_subject"),
            body=bindparam("b_body"),
            provider_message_id=bindparam("b_provider_message_id"),
            error=sql_case((messages.c.error == IN_DOUBT, messages.c.error), else_=null()),
            leased_until=None,
        )
    )


def mark_retry() -> Update:
    """Executed with many rows: b_id, b_lease, b_error, b_send_after."""
    return (
        update(messages)
        .where(messages.c.id == bindparam("b_id"), _lease_is(_lease_param()))
        .values(
            status="queued",
            error=bindparam("b_error"),
            send_after=bindparam("b_send_after", type_=Timestamp()),
            leased_until=None,
        )
    )


def mark_failed() -> Update:
    """Executed with many rows: b_id, b_lease, b_status (failed | undeliverable), b_error."""
    return (
        update(messages)
        .where(messages.c.id == bindparam("b_id"), _lease_is(_lease_param()))
        .values(status=bindparam("b_status"), error=bindparam("b_error"), leased_until=None)
    )


def switch_to_sms() -> Update:
    """Viber → SMS cascade, executed with many rows: b_id, b_lease, b_send_after, b_expires_at, b_payload,
    b_error. The message becomes the SMS in place (one message per entry, node and customer), keeping what
    became of the Viber attempt in its payload."""
    return (
        update(messages)
        .where(messages.c.id == bindparam("b_id"), messages.c.channel == "viber", _lease_is(_lease_param()))
        .values(
            channel="sms",
            status="queued",
            attempts=0,
            send_after=bindparam("b_send_after", type_=Timestamp()),
            expires_at=bindparam("b_expires_at", type_=Timestamp()),
            payload=bindparam("b_payload", type_=Json),
            error=bindparam("b_error"),
            provider=None,
            provider_message_id=None,
            sent_at=None,
            delivered_at=None,
            bounced_at=None,
            leased_until=None,
        )
    )


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
def insert_mailbox() -> Insert:
    """Executed with many rows: message_id, recipient, sender, subject, body_html, received_at."""
    return insert(mailbox)


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
