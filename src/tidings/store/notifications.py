"""Statements on in-app notifications (D6): the inbox items Send notification stores, one per (entry, node,
customer), and what the app reads and marks read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Insert, Select, Update, func, literal, or_, select, update

from tidings.core.dialect import Dialect
from tidings.store.tables import journey_state, notifications

#: What a notification holds besides where it came from.
CONTENT = ("title", "text", "image_url", "link", "category", "created_at", "expires_at")
_ONCE = ["entry_id", "node_id", "customer_id"]


def insert_performed(
    dialect: Dialect, *, node_id: str, rows: ColumnElement[bool], content: Mapping[str, Any]
) -> Insert:
    """One notification with the same ``content`` for each ``journey_state`` row that ``rows`` holds for
    (``Batch.performed()``); a customer who already has the notification of node ``node_id`` (the chunk's) in this
    entry keeps it."""
    values = [literal(content[name], notifications.c[name].type) for name in CONTENT]
    source = select(
        journey_state.c.campaign_id,
        journey_state.c.entry_id,
        literal(node_id),
        journey_state.c.customer_id,
        *values,
    ).where(rows)
    return dialect.insert_ignoring_conflicts(notifications, _ONCE).from_select(
        ["campaign_id", "entry_id", "node_id", "customer_id", *CONTENT], source
    )


def insert_rows(dialect: Dialect, rows: Sequence[Mapping[str, Any]]) -> Insert:
    """Notifications given row by row (each rendered for its customer); duplicates are ignored."""
    return dialect.insert_ignoring_conflicts(notifications, _ONCE).values(list(rows))


def _active(now: datetime) -> ColumnElement[bool]:
    return or_(notifications.c.expires_at.is_(None), notifications.c.expires_at > now)


def _of_customer(customer_id: int, now: datetime, unread_only: bool) -> list[ColumnElement[bool]]:
    where = [notifications.c.customer_id == customer_id, _active(now)]
    if unread_only:
        where.append(notifications.c.read_at.is_(None))
    return where


def inbox(*, customer_id: int, now: datetime, unread_only: bool, limit: int, offset: int) -> Select[Any]:
    """A customer's notifications that have not expired, newest first."""
    return (
        select(notifications)
        .where(*_of_customer(customer_id, now, unread_only))
        .order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
        .limit(limit)
        .offset(offset)
    )


def count_inbox(*, customer_id: int, now: datetime, unread_only: bool) -> Select[Any]:
    return select(func.count()).select_from(notifications).where(*_of_customer(customer_id, now, unread_only))


def count_unread(*, customer_id: int, now: datetime) -> Select[Any]:
    return count_inbox(customer_id=customer_id, now=now, unread_only=True)


def get_notification(*, notification_id: int, customer_id: int) -> Select[Any]:
    return select(notifications).where(
        notifications.c.id == notification_id, notifications.c.customer_id == customer_id
    )


def mark_read(*, notification_id: int, customer_id: int, now: datetime) -> Update:
    """Record the first time the customer read it; reading it again changes nothing."""
    return (
        update(notifications)
        .where(
            notifications.c.id == notification_id,
            notifications.c.customer_id == customer_id,
            notifications.c.read_at.is_(None),
        )
        .values(read_at=now)
    )
