"""Firing triggers: event triggers drain their inbox, schedule triggers enrol their audience when due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_

from tidings.core.account import AccountSettings
from tidings.core.contracts import NarrowsWholeBase
from tidings.core.triggers import ChoosesAudience, FiltersCustomers, Trigger
from tidings.document.cache import DocumentCache
from tidings.document.campaign import CampaignDocument
from tidings.document.registry import ACTIONS, TRIGGERS
from tidings.engine.entering import enter_customers
from tidings.segments.compiler import ConditionCompiler
from tidings.store import campaigns as campaign_sql
from tidings.store import candidates as candidate_sql
from tidings.store.database import Database

_JUST_BEFORE = timedelta(microseconds=1)


def whole_base_entry(document: CampaignDocument) -> tuple[Select[Any], str | None]:
    """Candidates of a whole-base trigger, and the node they pass at once, if any (D11 fusion).

    When the trigger's only child narrows the whole base (Select customers from segment), its members are the
    candidates — one ``INSERT … SELECT`` from the membership — and the tokens start at that node's children.
    """
    children = document.targets(document.trigger.id, "out")
    if len(children) == 1:
        node = document.node(children[0])
        action = ACTIONS[node.type]
        if isinstance(action, NarrowsWholeBase) and document.default_port(node.id) == "out":
            return candidate_sql.narrowed_base(action.whole_base_candidates(node.config)), node.id
    return candidate_sql.whole_base(), None


def schedule_entry(
    document: CampaignDocument, fire_at: datetime, account: AccountSettings
) -> tuple[Select[Any], str | None]:
    """Candidates of the schedule fire due at ``fire_at``: the audience the trigger chooses, else the whole base."""
    trigger = TRIGGERS[document.trigger.type]
    if isinstance(trigger, ChoosesAudience):
        return candidate_sql.narrowed_base(trigger.audience(document.trigger.config, fire_at, account)), None
    return whole_base_entry(document)


def first_fire_at(document: CampaignDocument, now: datetime, account: AccountSettings) -> datetime | None:
    trigger = TRIGGERS[document.trigger.type]
    return trigger.next_fire_at(document.trigger.config, now - _JUST_BEFORE, account)


def _current(conn: Connection, documents: DocumentCache, campaign_id: int) -> tuple[int, CampaignDocument]:
    version = conn.execute(campaign_sql.current_version(campaign_id)).scalar_one()
    return version, documents.get(conn, campaign_id, version)


def _event_predicate(
    trigger: Trigger, config: Any, now: datetime, account: AccountSettings
) -> ColumnElement[bool] | None:
    """What an inbox event must meet to enter its customer: the trigger's test of the event and, for a trigger that
    filters customers, its condition on the customer, judged at ``now``."""
    matches = trigger.event_matches(config)
    condition = trigger.customer_condition(config) if isinstance(trigger, FiltersCustomers) else None
    if condition is None:
        return matches
    holds = candidate_sql.event_customer_holds(ConditionCompiler(now, account.timezone).compile(condition))
    return holds if matches is None else and_(matches, holds)


@dataclass(frozen=True)
class InboxWork:
    entered: int  # entries made
    consumed: int  # inbox rows used up, entered or not (re-entry rules may refuse them all)


def fire_event_triggers(
    db: Database, documents: DocumentCache, now: datetime, account: AccountSettings, limit: int
) -> InboxWork:
    """Enter the customers of pending matched events, and the segment newcomers a recompute handed over (inbox
    rows naming a customer instead of an event)."""
    total = 0
    consumed = 0
    with db.engine.connect() as conn:
        campaign_ids = conn.execute(campaign_sql.campaigns_with_inbox()).scalars().all()
    for campaign_id in campaign_ids:
        with db.engine.begin() as conn:
            claimed = conn.execute(campaign_sql.claim_inbox(db.dialect, campaign_id, limit=limit)).all()
            if not claimed:
                continue
            version, document = _current(conn, documents, campaign_id)
            trigger = TRIGGERS[document.trigger.type]
            inbox_ids = [row.id for row in claimed]
            if any(row.event_id is None for row in claimed):
                total += enter_customers(
                    conn,
                    db.dialect,
                    campaign_id=campaign_id,
                    version=version,
                    document=document,
                    candidates=candidate_sql.inbox_newcomers(inbox_ids),
                    now=now,
                    account=account,
                ).count
            matches = _event_predicate(trigger, document.trigger.config, now, account)
            candidates = candidate_sql.inbox_events(inbox_ids, now=now, matches=matches)
            entered = enter_customers(
                conn,
                db.dialect,
                campaign_id=campaign_id,
                version=version,
                document=document,
                candidates=candidates,
                now=now,
                account=account,
            )
            conn.execute(campaign_sql.delete_inbox(inbox_ids))
            total += entered.count
            consumed += len(inbox_ids)
    return InboxWork(total, consumed)


#: Customers a whole-base fire enters per transaction. The chunks of the first slices move while later slices
#: enter (on another worker, or in the same one's next tick), and no transaction has to hold a whole base.
FIRE_SLICE = 50_000


def fire_schedules(
    db: Database, documents: DocumentCache, now: datetime, account: AccountSettings, *, slice_size: int = FIRE_SLICE
) -> int:
    """Enter the audiences of the due schedule triggers, a slice of at most ``slice_size`` customers (by id) per
    transaction. The last slice records the fire and schedules the next one; a worker that dies between slices
    leaves the fire to resume after the last slice that committed."""
    total = 0
    while True:
        with db.engine.begin() as conn:
            due = conn.execute(campaign_sql.claim_due_schedule(db.dialect, now=now)).first()
            if due is None:
                return total
            campaign_id, fire_at, after = due
            version, document = _current(conn, documents, campaign_id)
            candidates, passes = schedule_entry(document, fire_at, account)
            through, count = conn.execute(candidate_sql.slice_end(candidates, after=after, size=slice_size)).one()
            if through is not None:
                total += enter_customers(
                    conn,
                    db.dialect,
                    campaign_id=campaign_id,
                    version=version,
                    document=document,
                    candidates=candidate_sql.in_slice(candidates, after=after, through=through),
                    now=now,
                    account=account,
                    passes=passes,
                ).count
                conn.execute(campaign_sql.record_slice(campaign_id, through=through))
                db.dialect.count_changes_at_commit(conn)
            if count < slice_size:  # that was the last slice
                trigger = TRIGGERS[document.trigger.type]
                following = trigger.next_fire_at(document.trigger.config, max(now, fire_at), account)
                conn.execute(campaign_sql.record_fire(campaign_id, fired_at=now, next_fire_at=following))
        # The chunks of this slice are planned next: not on statistics sampled when the tables were far smaller.
        db.refresh_run_statistics()


def enroll_by_api(
    conn: Connection,
    db: Database,
    documents: DocumentCache,
    campaign_id: int,
    customer_ids: list[int],
    context: dict[str, Any] | None,
    now: datetime,
    account: AccountSettings,
) -> int:
    version, document = _current(conn, documents, campaign_id)
    candidates = candidate_sql.chosen_customers(customer_ids, context)
    return enter_customers(
        conn,
        db.dialect,
        campaign_id=campaign_id,
        version=version,
        document=document,
        candidates=candidates,
        now=now,
        account=account,
    ).count
