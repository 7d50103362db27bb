"""Every statement on journey state, entries, the trace and node counters."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Delete,
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
    update,
)

from tidings.core.contracts import Rule
from tidings.core.dialect import Dialect
from tidings.core.outcomes import HELD, Dropped, Outcome, Performed, encode
from tidings.model.statuses import EntryStatus
from tidings.store.tables import campaigns, entries, journey_state, journey_trace, node_counters

js = journey_state

TOKEN_COLUMNS = ("campaign_id", "version", "entry_id", "customer_id", "node_id", "arrived_at", "due_at", "status")
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
def next_due_group(*, now: datetime) -> Select[Any]:
    """One (campaign, version, node) that has due rows in an active campaign."""
    return (
        select(js.c.campaign_id, js.c.version, js.c.node_id)
        .join(campaigns, campaigns.c.id == js.c.campaign_id)
        .where(js.c.status == "waiting", js.c.due_at <= now, campaigns.c.status == "active")
        .limit(1)
    )


def claim_group(
    dialect: Dialect,
    *,
    campaign_id: int,
    version: int,
    node_id: str,
    now: datetime,
    limit: int,
    claim_id: str,
    lease_until: datetime,
) -> Update:
    due = (
        select(js.c.id)
        .where(
            js.c.campaign_id == campaign_id,
            js.c.version == version,
            js.c.node_id == node_id,
            js.c.status == "waiting",
            js.c.due_at <= now,
        )
        .limit(limit)
    )
    due = dialect.lock_for_claim(due)
    return (
        update(js)
        .where(js.c.id.in_(due.scalar_subquery()))
        .values(status="claimed", claim_id=claim_id, claimed_until=lease_until)
    )


def release_expired_claims(*, wall_now: datetime) -> Update:
    """Chunks whose worker died go back to waiting; their transaction never committed, so nothing moved."""
    return (
        update(js)
        .where(js.c.status == "claimed", js.c.claimed_until < wall_now)
        .values(status="waiting", claim_id=None, claimed_until=None, outcome=None)
    )


def chunks_in_flight() -> Select[Any]:
    return select(func.count(js.c.claim_id.distinct())).where(js.c.claim_id.is_not(None))


def chunk_group(claim_id: str) -> Select[Any]:
    return (
        select(js.c.campaign_id, js.c.version, js.c.node_id, func.count())
        .where(js.c.claim_id == claim_id)
        .group_by(js.c.campaign_id, js.c.version, js.c.node_id)
    )


def next_due_at(*, after: datetime) -> Select[Any]:
    return (
        select(func.min(js.c.due_at))
        .join(campaigns, campaigns.c.id == js.c.campaign_id)
        .where(js.c.status == "waiting", campaigns.c.status == "active", js.c.due_at > after)
    )


def has_due(*, now: datetime) -> Select[Any]:
    return select(next_due_group(now=now).exists())


# -- routing a chunk -----------------------------------------------------------------------------------
def _given(claim_id: str, outcome: Outcome) -> ColumnElement[bool]:
    """The chunk's rows that were given ``outcome``."""
    return and_(js.c.claim_id == claim_id, js.c.outcome == encode(outcome))


def route_chunk(claim_id: str, rules: Sequence[Rule]) -> list[Update]:
    """The statements that give every row of the chunk the outcome of the first rule that takes it (rules are SQL
    predicates, first match wins): one pass for a run of plain rules, and one for each rule that takes only the
    ``first`` rows (it must see which rows the rules before it took). A hold also sets when the row is due again.
    A row no rule takes keeps no outcome (``outcome_counts`` reports it under None)."""
    statements: list[Update] = []
    plain: list[Rule] = []
    for rule in rules:
        if rule.first is None:
            plain.append(rule)
            continue
        if plain:
            statements.append(_route_in_one_pass(claim_id, plain))
            plain = []
        statements.append(_route_first(claim_id, rule, rule.first))
    if plain:
        statements.append(_route_in_one_pass(claim_id, plain))
    return statements


def _unrouted(claim_id: str) -> ColumnElement[bool]:
    return and_(js.c.claim_id == claim_id, js.c.outcome.is_(None))


def _route_in_one_pass(claim_id: str, rules: Sequence[Rule]) -> Update:
    outcome_whens: list[tuple[ColumnElement[bool], str]] = []
    due_whens: list[tuple[ColumnElement[bool], Any]] = []
    otherwise: Rule | None = None
    for rule in rules:
        if rule.where is None:
            otherwise = rule  # takes every row left: the rules after it are never reached
            break
        outcome_whens.append((rule.where, encode(rule.outcome)))
        due_whens.append((rule.where, js.c.due_at if rule.until is None else _ts(rule.until)))
    last_outcome = None if otherwise is None else encode(otherwise.outcome)
    last_due = js.c.due_at if otherwise is None or otherwise.until is None else _ts(otherwise.until)
    values: dict[str, Any] = {
        "outcome": case(*outcome_whens, else_=literal(last_outcome)) if outcome_whens else literal(last_outcome)
    }
    if any(rule.until is not None for rule in rules):
        values["due_at"] = case(*due_whens, else_=last_due) if due_whens else last_due
    return update(js).where(_unrouted(claim_id)).values(**values)


def _route_first(claim_id: str, rule: Rule, count: int) -> Update:
    taken = _unrouted(claim_id) if rule.where is None else and_(_unrouted(claim_id), rule.where)
    first = select(js.c.id).where(taken).order_by(js.c.id).limit(max(count, 0))
    values: dict[str, Any] = {"outcome": encode(rule.outcome)}
    if rule.until is not None:
        values["due_at"] = _ts(rule.until)
    return update(js).where(_unrouted(claim_id), js.c.id.in_(first.scalar_subquery())).values(**values)


def outcome_counts(claim_id: str) -> Select[Any]:
    """(encoded outcome, count) of the chunk's rows, None for rows no rule took; ``core.outcomes.decode`` reads
    the first column."""
    return select(js.c.outcome, func.count()).where(js.c.claim_id == claim_id).group_by(js.c.outcome)


def trace_chunk(claim_id: str, outcomes: Sequence[Performed | Dropped], *, now: datetime) -> Insert:
    """Trace the chunk's rows given one of ``outcomes`` in one statement: ``performed`` with their port, or
    ``dropped``; with the reason if any."""
    encoded = {encode(outcome): outcome for outcome in outcomes}

    def by_outcome(value: Callable[[Performed | Dropped], str | None]) -> ColumnElement[Any]:
        return case({key: value(outcome) for key, outcome in encoded.items()}, value=js.c.outcome)

    rows = select(
        js.c.campaign_id,
        js.c.version,
        js.c.entry_id,
        js.c.customer_id,
        js.c.node_id,
        js.c.arrived_at,
        _ts(now),
        by_outcome(lambda outcome: "performed" if isinstance(outcome, Performed) else "dropped"),
        by_outcome(lambda outcome: outcome.port if isinstance(outcome, Performed) else None),
        by_outcome(lambda outcome: outcome.reason),
    ).where(js.c.claim_id == claim_id, js.c.outcome.in_(list(encoded)))
    return journey_trace.insert().from_select(list(TRACE_COLUMNS), rows)


def copy_to_node(claim_id: str, outcome: Performed, *, target: str, now: datetime, due_at: datetime) -> Insert:
    """Fan-out: a copy of each token for an additional child."""
    rows = select(
        js.c.campaign_id,
        js.c.version,
        js.c.entry_id,
        js.c.customer_id,
        literal(target),
        _ts(now),
        _ts(due_at),
        literal("waiting"),
    ).where(_given(claim_id, outcome))
    return js.insert().from_select(list(TOKEN_COLUMNS), rows)


def move_chunk(claim_id: str, moves: Mapping[Performed, tuple[str, datetime]], *, held: bool, now: datetime) -> Update:
    """Release the chunk in one statement: the rows of each outcome in ``moves`` go to its node, due at its time;
    with ``held``, the held rows wait at their node again (their due time was set when they were routed)."""
    targets = {encode(outcome): move for outcome, move in moves.items()}
    releasing = [*targets, *([encode(HELD)] if held else [])]
    values: dict[str, Any] = {"status": "waiting", "claim_id": None, "claimed_until": None, "outcome": None}
    if targets:
        moved = js.c.outcome.in_(list(targets))
        values["node_id"] = case(
            {key: node for key, (node, _) in targets.items()}, value=js.c.outcome, else_=js.c.node_id
        )
        values["due_at"] = case(
            {key: _ts(due_at) for key, (_, due_at) in targets.items()}, value=js.c.outcome, else_=js.c.due_at
        )
        values["arrived_at"] = case((moved, _ts(now)), else_=js.c.arrived_at)
    return update(js).where(js.c.claim_id == claim_id, js.c.outcome.in_(releasing)).values(**values)


def complete_entries(claim_id: str, terminal: Sequence[Outcome], *, now: datetime) -> Update:
    """Entries whose every remaining token leaves the campaign in this chunk are completed."""
    leaving_values = [encode(outcome) for outcome in terminal]
    other = js.alias("other")
    still_inside = exists().where(
        other.c.entry_id == entries.c.id,
        or_(other.c.claim_id.is_(None), other.c.claim_id != claim_id, other.c.outcome.not_in(leaving_values)),
    )
    leaving = select(js.c.entry_id).where(js.c.claim_id == claim_id, js.c.outcome.in_(leaving_values))
    return (
        update(entries)
        .where(entries.c.id.in_(leaving.scalar_subquery()), entries.c.status == "active", ~still_inside)
        .values(status="completed", finished_at=now)
    )


def delete_leaving(claim_id: str, terminal: Sequence[Outcome]) -> Delete:
    return delete(js).where(js.c.claim_id == claim_id, js.c.outcome.in_([encode(outcome) for outcome in terminal]))


# -- what an action reads and writes of its chunk ----------------------------------------------------------------
def batch_rows(batch_member: ColumnElement[bool], where: ColumnElement[bool]) -> Select[Any]:
    """The chunk's rows (id, campaign_id, entry_id, customer_id) for which ``where`` holds."""
    return select(js.c.id, js.c.campaign_id, js.c.entry_id, js.c.customer_id).where(batch_member, where)


def flag_control_entries(batch_member: ColumnElement[bool], chosen: ColumnElement[bool]) -> Update:
    """Flag as control group (D1) the entries of the chunk for which ``chosen`` (a predicate on ``entries``)
    holds; never unflag one."""
    in_chunk = select(js.c.entry_id).where(batch_member).scalar_subquery()
    return (
        update(entries)
        .where(entries.c.id.in_(in_chunk), entries.c.is_control.is_not(True), chosen)
        .values(is_control=true())
    )


# -- entering ------------------------------------------------------------------------------------------
def insert_entries(
    candidates: Select[Any],
    *,
    campaign_id: int,
    version: int,
    now: datetime,
    batch: str,
    reentry_after: datetime | None,
) -> Insert:
    """Enter the candidate customers (columns customer_id, context, event_id) unless re-entry forbids it."""
    source = candidates.subquery("candidates")
    blocking = entries.c.status == "active"
    if reentry_after is not None:
        blocking = or_(blocking, entries.c.entered_at > reentry_after)
    blocked = exists().where(
        entries.c.campaign_id == campaign_id, entries.c.customer_id == source.c.customer_id, blocking
    )
    rows = select(
        literal(campaign_id),
        literal(version),
        source.c.customer_id,
        literal("active"),
        _ts(now),
        source.c.context,
        source.c.event_id,
        literal(batch),
    ).where(~blocked)
    columns = ["campaign_id", "version", "customer_id", "status", "entered_at", "context", "event_id", "trigger_batch"]
    return entries.insert().from_select(columns, rows)


def tokens_from_entries(batch: str, *, node_id: str, now: datetime, due_at: datetime) -> Insert:
    rows = select(
        entries.c.campaign_id,
        entries.c.version,
        entries.c.id,
        entries.c.customer_id,
        literal(node_id),
        _ts(now),
        _ts(due_at),
        literal("waiting"),
    ).where(entries.c.trigger_batch == batch)
    return js.insert().from_select(list(TOKEN_COLUMNS), rows)


def trace_entries(batch: str, *, trigger_id: str, now: datetime) -> Insert:
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
    ).where(entries.c.trigger_batch == batch)
    return journey_trace.insert().from_select(list(TRACE_COLUMNS), rows)


def complete_batch_without_children(batch: str, *, now: datetime) -> Update:
    return update(entries).where(entries.c.trigger_batch == batch).values(status="completed", finished_at=now)


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
