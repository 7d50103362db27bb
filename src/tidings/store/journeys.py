"""Every statement on journey state, entries, the trace and node counters."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Delete,
    Executable,
    Insert,
    Select,
    Update,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.schema import CreateTable

from tidings.core.contracts import Rule
from tidings.core.dialect import Dialect
from tidings.core.outcomes import HELD, Dropped, Outcome, Performed, encode
from tidings.model.statuses import EntryStatus
from tidings.store.journey_rows import chunk_member, probe
from tidings.store.tables import campaigns, entries, journey_chunk, journey_state, journey_trace, node_counters

js = journey_state
chunk = journey_chunk

TOKEN_COLUMNS = ("campaign_id", "version", "entry_id", "customer_id", "node_id", "arrived_at", "due_at")
TRACE_COLUMNS = (
    "campaign_id",
    "version",
    "entry_id",
    "customer_id",
    "node_id",
    "arrived_at",
    "at",
    "outcome",
    "port",
    "reason",
)


def _ts(value: datetime) -> Any:
    return literal(value, js.c.due_at.type)


# -- claiming ------------------------------------------------------------------------------------------
def campaign_for_chunk(campaign_id: int) -> Select[Any]:
    """The campaign's status and current version, share-locked for the chunk's transaction: an edit or a stop
    (which lock the row for update) waits for the chunks in flight, and they for it."""
    return (
        select(campaigns.c.status, campaigns.c.current_version)
        .where(campaigns.c.id == campaign_id)
        .with_for_update(read=True)
    )


def active_campaigns() -> Select[Any]:
    """(id, current version) of every active campaign: where chunks may be due."""
    return select(campaigns.c.id, campaigns.c.current_version).where(campaigns.c.status == "active")


#: Probes per statement of ``due_nodes``: SQLite refuses a compound SELECT of more than 500 parts.
PROBES_PER_STATEMENT = 200


def due_nodes(nodes: Sequence[tuple[int, str]], *, now: datetime) -> list[Executable]:
    """Which of the (campaign, node) pairs have a row due: one probe of the head of each node's index range, in
    as few statements as the database takes."""
    statements: list[Executable] = []
    for start in range(0, len(nodes), PROBES_PER_STATEMENT):
        batch = [
            _due_probe(campaign_id, node_id, now)
            for campaign_id, node_id in nodes[start : start + PROBES_PER_STATEMENT]
        ]
        statements.append(batch[0] if len(batch) == 1 else union_all(*batch))
    return statements


def _due_probe(campaign_id: int, node_id: str, now: datetime) -> Select[int, str]:
    due = exists().where(js.c.campaign_id == campaign_id, js.c.node_id == node_id, js.c.due_at <= now)
    return select(literal(campaign_id).label("campaign_id"), literal(node_id).label("node_id")).where(due)


def prepare_chunk() -> CreateTable:
    """The connection's scratch table for a chunk (``tables.journey_chunk``), made the first time it is needed."""
    return CreateTable(chunk, if_not_exists=True)


def claim_chunk(dialect: Dialect, *, campaign_id: int, version: int, node_id: str, now: datetime, limit: int) -> Insert:
    """Claim up to ``limit`` rows due at the node, earliest due first, into the scratch table. On PostgreSQL they are
    locked for this transaction and rows another transaction holds are skipped: the lock is the lease, and a
    worker that dies releases it by dying (its transaction rolls back)."""
    due = (
        select(js.c.id, js.c.entry_id)
        .where(js.c.campaign_id == campaign_id, js.c.node_id == node_id, js.c.due_at <= now, js.c.version == version)
        .order_by(js.c.due_at)
        .limit(limit)
    )
    return chunk.insert().from_select(["id", "entry_id"], dialect.lock_for_claim(due))


def clear_chunk() -> Delete:
    return delete(chunk)


def next_due_at(*, after: datetime) -> Select[Any]:
    return (
        select(func.min(js.c.due_at))
        .join(campaigns, campaigns.c.id == js.c.campaign_id)
        .where(campaigns.c.status == "active", js.c.due_at > after)
    )


# -- routing a chunk -----------------------------------------------------------------------------------
def route_chunk(rules: Sequence[Rule]) -> list[Update]:
    """The statements that give every row of the chunk the outcome of the first rule that takes it (rules are SQL
    predicates on ``journey_state``, first match wins): one pass for a run of plain rules, and one for each rule
    that takes only the ``first`` rows (it must see which rows the rules before it took). A hold also says until
    when. A row no rule takes keeps no outcome (``outcome_counts`` reports it under None)."""
    statements: list[Update] = []
    plain: list[Rule] = []
    for rule in rules:
        if rule.first is None:
            plain.append(rule)
            continue
        if plain:
            statements.append(_route_in_one_pass(plain))
            plain = []
        statements.append(_route_first(rule, rule.first))
    if plain:
        statements.append(_route_in_one_pass(plain))
    return statements


def _unrouted() -> ColumnElement[bool]:
    return and_(chunk.c.id == js.c.id, chunk.c.outcome.is_(None), chunk.c.parked_for.is_(None))


def _route_in_one_pass(rules: Sequence[Rule]) -> Update:
    outcome_whens: list[tuple[ColumnElement[bool], str]] = []
    until_whens: list[tuple[ColumnElement[bool], Any]] = []
    otherwise: Rule | None = None
    for rule in rules:
        if rule.where is None:
            otherwise = rule  # takes every row left: the rules after it are never reached
            break
        outcome_whens.append((rule.where, encode(rule.outcome)))
        until_whens.append((rule.where, _until(rule)))
    last_outcome = literal(None if otherwise is None else encode(otherwise.outcome))
    last_until = _until(otherwise)
    values: dict[str, Any] = {"outcome": case(*outcome_whens, else_=last_outcome) if outcome_whens else last_outcome}
    if any(rule.until is not None for rule in rules):
        values["until"] = case(*until_whens, else_=last_until) if until_whens else last_until
    if not outcome_whens:  # one rule takes every row: the rows' own columns are not read
        return update(chunk).where(chunk.c.outcome.is_(None), chunk.c.parked_for.is_(None)).values(**values)
    return update(chunk).where(_unrouted()).values(**values)


def _until(rule: Rule | None) -> ColumnElement[Any]:
    return literal(None if rule is None else rule.until, chunk.c.until.type)


def _route_first(rule: Rule, count: int) -> Update:
    unrouted = chunk.alias("unrouted")  # the subquery must see the whole chunk, not the row being updated
    taken = and_(unrouted.c.id == js.c.id, unrouted.c.outcome.is_(None), unrouted.c.parked_for.is_(None))
    if rule.where is not None:
        taken = and_(taken, rule.where)
    first = select(js.c.id).where(taken).order_by(js.c.id).limit(max(count, 0))
    values: dict[str, Any] = {"outcome": encode(rule.outcome)}
    if rule.until is not None:
        values["until"] = _ts(rule.until)
    return (
        update(chunk)
        .where(chunk.c.outcome.is_(None), chunk.c.parked_for.is_(None), chunk.c.id.in_(first.scalar_subquery()))
        .values(**values)
    )


def outcome_counts() -> Select[Any]:
    """(encoded outcome, count) of the chunk's rows, None for rows no rule took; ``core.outcomes.decode`` reads
    the first column."""
    return select(chunk.c.outcome, func.count()).where(chunk.c.parked_for.is_(None)).group_by(chunk.c.outcome)


def _given(outcomes: Sequence[Outcome]) -> ColumnElement[bool]:
    """Join condition of ``journey_state`` with the chunk's rows given one of ``outcomes``."""
    return and_(chunk.c.id == js.c.id, _outcome_in(outcomes))


def _outcome_in(outcomes: Sequence[Outcome]) -> ColumnElement[bool]:
    """Predicate on the chunk: the row was given one of ``outcomes``."""
    return chunk.c.outcome.in_([encode(outcome) for outcome in outcomes])


def trace_chunk(
    outcomes: Sequence[Performed | Dropped], *, node_id: str, arrived_at: datetime | None, now: datetime
) -> Insert:
    """Trace the chunk's rows given one of ``outcomes`` at node ``node_id`` in one statement: ``performed`` with
    their port, or ``dropped``; with the reason if any. They arrived at ``arrived_at``, or when their rows say
    (None: the rows are at the node)."""
    encoded = {encode(outcome): outcome for outcome in outcomes}

    def by_outcome(value: Callable[[Performed | Dropped], str | None]) -> ColumnElement[Any]:
        return case({key: value(outcome) for key, outcome in encoded.items()}, value=chunk.c.outcome)

    rows = select(
        js.c.campaign_id,
        js.c.version,
        js.c.entry_id,
        js.c.customer_id,
        literal(node_id),
        js.c.arrived_at if arrived_at is None else _ts(arrived_at),
        _ts(now),
        by_outcome(lambda outcome: "performed" if isinstance(outcome, Performed) else "dropped"),
        by_outcome(lambda outcome: outcome.port if isinstance(outcome, Performed) else None),
        by_outcome(lambda outcome: outcome.reason),
    ).where(_given(outcomes))
    return journey_trace.insert().from_select(list(TRACE_COLUMNS), rows)


def copy_to_node(outcome: Performed, *, target: str, now: datetime, due_at: datetime) -> Insert:
    """Fan-out: a copy of each token for an additional child."""
    rows = select(
        js.c.campaign_id,
        js.c.version,
        js.c.entry_id,
        js.c.customer_id,
        literal(target),
        _ts(now),
        _ts(due_at),
    ).where(_given([outcome]))
    return js.insert().from_select(list(TOKEN_COLUMNS), rows)


def move_chunk(
    moves: Mapping[Performed, tuple[str, datetime]],
    *,
    held: bool,
    here: str,
    arrived_at: datetime | None,
    now: datetime,
) -> Update:
    """Release the chunk in one statement: the rows of each outcome in ``moves`` go to its node, due at its time;
    with ``held``, the held rows stay at node ``here`` (where they arrived at ``arrived_at``, or when their rows say
    when None), due again when their rule said."""
    targets = {encode(outcome): move for outcome, move in moves.items()}
    releasing: list[Outcome] = [*moves, *([HELD] if held else [])]
    here_since = js.c.arrived_at if arrived_at is None else _ts(arrived_at)
    values: dict[str, Any] = {}
    if targets:
        values["node_id"] = case({key: node for key, (node, _) in targets.items()}, value=chunk.c.outcome, else_=here)
        values["arrived_at"] = case((chunk.c.outcome.in_(list(targets)), _ts(now)), else_=here_since)
    elif arrived_at is not None:  # held rows only, at a node the chunk continued to: they are moved there
        values.update(node_id=here, arrived_at=here_since)
    due_at: ColumnElement[Any] = chunk.c.until
    if targets:
        due_at = case({key: _ts(due) for key, (_, due) in targets.items()}, value=chunk.c.outcome, else_=due_at)
    values["due_at"] = due_at
    return update(js).where(_given(releasing)).values(**values)


def park_onward(onward: Mapping[Performed, str], *, following: str | None) -> list[Executable]:
    """End the chunk's current step: its rows given an outcome in ``onward`` wait in the chunk for the step at that
    outcome's node (due at once), without their outcome — those for node ``following``, the next step, are its
    rows at once; the rest, moved or gone, leave the chunk."""
    current = chunk.c.parked_for.is_(None)
    if not onward:
        return [delete(chunk).where(current)]
    targets = {encode(outcome): None if node == following else node for outcome, node in onward.items()}
    return [
        delete(chunk).where(current, ~_outcome_in(list(onward))),
        update(chunk).where(current).values(parked_for=case(targets, value=chunk.c.outcome), outcome=None, until=None),
    ]


def unpark(node_id: str) -> Update:
    """The rows waiting for the step at ``node_id`` become the chunk's current step."""
    return update(chunk).where(chunk.c.parked_for == node_id).values(parked_for=None)


def complete_entries(terminal: Sequence[Outcome], *, now: datetime, fans_out: bool) -> Update:
    """Complete the entries whose token leaves the campaign in this chunk. When the graph ``fans_out`` an entry may
    have other tokens, here or at other nodes, and only an entry whose every token leaves now is completed.

    The chunk's entries are found by their ids alone. An entry with a token is active (a stop deletes the tokens
    and finishes their entries in one transaction, which waits for the chunks in flight), and a condition on the
    status would let the planner start from the index of active entries: sampled at a moment when none was active,
    it would be taken for empty, and each of its rows — the whole campaign's — would scan the chunk."""
    leaving = select(chunk.c.entry_id).where(_outcome_in(terminal))
    statement = update(entries).where(entries.c.id.in_(leaving.scalar_subquery()))
    if fans_out:
        other = js.alias("other")
        leaving_now = exists().where(chunk.c.id == other.c.id, _outcome_in(terminal))
        statement = statement.where(~exists().where(other.c.entry_id == entries.c.id, ~leaving_now))
    return statement.values(status="completed", finished_at=now)


def delete_leaving(terminal: Sequence[Outcome]) -> Delete:
    return delete(js).where(chunk_member(terminal))


# -- what an action reads and writes of its chunk ----------------------------------------------------------------
def batch_rows(batch_member: ColumnElement[bool], where: ColumnElement[bool]) -> Select[Any]:
    """The chunk's rows (id, campaign_id, entry_id, customer_id) for which ``where`` holds."""
    return select(js.c.id, js.c.campaign_id, js.c.entry_id, js.c.customer_id).where(batch_member, where)


def flag_control_entries(batch_member: ColumnElement[bool], chosen: ColumnElement[bool]) -> Update:
    """Flag as control group (D1) the entries of the chunk for which ``chosen`` (a predicate on ``entries``)
    holds; never unflag one."""
    chunk_entries = select(js.c.entry_id).where(batch_member).scalar_subquery()
    return (
        update(entries)
        .where(entries.c.id.in_(chunk_entries), entries.c.is_control.is_not(True), chosen)
        .values(is_control=true())
    )


# -- entering ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EntryBatch:
    """The entries one ``insert_entries`` makes: tagged ``tag``, with ids above ``after_id`` (the largest id when
    it ran). Found by a range of the primary key, so the tag needs no index of its own (one index less to write
    for every entry made and every entry finished)."""

    tag: str
    after_id: int

    def holds(self) -> ColumnElement[bool]:
        return and_(entries.c.id > self.after_id, entries.c.trigger_batch == self.tag)


def last_entry_id() -> Select[Any]:
    return select(func.coalesce(func.max(entries.c.id), 0))


def insert_entries(
    candidates: Select[Any],
    *,
    campaign_id: int,
    version: int,
    now: datetime,
    batch: EntryBatch,
    reentry_after: datetime | None,
) -> Insert:
    """Enter the candidate customers (columns customer_id, context, event_id) unless re-entry forbids it."""
    source = candidates.subquery("candidates")
    blocking = entries.c.status == "active"
    if reentry_after is not None:
        blocking = or_(blocking, entries.c.entered_at > reentry_after)
    # A probe per candidate: as an anti-join, each slice of a whole-base fire would read every entry of the campaign.
    blocked = probe(entries.c.campaign_id == campaign_id, entries.c.customer_id == source.c.customer_id, blocking)
    rows = select(
        literal(campaign_id),
        literal(version),
        source.c.customer_id,
        literal("active"),
        _ts(now),
        source.c.context,
        source.c.event_id,
        literal(batch.tag),
    ).where(~blocked)
    columns = ["campaign_id", "version", "customer_id", "status", "entered_at", "context", "event_id", "trigger_batch"]
    return entries.insert().from_select(columns, rows)


def tokens_from_entries(batch: EntryBatch, *, node_id: str, now: datetime, due_at: datetime) -> Insert:
    rows = select(
        entries.c.campaign_id,
        entries.c.version,
        entries.c.id,
        entries.c.customer_id,
        literal(node_id),
        _ts(now),
        _ts(due_at),
    ).where(batch.holds())
    return js.insert().from_select(list(TOKEN_COLUMNS), rows)


def trace_entries(batch: EntryBatch, *, trigger_id: str, now: datetime) -> Insert:
    rows = select(
        entries.c.campaign_id,
        entries.c.version,
        entries.c.id,
        entries.c.customer_id,
        literal(trigger_id),
        _ts(now),
        _ts(now),
        literal("performed"),
        literal("out"),
        literal(None),
    ).where(batch.holds())
    return journey_trace.insert().from_select(list(TRACE_COLUMNS), rows)


def complete_batch_without_children(batch: EntryBatch, *, now: datetime) -> Update:
    return update(entries).where(batch.holds()).values(status="completed", finished_at=now)


# -- counters ------------------------------------------------------------------------------------------
def add_to_counters(dialect: Dialect) -> Insert:
    """Executed with many parameter rows: campaign_id, node_id, metric, shard, value."""
    return dialect.insert_adding(node_counters, ["campaign_id", "node_id", "metric", "shard"], "value")


def counters_of(campaign_id: int) -> Select[Any]:
    return (
        select(node_counters.c.node_id, node_counters.c.metric, func.sum(node_counters.c.value))
        .where(node_counters.c.campaign_id == campaign_id)
        .group_by(node_counters.c.node_id, node_counters.c.metric)
    )


def waiting_by_node(campaign_id: int) -> Select[Any]:
    return select(js.c.node_id, func.count()).where(js.c.campaign_id == campaign_id).group_by(js.c.node_id)


# -- editing and stopping ------------------------------------------------------------------------------
def tokens_per_node(campaign_id: int) -> Select[Any]:
    return waiting_by_node(campaign_id)


def retarget_tokens(
    campaign_id: int, *, node_id: str, version: int, target: str | None, now: datetime, due_at: datetime | None
) -> Update:
    values: dict[str, Any] = {"version": version}
    if target is not None and target != node_id:
        values.update(node_id=target, arrived_at=now, due_at=due_at)
    return update(js).where(js.c.campaign_id == campaign_id, js.c.node_id == node_id).values(**values)


def trace_removed(
    campaign_id: int, *, node_id: str | None, now: datetime, reason: str, outcome: str = "dropped"
) -> Insert:
    """Trace the tokens taken out of a node by an edit or a stop: ``dropped`` (they leave the campaign) or
    ``removed`` (their node was deleted and they are released along its first surviving child)."""
    condition = js.c.campaign_id == campaign_id
    if node_id is not None:
        condition = and_(condition, js.c.node_id == node_id)
    rows = select(
        js.c.campaign_id,
        js.c.version,
        js.c.entry_id,
        js.c.customer_id,
        js.c.node_id,
        js.c.arrived_at,
        _ts(now),
        literal(outcome),
        literal(None),
        literal(reason),
    ).where(condition)
    return journey_trace.insert().from_select(list(TRACE_COLUMNS), rows)


def delete_tokens(campaign_id: int, *, node_id: str | None = None) -> Delete:
    condition = js.c.campaign_id == campaign_id
    if node_id is not None:
        condition = and_(condition, js.c.node_id == node_id)
    return delete(js).where(condition)


def finish_entries_without_tokens(campaign_id: int, *, now: datetime, status: EntryStatus) -> Update:
    has_token = exists().where(js.c.entry_id == entries.c.id)
    return (
        update(entries)
        .where(entries.c.campaign_id == campaign_id, entries.c.status == "active", ~has_token)
        .values(status=status, finished_at=now)
    )


# -- reading the trace ---------------------------------------------------------------------------------
def trace_of_customer(customer_id: int, campaign_id: int | None = None) -> Select[Any]:
    query = select(journey_trace).where(journey_trace.c.customer_id == customer_id)
    if campaign_id is not None:
        query = query.where(journey_trace.c.campaign_id == campaign_id)
    return query.order_by(journey_trace.c.at, journey_trace.c.id)


def tokens_of_customer(customer_id: int) -> Select[Any]:
    return select(js).where(js.c.customer_id == customer_id).order_by(js.c.id)


def entries_of_customer(customer_id: int) -> Select[Any]:
    return select(entries).where(entries.c.customer_id == customer_id).order_by(entries.c.entered_at, entries.c.id)


def entries_by_id(dialect: Dialect, entry_ids: Sequence[int]) -> Select[Any]:
    """What the template variables of the given entries come from: id, event_id, context."""
    return select(entries.c.id, entries.c.event_id, entries.c.context).where(dialect.among(entries.c.id, entry_ids))


def latest_entry(*, campaign_id: int, customer_id: int) -> Select[Any]:
    """The id of the customer's latest entry into the campaign."""
    return (
        select(entries.c.id)
        .where(entries.c.campaign_id == campaign_id, entries.c.customer_id == customer_id)
        .order_by(entries.c.entered_at.desc(), entries.c.id.desc())
        .limit(1)
    )
