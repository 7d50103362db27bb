"""The unit of work: claim a chunk of the customers due at one node and advance them, in one transaction.

Both runtimes (direct and DBOS) call ``advance_chunk``. The claim is the transaction's own row locks (PostgreSQL
skips rows another transaction holds), so nothing is written to claim a chunk and nothing is left to release: a
worker that dies mid-chunk rolls the whole chunk back, and the next claim at that node takes its customers again.
Running it twice is safe: a customer advanced by the first run is no longer due at the node.

Customers sent on to a node that is due at once (a send after a wait, a filter after a split) are advanced there in
the same transaction, as the chunk's next step: their rows are written once, where the chain stops (moved to the
node where they wait, or deleted when they leave), and they reach the next node without waiting for a tick.
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
    """Claim up to ``limit`` customers due at the node ``at`` (earliest due first) and advance them, on through every
    node they reach that is due at once; an empty result when none is due, the campaign is not active, or the node
    is gone from its current version."""
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
        ctx = Context(conn=conn, dialect=db.dialect, now=now, account=load_account(conn), graph=document)
        counters = CounterDelta(at.campaign_id, str(uuid.uuid4()))
        step: Step | None = Step(at.node_id, size, arrived_at=None)
        parked: dict[str, int] = {}  # how many rows wait in the chunk for their step, by node, first parked first
        outcomes: dict[Outcome, int] = {}
        while step is not None:  # ends: every step sends rows only downstream, and the graph has no cycle
            advanced, onward = _advance(ctx, document, at.campaign_id, version, step, counters)
            outcomes = outcomes or advanced
            waiting_before = set(parked)
            for outcome, node_id in onward.items():
                parked[node_id] = parked.get(node_id, 0) + advanced[outcome]
            following = next(iter(parked), None)
            for statement in journeys.park_onward(onward, following=following):
                conn.execute(statement)
            step = None
            if following is not None:
                if following in waiting_before:
                    conn.execute(journeys.unpark(following))
                step = Step(following, parked.pop(following), arrived_at=now)
        counters.write(conn, db.dialect)
        if not db.is_postgres:  # PostgreSQL empties the scratch table at commit
            conn.execute(journeys.clear_chunk())
        return ChunkResult(at.node_id, size, outcomes)


@dataclass(frozen=True)
class Step:
    """Where the chunk's rows are advanced now: the node they were claimed at (``arrived_at`` None: each row's own
    arrival), or a node due at once that an earlier step of the chunk sent them to (their rows still name the node
    they were claimed at, and they arrived at ``arrived_at``)."""

    node_id: str
    size: int
    arrived_at: datetime | None


def _advance(
    ctx: Context, document: CampaignDocument, campaign_id: int, version: int, step: Step, counters: CounterDelta
) -> tuple[dict[Outcome, int], dict[Performed, str]]:
    """Route the chunk's current step by the node's rules, run the action's effects, trace and count what happened,
    and move each customer on (or out) with one statement per kind of change — except those going on to a node due
    at once: a later step advances them there, unmoved. Returns the outcomes' counts, and the outcomes that go on
    at once with their node (the port's first child; ``_fan_out`` copies the rows to every other child)."""
    conn, now = ctx.conn, ctx.now
    node = document.node(step.node_id)
    action = ACTIONS[node.type]
    batch = Batch(
        campaign_id=campaign_id,
        version=version,
        node_id=step.node_id,
        size=step.size,
        member=chunk_member(),
        given=lambda outcome: chunk_member([outcome]),
    )
    routing: Routing = action.execute(batch, node.config, ctx)

    for statement in journeys.route_chunk(routing.rules):
        conn.execute(statement)
    counted: dict[str | None, int] = {value: count for value, count in conn.execute(journeys.outcome_counts())}
    unrouted = counted.pop(None, 0)
    if unrouted:
        raise UnroutedRows(f"action {node.type!r} at node {step.node_id!r} left {unrouted} customers unrouted")
    for effect in routing.effects:
        conn.execute(effect)

    outcomes = {decode(value): count for value, count in counted.items() if value is not None}
    leaving = [outcome for outcome in outcomes if not isinstance(outcome, Held)]
    if leaving:
        conn.execute(journeys.trace_chunk(leaving, node_id=step.node_id, arrived_at=step.arrived_at, now=now))
    terminal = [
        outcome
        for outcome in leaving
        if not isinstance(outcome, Performed) or not document.targets(step.node_id, outcome.port)
    ]
    if terminal:
        conn.execute(journeys.complete_entries(terminal, now=now, fans_out=document.fans_out()))
        conn.execute(journeys.delete_leaving(terminal))
    moves: dict[Performed, tuple[str, datetime]] = {}
    for outcome, count in outcomes.items():
        counters.count(step.node_id, outcome, count)
        if isinstance(outcome, Performed):
            moves.update(_fan_out(conn, step.node_id, outcome, document, counters, count, now, ctx.account))
    onward = {outcome: node_id for outcome, (node_id, due) in moves.items() if due <= now}
    moves = {outcome: move for outcome, move in moves.items() if outcome not in onward}
    if moves or HELD in outcomes:
        conn.execute(
            journeys.move_chunk(moves, held=HELD in outcomes, here=step.node_id, arrived_at=step.arrived_at, now=now)
        )
    return outcomes, onward


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
