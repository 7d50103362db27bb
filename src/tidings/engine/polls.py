"""Answering a poll (spec 5.7, D5): the transaction behind the voting page.

``record_response`` runs in the transaction that locked the poll row (so concurrent answers never overshoot a
limit): it refuses a second answer (the unique index on poll × customer is the last word) or an answer beyond
the limit, stores the answer, closes the customer's invitation, records a ``poll_completed`` event — which
reaches the trigger inbox of the campaigns listening to it in the same transaction — and wakes the customers
waiting at Limit poll nodes for a free invitation slot.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection

from tidings.core.dialect import Dialect
from tidings.store import polls as poll_sql
from tidings.store.events import NewEvent, insert_events

Refusal = Literal["answered", "closed"]


@dataclass(frozen=True)
class Recorded:
    refused: Refusal | None  # None: stored


def limit_reached(conn: Connection, poll: Any, store_code: str | None) -> bool:
    """Whether the poll's limit (if it has one) leaves no room for an answer of a customer of ``store_code``."""
    if poll["limit_type"] is None or poll["limit_value"] is None:
        return False
    scope = poll_sql.responses_in_scope(poll["id"], limit_type=poll["limit_type"], store_code=store_code)
    return int(conn.execute(scope).scalar_one()) >= int(poll["limit_value"])


def record_response(
    conn: Connection,
    dialect: Dialect,
    *,
    poll: Any,
    customer_id: int,
    store_code: str | None,
    answers: dict[str, Any],
    event_properties: dict[str, Any],
    now: datetime,
) -> Recorded:
    """Store one customer's answers (``poll`` is the row ``lock_poll`` returned in this transaction)."""
    poll_id = int(poll["id"])
    if conn.execute(poll_sql.has_answered(poll_id, customer_id)).scalar():
        return Recorded("answered")
    if limit_reached(conn, poll, store_code):
        return Recorded("closed")
    stored = conn.execute(
        poll_sql.insert_response(
            dialect, poll_id=poll_id, customer_id=customer_id, store_code=store_code, answers=answers, now=now
        )
    ).first()
    if stored is None:  # a concurrent answer of the same customer won
        return Recorded("answered")
    invited = conn.execute(poll_sql.close_invitation(poll_id, customer_id, now=now)).first()
    completed = NewEvent(customer_id, poll_sql.POLL_COMPLETED, event_properties, now)
    insert_events(conn, [completed], str(uuid.uuid4()), now)
    if limit_reached(conn, poll, store_code):  # this answer closed the poll (for the store): nobody waits any more
        for campaign_id, node_id in conn.execute(poll_sql.inviting_nodes(poll_id)).all():
            conn.execute(poll_sql.wake_node(campaign_id, node_id, now=now))
    elif invited is not None and invited.campaign_id is not None and invited.node_id is not None:
        conn.execute(poll_sql.wake_next(invited.campaign_id, invited.node_id, now=now))  # a slot freed up
    return Recorded(None)
