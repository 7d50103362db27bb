"""Statements that record what happened to a message after it was sent: delivered, opened, clicked, bounced,
a spam complaint, an unsubscribe.

Status rules. The status only moves forward along ``sent → delivered → opened → clicked``; an event that would
move it back (an open after a click, a delivery report after an open) records its time and leaves the status.
A click implies an open, and an open implies delivery, so their earlier times are filled in too. ``bounced``
may follow ``sent`` or ``delivered`` and is terminal, like ``undeliverable``. A ``failed`` message whose send
was interrupted with an unknown outcome moves on when an event proves it arrived. A message not yet recorded
as sent (``queued``, ``sending``) only gets the times. Each time column keeps the earliest report.

Complaint and unsubscribe are flags (``complained_at``, ``unsubscribed_at``) beside the status; both also
unsubscribe the customer from the message's channel, so nothing more is sent to someone who asked to stop or
marked a message as spam; a channel turned off records a loyalty sync request like any other (E22).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Select,
    Update,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    update,
)

from tidings.core.dialect import Dialect
from tidings.model.statuses import MessageStatus
from tidings.store.subscriptions import lock_customers, set_channels
from tidings.store.tables import messages
from tidings.store.types import Timestamp

Event = Literal["delivered", "open", "click", "bounced", "spam", "unsubscribed"]

#: Statuses an event may move a message out of, per target status.
_MOVES_TO: dict[MessageStatus, tuple[MessageStatus, ...]] = {
    "delivered": ("sent", "failed"),
    "opened": ("sent", "delivered", "failed"),
    "clicked": ("sent", "delivered", "opened", "failed"),
    "bounced": ("sent", "delivered", "failed"),
}


@dataclass(frozen=True)
class TrackingEvent:
    message_id: int
    event: Event
    at: datetime


def _at() -> ColumnElement[Any]:
    return bindparam("b_at", type_=Timestamp())


def _earliest(column: Column[Any]) -> ColumnElement[Any]:
    at = _at()
    return case((column.is_(None), at), (at < column, at), else_=column)


def _status_to(target: MessageStatus) -> ColumnElement[Any]:
    # ``status IN (…)`` would be an expanding parameter, which an executemany cannot carry
    movable = or_(*(messages.c.status == status for status in _MOVES_TO[target]))
    return case((movable, literal(target)), else_=messages.c.status)


def _by_id() -> Update:
    return update(messages).where(messages.c.id == bindparam("b_id"))


def mark_delivered() -> Update:
    """Executed with many rows: b_id, b_at."""
    return _by_id().values(status=_status_to("delivered"), delivered_at=_earliest(messages.c.delivered_at))


def mark_opened() -> Update:
    """Executed with many rows: b_id, b_at."""
    return _by_id().values(
        status=_status_to("opened"),
        opened_at=_earliest(messages.c.opened_at),
        delivered_at=_earliest(messages.c.delivered_at),
    )


def mark_clicked() -> Update:
    """Executed with many rows: b_id, b_at."""
    return _by_id().values(
        status=_status_to("clicked"),
        clicked_at=_earliest(messages.c.clicked_at),
        opened_at=_earliest(messages.c.opened_at),
        delivered_at=_earliest(messages.c.delivered_at),
    )


def mark_bounced() -> Update:
    """Executed with many rows: b_id, b_at."""
    return _by_id().values(status=_status_to("bounced"), bounced_at=_earliest(messages.c.bounced_at))


def mark_complained() -> Update:
    """Executed with many rows: b_id, b_at."""
    return _by_id().values(complained_at=_earliest(messages.c.complained_at))


def mark_unsubscribed() -> Update:
    """Executed with many rows: b_id, b_at."""
    return _by_id().values(unsubscribed_at=_earliest(messages.c.unsubscribed_at))


_STATEMENTS = {
    "delivered": mark_delivered,
    "open": mark_opened,
    "click": mark_clicked,
    "bounced": mark_bounced,
    "spam": mark_complained,
    "unsubscribed": mark_unsubscribed,
}


def recipients(message_ids: Sequence[int]) -> Select[Any]:
    """(customer id, channel) of the messages."""
    return select(messages.c.customer_id, messages.c.channel).where(messages.c.id.in_(message_ids)).distinct()


def record_events(conn: Connection, dialect: Dialect, events: Sequence[TrackingEvent], *, now: datetime) -> None:
    """Apply a batch of events: one statement per kind of event, then the channel unsubscribes."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_kind.setdefault(event.event, []).append({"b_id": event.message_id, "b_at": event.at})
    for kind, statement in _STATEMENTS.items():  # engagement first: an open in the same batch beats a bounce
        if kind in by_kind:
            conn.execute(statement(), by_kind[kind])
    stopping = sorted({e.message_id for e in events if e.event in ("spam", "unsubscribed")})
    if stopping:  # through the subscriptions module, so that turning a channel off reaches loyalty (E22)
        changes: dict[int, dict[str, str]] = {}
        for customer_id, channel in conn.execute(recipients(stopping)):
            changes.setdefault(customer_id, {})[channel] = "N"
        conn.execute(lock_customers(changes)).all()
        set_channels(conn, dialect, changes, now)


def messages_of_provider(provider: str, *, ids: Sequence[int], provider_message_ids: Sequence[str]) -> Select[Any]:
    """(id, provider_message_id) of the messages sent through ``provider`` among the given ids."""
    return select(messages.c.id, messages.c.provider_message_id).where(
        messages.c.provider == provider,
        messages.c.id.in_(ids) | messages.c.provider_message_id.in_(provider_message_ids),
    )


def email_recipients(message_ids: Sequence[int]) -> Select[Any]:
    """(id, recipient) of the e-mail messages among ``message_ids``."""
    return select(messages.c.id, messages.c.recipient).where(
        messages.c.id.in_(message_ids), messages.c.channel == "email"
    )


def latest_email_to(address: str) -> Select[Any]:
    """The id of the latest e-mail sent to ``address`` — for a report that does not carry our Message-ID (a
    Postmark webhook); reads the e-mail messages of that address, so it is used for one report at a time."""
    return (
        select(messages.c.id)
        .where(messages.c.channel == "email", messages.c.recipient == address, messages.c.sent_at.is_not(None))
        .order_by(messages.c.id.desc())
        .limit(1)
    )


def campaign_email_outcomes(campaign_id: int) -> Select[int, int, int, int, int]:
    """(sent, delivered, bounced, complained, unsubscribed) e-mails of a campaign: counts of the non-null times."""
    return select(
        func.count(messages.c.sent_at),
        func.count(messages.c.delivered_at),
        func.count(messages.c.bounced_at),
        func.count(messages.c.complained_at),
        func.count(messages.c.unsubscribed_at),
    ).where(messages.c.campaign_id == campaign_id, messages.c.channel == "email")
