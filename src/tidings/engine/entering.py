"""Entering a campaign: candidates become entries and tokens at the trigger's children, set-at-a-time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select

from tidings.core.account import AccountSettings
from tidings.core.contracts import ClosesAdmission
from tidings.core.dialect import Dialect
from tidings.core.outcomes import ENTERED, PERFORMED, Performed
from tidings.document.campaign import CampaignDocument
from tidings.document.registry import ACTIONS
from tidings.engine.arrival import due_on_arrival
from tidings.engine.counters import CounterDelta
from tidings.store import journeys, limits


@dataclass(frozen=True)
class Entered:
    batch: str
    count: int


def enter_customers(
    conn: Connection,
    dialect: Dialect,
    *,
    campaign_id: int,
    version: int,
    document: CampaignDocument,
    candidates: Select[Any],
    now: datetime,
    account: AccountSettings,
    passes: str | None = None,
) -> Entered:
    """Enter ``candidates`` (one row per customer: customer_id, context, event_id) into the campaign.

    Customers inside the re-entry interval, or with an entry still running, are left out; nobody enters once a
    node has closed the campaign to new entries (D4). With ``passes``, the new tokens pass that child of the
    trigger at once (D11: the candidates are already what it would let through) and start at its children.
    """
    batch = journeys.EntryBatch(str(uuid.uuid4()), conn.execute(journeys.last_entry_id()).scalar_one())
    if _admission_closed(conn, document, campaign_id):
        return Entered(batch.tag, 0)
    interval = document.settings.reentry_interval
    reentry_after = now - interval if interval else None
    inserted = conn.execute(
        journeys.insert_entries(
            candidates, campaign_id=campaign_id, version=version, now=now, batch=batch, reentry_after=reentry_after
        )
    ).rowcount
    if not inserted:
        return Entered(batch.tag, 0)
    trigger_id = document.trigger.id
    conn.execute(journeys.trace_entries(batch, trigger_id=trigger_id, now=now))
    counters = CounterDelta(campaign_id, batch.tag)
    counters.add(trigger_id, PERFORMED, inserted)
    children = document.targets(trigger_id, "out")
    if passes is not None:
        conn.execute(journeys.trace_entries(batch, trigger_id=passes, now=now))  # performed, port out
        counters.add(passes, ENTERED, inserted)
        counters.count(passes, Performed("out"), inserted)
        children = document.targets(passes, "out")
    for child in children:
        due = due_on_arrival(document, child, now, account)
        conn.execute(journeys.tokens_from_entries(batch, node_id=child, now=now, due_at=due))
        counters.add(child, ENTERED, inserted)
    if not children:
        conn.execute(journeys.complete_batch_without_children(batch, now=now))
    counters.write(conn, dialect)
    return Entered(batch.tag, inserted)


def _admission_closed(conn: Connection, document: CampaignDocument, campaign_id: int) -> bool:
    """Whether a node keeps the campaign closed to new entries (D4). The campaign's status says why while it is
    closed, and stops saying so once it is open again (e.g. after the limit was raised)."""
    reasons: list[str] = []
    for node in document.nodes:
        action = ACTIONS[node.type]
        if not isinstance(action, ClosesAdmission):
            continue
        closed = action.admission_closed(node.config, campaign_id, node.id)
        if closed is None:
            continue
        reason = action.closed_reason(node.config, node.id)
        if conn.execute(limits.holds(closed)).scalar():
            conn.execute(limits.note_closed(campaign_id, reason=reason))
            return True
        reasons.append(reason)
    if reasons:
        conn.execute(limits.unnote_closed(campaign_id, reasons=reasons))
    return False
