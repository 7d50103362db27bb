"""The unit of work: advance one claimed chunk through its node, in one transaction.

Both runtimes (direct and DBOS) call ``advance_chunk``. It is idempotent: once a chunk has been advanced its
rows no longer carry the claim id, so running it again finds nothing and does nothing.
"""

from __future__ import annotations

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
from tidings.store.tables import journey_state


class UnroutedRows(RuntimeError):
    """An action left rows without a rule: a bug in the action, never a customer problem."""


@dataclass
class ChunkResult:
    node_id: str | None = None
    size: int = 0
    outcomes: dict[Outcome, int] = field(default_factory=dict)


def advance_chunk(db: Database, documents: DocumentCache, claim_id: str, now: datetime) -> ChunkResult:
    with db.engine.begin() as conn:
        group = conn.execute(journeys.chunk_group(claim_id)).first()
        if group is None:
            return ChunkResult()
        campaign_id, version, node_id, size = group
        document = documents.get(conn, campaign_id, version)
        node = document.node(node_id)
        action = ACTIONS[node.type]
        account = load_account(conn)
        ctx = Context(conn=conn, dialect=db.dialect, now=now, account=account, graph=document)
        batch = Batch(
            claim_id=claim_id,
            campaign_id=campaign_id,
            version=version,
            node_id=node_id,
            size=size,
            member=chunk_member(claim_id),
            outcome_column=journey_state.c.outcome,
        )
        routing: Routing = action.execute(batch, node.config, ctx)

        for statement in journeys.route_chunk(claim_id, routing.rules):
            conn.execute(statement)
        counted: dict[str | None, int] = {
            value: count for value, count in conn.execute(journeys.outcome_counts(claim_id))
        }
        unrouted = counted.pop(None, 0)
        if unrouted:
            raise UnroutedRows(f"action {node.type!r} at node {node_id!r} left {unrouted} customers unrouted")
        for effect in routing.effects:
            conn.execute(effect)

        outcomes = {decode(value): count for value, count in counted.items() if value is not None}
        counters = CounterDelta(campaign_id, claim_id)
        leaving = [outcome for outcome in outcomes if not isinstance(outcome, Held)]
        if leaving:
            conn.execute(journeys.trace_chunk(claim_id, leaving, now=now))
        terminal = [
            outcome
            for outcome in leaving
            if not isinstance(outcome, Performed) or not document.targets(node_id, outcome.port)
        ]
        if terminal:
            conn.execute(journeys.complete_entries(claim_id, terminal, now=now))
            conn.execute(journeys.delete_leaving(claim_id, terminal))
        moves: dict[Performed, tuple[str, datetime]] = {}
        for outcome, count in outcomes.items():
            counters.count(node_id, outcome, count)
            if isinstance(outcome, Performed):
                moves.update(_fan_out(conn, claim_id, node_id, outcome, document, counters, count, now, account))
        if moves or HELD in outcomes:
            conn.execute(journeys.move_chunk(claim_id, moves, held=HELD in outcomes, now=now))
        counters.write(conn, db.dialect)
        return ChunkResult(node_id, size, outcomes)


def _fan_out(
    conn: Connection,
    claim_id: str,
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
        conn.execute(journeys.copy_to_node(claim_id, outcome, target=target, now=now, due_at=due))
    for target in targets:
        counters.add(target, ENTERED, count)
    first = targets[0]
    return {outcome: (first, due_on_arrival(document, first, now, account))}
