"""Statements on messages and the sandbox mailbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, Update, bindparam, func, select, update

from tidings.store.dialects import Dialect
from tidings.store.tables import customers, mailbox, messages


def claim_due(dialect: Dialect, *, now: datetime, limit: int, lease_until: datetime) -> Update:
    due = select(messages.c.id).where(messages.c.status == "queued", messages.c.send_after <= now)
    due = dialect.lock_for_claim(due.order_by(messages.c.send_after).limit(limit))
    return (
        update(messages)
        .where(messages.c.id.in_(due.scalar_subquery()))
        .values(status="sending", leased_until=lease_until, attempts=messages.c.attempts + 1)
        .returning(messages.c.id)
    )


def with_customers(ids: list[int]) -> Select[Any]:
    return (
        select(
            messages.c.id.label("message_id"),
            messages.c.campaign_id,
            messages.c.version,
            messages.c.node_id,
            messages.c.entry_id,
            messages.c.recipient,
            customers,
        )
        .join(customers, customers.c.id == messages.c.customer_id)
        .where(messages.c.id.in_(ids))
        .order_by(messages.c.id)
    )


def mark_sent(*, now: datetime, provider: str) -> Update:
    """Executed with many rows: b_id, b_subject, b_body, b_provider_message_id."""
    return (
        update(messages)
        .where(messages.c.id == bindparam("b_id"))
        .values(
            status="sent",
            sent_at=now,
            provider=provider,
            subject=bindparam("b_subject"),
            body=bindparam("b_body"),
            provider_message_id=bindparam("b_provider_message_id"),
            error=None,
            leased_until=None,
        )
    )


def mark_failed() -> Update:
    """Executed with many rows: b_id, b_status, b_error, b_send_after."""
    return (
        update(messages)
        .where(messages.c.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status"),
            error=bindparam("b_error"),
            send_after=bindparam("b_send_after"),
            leased_until=None,
        )
    )


def interrupted_sends(*, wall_now: datetime) -> Update:
    """A send that died mid-flight has an unknown outcome: mark it, never resend it blindly."""
    return (
        update(messages)
        .where(messages.c.status == "sending", messages.c.leased_until < wall_now)
        .values(status="failed", error="delivery interrupted; outcome unknown, not resent to avoid a duplicate")
    )


def next_send_after(*, after: datetime) -> Select[Any]:
    return select(func.min(messages.c.send_after)).where(messages.c.status == "queued", messages.c.send_after > after)


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
