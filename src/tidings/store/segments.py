"""Statements on segments, their stored membership, and the trigger inbox rows a recompute writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Delete,
    Insert,
    Select,
    Update,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from tidings.core.dialect import Dialect
from tidings.core.triggers import SegmentChange
from tidings.store.tables import campaign_triggers, campaigns, customers, segment_members, segments, trigger_inbox

sm = segment_members


def _ts(value: datetime) -> Any:
    return literal(value, sm.c.since.type)


# -- segments ------------------------------------------------------------------------------------------
def insert_segment(
    *, name: str, condition: dict[str, Any] | list[Any], recompute_minutes: int, now: datetime
) -> Insert:
    return insert(segments).values(
        name=name,
        condition=condition,
        recompute_minutes=recompute_minutes,
        next_recompute_at=None,
        last_computed_at=None,
        size=0,
        created_at=now,
        updated_at=now,
    )


def get_segment(segment_id: int, *, for_update: bool = False) -> Select[Any]:
    query = select(segments).where(segments.c.id == segment_id)
    return query.with_for_update() if for_update else query


def list_segments(*, limit: int, offset: int) -> Select[Any]:
    return select(segments).order_by(segments.c.id).limit(limit).offset(offset)


def count_segments() -> Select[Any]:
    return select(func.count()).select_from(segments)


def update_segment(segment_id: int, *, now: datetime, **values: Any) -> Update:
    return update(segments).where(segments.c.id == segment_id).values(updated_at=now, **values)


def delete_segment(segment_id: int) -> Delete:
    return delete(segments).where(segments.c.id == segment_id)


def campaigns_listening(segment_id: int) -> Select[Any]:
    """Campaigns (active or paused) whose trigger listens to the segment."""
    return (
        select(campaigns.c.id, campaigns.c.name)
        .join(campaign_triggers, campaign_triggers.c.campaign_id == campaigns.c.id)
        .where(campaign_triggers.c.segment_id == segment_id, campaigns.c.status.in_(("active", "paused")))
        .order_by(campaigns.c.id)
    )


# -- scheduling ----------------------------------------------------------------------------------------
def _due(now: datetime) -> ColumnElement[bool]:
    """A segment never computed on schedule (``next_recompute_at`` empty) is due at once."""
    return or_(segments.c.next_recompute_at.is_(None), segments.c.next_recompute_at <= now)


def claim_due_segment(dialect: Dialect, *, now: datetime) -> Select[Any]:
    """The segment most overdue for its recompute, locked so that concurrent schedulers skip it."""
    query = (
        select(segments)
        .where(_due(now))
        .order_by(segments.c.next_recompute_at.is_not(None), segments.c.next_recompute_at, segments.c.id)
        .limit(1)
    )
    return dialect.lock_for_claim(query)


def next_recompute_time(*, after: datetime) -> Select[Any]:
    """The earliest scheduled recompute strictly after ``after`` (for the manual clock)."""
    return select(func.min(segments.c.next_recompute_at)).where(segments.c.next_recompute_at > after)


def postpone(segment_id: int, *, next_recompute_at: datetime) -> Update:
    return update(segments).where(segments.c.id == segment_id).values(next_recompute_at=next_recompute_at)


# -- membership ----------------------------------------------------------------------------------------
def matching_customers(matches: ColumnElement[bool]) -> Select[Any]:
    return select(customers.c.id).where(matches)


def count_matching(matches: ColumnElement[bool]) -> Select[Any]:
    return select(func.count()).select_from(customers).where(matches)


def sample_matching(matches: ColumnElement[bool], *, limit: int) -> Select[Any]:
    return (
        select(
            customers.c.external_id,
            customers.c.email,
            customers.c.phone,
            customers.c.first_name,
            customers.c.last_name,
            customers.c.city,
        )
        .where(matches)
        .order_by(customers.c.id)
        .limit(limit)
    )


def remove_leavers(segment_id: int, matches: ColumnElement[bool]) -> Delete:
    """Members for whom the condition no longer holds (or who no longer exist) leave, in one statement."""
    still_matching = exists().where(customers.c.id == sm.c.customer_id, matches)
    return delete(sm).where(sm.c.segment_id == segment_id, ~still_matching)


def add_newcomers(segment_id: int, matches: ColumnElement[bool], *, since: datetime) -> Insert:
    """Customers for whom the condition holds and who are not members yet join, with ``since``."""
    already = exists().where(sm.c.segment_id == segment_id, sm.c.customer_id == customers.c.id)
    rows = select(literal(segment_id), customers.c.id, _ts(since)).where(matches, ~already)
    return insert(sm).from_select(["segment_id", "customer_id", "since"], rows)


def record_computation(segment_id: int, *, computed_at: datetime, next_recompute_at: datetime) -> Update:
    """Store the size (counted from the members), when it was computed and when it is next due."""
    size = select(func.count()).select_from(sm).where(sm.c.segment_id == segment_id).scalar_subquery()
    values: dict[str, Any] = {"size": size, "last_computed_at": computed_at, "next_recompute_at": next_recompute_at}
    return update(segments).where(segments.c.id == segment_id).values(**values)


def newcomers_to_inbox(segment_id: int, *, since: datetime) -> Insert:
    """Hand the members who joined at ``since`` to every active campaign whose trigger listens to the segment."""
    rows = (
        select(campaign_triggers.c.campaign_id, sm.c.customer_id)
        .join(campaign_triggers, campaign_triggers.c.segment_id == sm.c.segment_id)
        .join(campaigns, campaigns.c.id == campaign_triggers.c.campaign_id)
        .where(
            sm.c.segment_id == segment_id,
            sm.c.since == _ts(since),
            campaign_triggers.c.kind == "segment",
            campaign_triggers.c.segment_change == "entered",
            campaigns.c.status == "active",
        )
    )
    return insert(trigger_inbox).from_select(["campaign_id", "customer_id"], rows)


def leavers_to_inbox(segment_id: int, matches: ColumnElement[bool]) -> Insert:
    """Before ``remove_leavers``: hand the members it removes to every active campaign whose trigger listens for
    customers leaving the segment."""
    still_matching = exists().where(customers.c.id == sm.c.customer_id, matches)
    still_a_customer = exists().where(customers.c.id == sm.c.customer_id)
    rows = (
        select(campaign_triggers.c.campaign_id, sm.c.customer_id)
        .join(campaign_triggers, campaign_triggers.c.segment_id == sm.c.segment_id)
        .join(campaigns, campaigns.c.id == campaign_triggers.c.campaign_id)
        .where(
            sm.c.segment_id == segment_id,
            campaign_triggers.c.kind == "segment",
            campaign_triggers.c.segment_change == "left",
            campaigns.c.status == "active",
            still_a_customer,
            ~still_matching,
        )
    )
    return insert(trigger_inbox).from_select(["campaign_id", "customer_id"], rows)


def member_ids(segment_id: int) -> Select[Any]:
    """The customer ids of the segment's members (one column, ``customer_id``)."""
    return select(sm.c.customer_id).where(sm.c.segment_id == segment_id)


def members_page(segment_id: int, *, limit: int, offset: int) -> Select[Any]:
    return (
        select(customers.c.external_id, sm.c.since)
        .join(customers, customers.c.id == sm.c.customer_id)
        .where(sm.c.segment_id == segment_id)
        .order_by(sm.c.customer_id)
        .limit(limit)
        .offset(offset)
    )


# -- the segment trigger -------------------------------------------------------------------------------
def listen_to_segment(campaign_id: int, segment_id: int, change: SegmentChange) -> Update:
    """Record which segment a campaign's (just armed) trigger listens to, and for which change."""
    return (
        update(campaign_triggers)
        .where(campaign_triggers.c.campaign_id == campaign_id)
        .values(segment_id=segment_id, segment_change=change)
    )
