"""Statements on pending popups (D7): created by Show PopUp, one per (entry, node, customer); the app asks for the
one to show at an app action and confirms it once shown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Insert, Select, Update, literal, or_, select, update

from tidings.core.dialect import Dialect
from tidings.store.tables import journey_state, popups

#: What a popup holds besides where it came from.
CONTENT = ("app_action", "content", "priority", "created_at", "expires_at")
#: The app action a popup made for any action is stored under.
ANY_ACTION = "any"
_ONCE = ["entry_id", "node_id", "customer_id"]


def insert_performed(
    dialect: Dialect, *, node_id: str, rows: ColumnElement[bool], content: Mapping[str, Any]
) -> Insert:
    """One popup with the same ``content`` for each ``journey_state`` row that ``rows`` holds for
    (``Batch.performed()``); a customer who already has the popup of node ``node_id`` (the chunk's) in this entry keeps
    it."""
    values = [literal(content[name], popups.c[name].type) for name in CONTENT]
    source = select(
        journey_state.c.campaign_id,
        journey_state.c.entry_id,
        literal(node_id),
        journey_state.c.customer_id,
        *values,
    ).where(rows)
    return dialect.insert_ignoring_conflicts(popups, _ONCE).from_select(
        ["campaign_id", "entry_id", "node_id", "customer_id", *CONTENT], source
    )


def insert_rows(dialect: Dialect, rows: Sequence[Mapping[str, Any]]) -> Insert:
    """Popups given row by row (each rendered for its customer); duplicates are ignored."""
    return dialect.insert_ignoring_conflicts(popups, _ONCE).values(list(rows))


def next_popup(*, customer_id: int, action: str, now: datetime) -> Select[Any]:
    """The one popup to show the customer at ``action``: pending (never confirmed), active (created, not yet
    expired), made for this action or for any; the highest priority, then the newest."""
    return (
        select(popups)
        .where(
            popups.c.customer_id == customer_id,
            or_(popups.c.app_action == action, popups.c.app_action == ANY_ACTION),
            popups.c.shown_at.is_(None),
            popups.c.created_at <= now,
            popups.c.expires_at > now,
        )
        .order_by(popups.c.priority.desc(), popups.c.created_at.desc(), popups.c.id.desc())
        .limit(1)
    )


def get_popup(*, popup_id: int, customer_id: int) -> Select[Any]:
    return select(popups).where(popups.c.id == popup_id, popups.c.customer_id == customer_id)


def confirm_shown(*, popup_id: int, customer_id: int, now: datetime) -> Update:
    """Record that the app showed it (the first confirmation wins); it is never offered again."""
    return (
        update(popups)
        .where(popups.c.id == popup_id, popups.c.customer_id == customer_id, popups.c.shown_at.is_(None))
        .values(shown_at=now)
    )
