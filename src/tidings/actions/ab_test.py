"""A/B test (spec 2.1, D2, D3): deal a sample evenly over the variants, then send everyone to the winner.

A round works like this:

1. **Sample.** The first ``sample_size`` customers to reach the node are dealt round-robin over the variants:
   variant 1, 2, …, N, 1, 2, … Within a chunk they are dealt by entry id; the next chunk continues from the
   stored count, under the test's row lock, so concurrent workers deal one sequence. (E1: 500 over 2 variants
   → 250 / 250; over 3 → 167 / 167 / 166.) Variant k leaves by port ``variant-k``; the node's edges are its
   variants in order.
2. **Evaluation.** Customers arriving once the sample is full wait at the node. The decision falls
   ``evaluation_days`` after the last test customer was dealt (``decide_at``).
3. **Decision.** The winner is the variant whose customers did best *downstream of this node in the same
   entry* (any message sent at a node reachable from the A/B node): ``opens`` / ``clicks`` = distinct
   customers who opened / clicked such a message, ``orders`` = orders credited to such a message (last-touch
   attribution, spec 5.8; the round's customers' orders are re-attributed just before counting). Counted up to
   the decision; a tie goes to the lowest variant. Every decision is stored with its counts (``ab_decisions``).
   Waiting customers are released to the winner, and so is everyone who arrives later.
4. **Restart** (optional, D2). ``restart_days``: a new round starts that many days after each decision.
   ``restart_at``: one new round at that moment, if it comes after the current round dealt its first
   customer. A restart never interrupts an undecided round: if the round is still undecided at the restart
   moment, the next round starts right after its decision. At a restart the counters reset and the next
   ``sample_size`` customers are dealt again.

A customer whose entry comes back to the node (merged branches) keeps the variant the entry was dealt.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import Connection

from tidings.core.account import AccountSettings
from tidings.core.contracts import Batch, Context, PaletteGroup, Routing
from tidings.core.dialect import Dialect
from tidings.core.graph import Graph
from tidings.store import ab_tests as ab_sql
from tidings.store.attribution import attribute_customers

MAX_VARIANTS = 16  # the editor draws at most this many outputs
#: Drop reason of a customer whose entry's winning variant no longer exists (the document lost variants).
WINNER_REMOVED = "ab_winner_removed"


class AbTestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="A/B test")
    variants: int = Field(
        ge=2,
        le=MAX_VARIANTS,
        json_schema_extra={"default": 2},
        description="How many variants. Each variant is one branch: the node's connections in order (the first "
        "connection is variant 1).",
    )
    sample_size: int = Field(
        ge=1,
        le=1_000_000_000,
        description="How many customers are dealt evenly over the variants (the test sample); everyone after them "
        "goes to the winner.",
    )
    criterion: Literal["opens", "clicks", "orders"] = Field(
        default="opens",
        description="What makes a variant win: opens or clicks (customers who opened / clicked a message sent "
        "after this node), or orders (orders credited to those messages).",
    )
    evaluation_days: int = Field(
        default=0,
        ge=0,
        le=365,
        description="Days after the last test customer is dealt before the winner is decided; customers arriving "
        "meanwhile wait at the node.",
    )
    restart_at: AwareDatetime | None = Field(
        default=None,
        description="Restart the test once at this moment: counters reset and the next customers form a new "
        "sample. An undecided round is decided first.",
    )
    restart_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Restart the test this many days after each decision. Use this or a restart date, not both.",
    )

    @field_validator("restart_days")
    @classmethod
    def _one_restart(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("restart_at") is not None:
            raise ValueError("give restart_at (one restart) or restart_days (after every decision), not both")
        return value


def port(variant: int) -> str:
    return f"variant-{variant}"


@dataclass(frozen=True)
class TestState:
    """One A/B node's ``ab_tests`` row."""

    round: int
    assigned: int
    sample_full_at: datetime | None
    decide_at: datetime | None
    winner: int | None
    restart_at: datetime | None


def lock(conn: Connection, dialect: Dialect, campaign_id: int, node_id: str) -> TestState:
    row = conn.execute(ab_sql.lock_test(dialect, campaign_id=campaign_id, node_id=node_id)).one()
    return TestState(*row)


def downstream(document: Graph, node_id: str) -> list[str]:
    """Every node reachable from ``node_id`` (not itself): where the messages of its branches are sent."""
    children: dict[str, list[str]] = {}
    for edge in document.edges:
        children.setdefault(edge.source, []).append(edge.target)
    seen: set[str] = set()
    queue = deque(children.get(node_id, []))
    while queue:
        current = queue.popleft()
        if current not in seen:
            seen.add(current)
            queue.extend(children.get(current, []))
    return sorted(seen)


def settle(
    conn: Connection,
    *,
    campaign_id: int,
    node_id: str,
    config: AbTestConfig,
    document: Graph,
    state: TestState,
    now: datetime,
) -> TestState:
    """Apply whatever is due for a (locked) test at ``now``: a restart, then a decision."""
    if state.winner is not None and state.restart_at is None and _restarts(config):
        state = _schedule_restart(conn, campaign_id, node_id, config, state)
    if state.winner is not None and state.restart_at is not None and state.restart_at <= now:
        conn.execute(ab_sql.restart(campaign_id, node_id))
        state = TestState(state.round + 1, 0, None, None, None, None)
    if state.winner is None and state.decide_at is not None and state.decide_at <= now:
        state = decide(
            conn, campaign_id=campaign_id, node_id=node_id, config=config, document=document, state=state, now=now
        )
    return state


def decide(
    conn: Connection,
    *,
    campaign_id: int,
    node_id: str,
    config: AbTestConfig,
    document: Graph,
    state: TestState,
    now: datetime,
) -> TestState:
    """Count each variant's reactions up to ``now``, store the decision and the winner (ties: lowest variant)."""
    nodes = downstream(document, node_id)
    if config.criterion == "orders":
        first = conn.execute(ab_sql.first_assigned_at(campaign_id=campaign_id, node_id=node_id, round_=state.round))
        since = first.scalar()
        if since is not None:
            round_customers = ab_sql.customers_of_round(campaign_id=campaign_id, node_id=node_id, round_=state.round)
            attribute_customers(conn, round_customers, placed_from=since)
    measured = {
        int(variant): (int(customers), int(value))
        for variant, customers, value in conn.execute(
            ab_sql.variant_counts(
                campaign_id=campaign_id,
                node_id=node_id,
                round_=state.round,
                criterion=config.criterion,
                downstream=nodes,
                now=now,
            )
        )
    }
    variants = range(1, config.variants + 1)
    counts = [
        {"variant": k, "port": port(k), "customers": measured.get(k, (0, 0))[0], "value": measured.get(k, (0, 0))[1]}
        for k in variants
    ]
    winner = min(variants, key=lambda k: (-measured.get(k, (0, 0))[1], k))
    conn.execute(
        ab_sql.record_decision(
            campaign_id=campaign_id,
            node_id=node_id,
            round_=state.round,
            criterion=config.criterion,
            winner=winner,
            counts=counts,
            now=now,
        )
    )
    state = replace(state, winner=winner)
    conn.execute(ab_sql.save_state(campaign_id, node_id, winner=winner))
    if _restarts(config):
        state = _schedule_restart(conn, campaign_id, node_id, config, state, decided_at=now)
    return state


def _restarts(config: AbTestConfig) -> bool:
    return config.restart_days is not None or config.restart_at is not None


def _schedule_restart(
    conn: Connection,
    campaign_id: int,
    node_id: str,
    config: AbTestConfig,
    state: TestState,
    decided_at: datetime | None = None,
) -> TestState:
    """Fix when the next round starts, from the round's decision (see the module docstring)."""
    if decided_at is None:
        decided_at = conn.execute(
            ab_sql.decided_at(campaign_id=campaign_id, node_id=node_id, round_=state.round)
        ).scalar()
        if decided_at is None:
            return state
    moment: datetime | None = None
    if config.restart_days is not None:
        moment = decided_at + timedelta(days=config.restart_days)
    elif config.restart_at is not None:
        first = conn.execute(ab_sql.first_assigned_at(campaign_id=campaign_id, node_id=node_id, round_=state.round))
        started = first.scalar()
        if started is not None and config.restart_at > started:
            moment = max(config.restart_at, decided_at)
    if moment is None:
        return state
    conn.execute(ab_sql.save_state(campaign_id, node_id, restart_at=moment))
    return replace(state, restart_at=moment)


class AbTest:
    type: ClassVar[str] = "ab_test"
    title: ClassVar[str] = "A/B test"
    group: ClassVar[PaletteGroup] = PaletteGroup.FLOW
    config_model = AbTestConfig

    ports_counted_by: ClassVar[str] = "variants"

    def ports(self, config: AbTestConfig) -> Sequence[str]:
        return self.possible_ports()[: config.variants]

    def possible_ports(self) -> Sequence[str]:
        return tuple(port(k) for k in range(1, MAX_VARIANTS + 1))

    def port_titles(self) -> Mapping[str, str]:
        return {port(k): f"variant {k}" for k in range(1, MAX_VARIANTS + 1)}

    def ports_follow_edge_order(self, config: AbTestConfig) -> bool:
        return True

    def due_on_arrival(self, config: AbTestConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def execute(self, batch: Batch, config: AbTestConfig, ctx: Context) -> Routing:
        conn, campaign_id, node_id = ctx.conn, batch.campaign_id, batch.node_id
        state = lock(conn, ctx.dialect, campaign_id, node_id)
        state = settle(
            conn,
            campaign_id=campaign_id,
            node_id=node_id,
            config=config,
            document=ctx.graph,
            state=state,
            now=ctx.now,
        )
        if state.winner is None and state.assigned < config.sample_size:
            state = self._deal(batch, config, ctx, state)
        routing = Routing()
        for variant in range(1, config.variants + 1):
            dealt = ab_sql.dealt_to(campaign_id=campaign_id, node_id=node_id, round_=state.round, variant=variant)
            routing.to(port(variant), dealt)
        if state.winner is not None:
            if state.winner <= config.variants:
                return routing.to(port(state.winner))
            return routing.drop(WINNER_REMOVED)
        if state.decide_at is not None:  # the sample is full: the rest wait for the decision
            routing.hold(state.decide_at)
        return routing  # otherwise everyone was dealt a variant

    def _deal(self, batch: Batch, config: AbTestConfig, ctx: Context, state: TestState) -> TestState:
        added = ctx.conn.execute(
            ab_sql.assign(
                member=batch.member,
                campaign_id=batch.campaign_id,
                node_id=batch.node_id,
                round_=state.round,
                assigned=state.assigned,
                room=config.sample_size - state.assigned,
                variants=config.variants,
                now=ctx.now,
            )
        ).rowcount
        if not added:
            return state
        values: dict[str, Any] = {"assigned": state.assigned + added}
        if state.assigned + added >= config.sample_size:
            values.update(sample_full_at=ctx.now, decide_at=ctx.now + timedelta(days=config.evaluation_days))
        ctx.conn.execute(ab_sql.save_state(batch.campaign_id, batch.node_id, **values))
        state = replace(state, **values)
        if state.decide_at is not None and state.decide_at <= ctx.now:  # no evaluation period: decide at once
            state = decide(
                ctx.conn,
                campaign_id=batch.campaign_id,
                node_id=batch.node_id,
                config=config,
                document=ctx.graph,
                state=state,
                now=ctx.now,
            )
        return state
