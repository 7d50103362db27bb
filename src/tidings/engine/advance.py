"""The unit of work: claim a chunk of the customers due at one node and advance them, in one transaction.

Both runtimes (direct and DBOS) call ``advance_chunk``. The claim is the transaction's own row locks (PostgreSQL
skips rows another transaction holds), so nothing is written to claim a chunk and nothing is left to release: a
worker that dies mid-chunk rolls the whole chunk back, and the next claim at that node takes its customers again.
Running it twice is safe: a customer advanced by the first run is no longer due at the node.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from tidings.core.account import AccountSettings
from tidings.core.contracts import Batch, Context, Routing
from tidings.core.outcomes import ENTERED, HELD, Held, Outcome, Performed, decode
from tidings.document.cache import DocumentCache
from tidings.document.campaign import CampaignDocument
from tidings.document.registry import ACTIONS
from tidings.engine.arrival import due_on_arrival
from tidings.engine.counters import CounterDelta
from tidings.store import journeys
from tidings.store.account import load_account
from tidings.store.database import Database
from tidings.store.journey_rows import chunk_member


class UnroutedRows(RuntimeError):
    """An action left rows without a rule: a bug in the action, never a customer problem."""


@dataclass(frozen=True)
class DueNode:
    """A campaign node where customers may be due: where a chunk is claimed."""

    campaign_id: int
    node_id: str


@dataclass
class ChunkResult:
    node_id: str | None = None
    size: int = 0
    outcomes: dict[Outcome, int] = field(default_factory=dict)


def advance_chunk(db: Database, documents: DocumentCache, at: DueNode, now: datetime, *, limit: int) -> ChunkResult:
    """Claim up to ``limit`` customers due at the node ``at`` (earliest due first) and advance them; an empty
    result when none is due, the campaign is not active, or the node is gone from its current version."""
    with db.engine.begin() as conn:
        campaign = conn.execute(journeys.campaign_for_chunk(at.campaign_id)).first()
        if campaign is None or campaign.status != "active":
            return ChunkResult()
        version = campaign.current_version
        document = documents.get(conn, at.campaign_id, version)
        if not document.has_node(at.node_id):
            return ChunkResult()
        conn.execute(journeys.prepare_chunk())
        size = conn.execute(
            journeys.claim_chunk(
                db.dialect, campaign_id=at.campaign_id, version=version, node_id=at.node_id, now=now, limit=limit
            )
        ).rowcount
        if not size:
            return ChunkResult()
        outcomes = _advance(conn, db, document, at, version, size, now)
        conn.execute(journeys.clear_chunk())
        return ChunkResult(at.node_id, size, outcomes)


def _advance(
    conn: Connection, db: Database, document: CampaignDocument, at: DueNode, version: int, size: int, now: datetime
) -> dict[Outcome, int]:
    """Route the claimed chunk by the node's rules, run the action's effects, trace and count what happened,
    and move each customer on (or out) with one statement per kind of change."""
    node = document.node(at.node_id)
    action = ACTIONS[node.type]
    account = load_account(conn)
    ctx = Context(conn=conn, dialect=db.dialect, now=now, account=account, graph=document)
    batch = Batch(
        campaign_id=at.campaign_id,
        version=version,
        node_id=at.node_id,
        size=size,
        member=chunk_member(),
        given=lambda outcome: chunk_member([outcome]),
    )
    routing: Routing = action.execute(batch, node.config, ctx)

    for statement in journeys.route_chunk(routing.rules):
        conn.execute(statement)
    counted: dict[str | None, int] = {value: count for value, count in conn.execute(journeys.outcome_counts())}
    unrouted = counted.pop(None, 0)
    if unrouted:
        raise UnroutedRows(f"action {node.type!r} at node {at.node_id!r} left {unrouted} customers unrouted")
    for effect in routing.effects:
        conn.execute(effect)

    outcomes = {decode(value): count for value, count in counted.items() if value is not None}
    counters = CounterDelta(at.campaign_id, str(uuid.uuid4()))
    leaving = [outcome for outcome in outcomes if not isinstance(outcome, Held)]
    if leaving:
        conn.execute(journeys.trace_chunk(leaving, now=now))
    terminal = [
        outcome
        for outcome in leaving
        if not isinstance(outcome, Performed) or not document.targets(at.node_id, outcome.port)
    ]
    if terminal:
        conn.execute(journeys.complete_entries(terminal, now=now, fans_out=document.fans_out()))
        conn.execute(journeys.delete_leaving(terminal))
    moves: dict[Performed, tuple[str, datetime]] = {}
    for outcome, count in outcomes.items():
        counters.count(at.node_id, outcome, count)
        if isinstance(outcome, Performed):
            moves.update(_fan_out(conn, at.node_id, outcome, document, counters, count, now, account))
    if moves or HELD in outcomes:
        conn.execute(journeys.move_chunk(moves, held=HELD in outcomes, now=now))
    counters.write(conn, db.dialect)
    return outcomes


def _fan_out(
    conn: Connection,
    node_id: str,
    outcome: Performed,
    document: CampaignDocument,
    counters: CounterDelta,
    count: int,
    now: datetime,
    account: AccountSettings,
) -> dict[Performed, tuple[str, datetime]]:
    """Copy a port's customers to every child but the first; return where the rows themselves go (the first
    child, and when they are due there), or nothing when the port leads nowhere."""
    targets = document.targets(node_id, outcome.port)
    if not targets:
        return {}
    for target in targets[1:]:
        due = due_on_arrival(document, target, now, account)
        conn.execute(journeys.copy_to_node(outcome, target=target, now=now, due_at=due))
    for target in targets:
        counters.add(target, ENTERED, count)
    first = targets[0]
    return {outcome: (first, due_on_arrival(document, first, now, account))}
