"""Statements on campaigns, their versions, their triggers and the trigger inbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Delete, Insert, Select, Update, delete, func, insert, select, update

from tidings.core.dialect import Dialect
from tidings.store.tables import attributions, campaign_triggers, campaign_versions, campaigns, events, trigger_inbox


def insert_campaign(*, name: str, now: datetime) -> Insert:
    return insert(campaigns).values(name=name, status="draft", current_version=1, created_at=now, updated_at=now)


def insert_version(*, campaign_id: int, version: int, document: dict[str, Any], now: datetime) -> Insert:
    return insert(campaign_versions).values(campaign_id=campaign_id, version=version, document=document, created_at=now)


def replace_version(*, campaign_id: int, version: int, document: dict[str, Any]) -> Update:
    return (
        update(campaign_versions)
        .where(campaign_versions.c.campaign_id == campaign_id, campaign_versions.c.version == version)
        .values(document=document)
    )


def get_campaign(campaign_id: int, *, for_update: bool = False) -> Select[Any]:
    query = select(campaigns).where(campaigns.c.id == campaign_id)
    return query.with_for_update() if for_update else query


def current_version(campaign_id: int) -> Select[Any]:
    return select(campaigns.c.current_version).where(campaigns.c.id == campaign_id)


def names_of(campaign_ids: Sequence[int]) -> Select[Any]:
    """The (id, name) of each of the given campaigns."""
    return select(campaigns.c.id, campaigns.c.name).where(campaigns.c.id.in_(campaign_ids))


def list_campaigns() -> Select[Any]:
    """Every campaign, oldest first, with ``orders`` and ``revenue``: the orders credited to it (spec 5.8)."""
    credited = (
        select(
            attributions.c.campaign_id,
            func.count().label("orders"),
            func.sum(attributions.c.revenue).label("revenue"),
        )
        .group_by(attributions.c.campaign_id)
        .subquery("credited")
    )
    return (
        select(
            campaigns,
            func.coalesce(credited.c.orders, 0).label("orders"),
            func.coalesce(credited.c.revenue, 0).label("revenue"),
        )
        .select_from(campaigns.outerjoin(credited, credited.c.campaign_id == campaigns.c.id))
        .order_by(campaigns.c.id)
    )


def get_version(campaign_id: int, version: int) -> Select[Any]:
    return select(campaign_versions.c.document).where(
        campaign_versions.c.campaign_id == campaign_id, campaign_versions.c.version == version
    )


def set_status(campaign_id: int, *, status: str, now: datetime, reason: str | None = None) -> Update:
    return (
        update(campaigns)
        .where(campaigns.c.id == campaign_id)
        .values(status=status, status_reason=reason, updated_at=now)
    )


def set_current(campaign_id: int, *, version: int, name: str, now: datetime) -> Update:
    return (
        update(campaigns)
        .where(campaigns.c.id == campaign_id)
        .values(current_version=version, name=name, updated_at=now)
    )


# -- triggers ------------------------------------------------------------------------------------------
def replace_trigger(
    *,
    campaign_id: int,
    kind: str,
    event_name: str | None,
    next_fire_at: datetime | None,
    fire_cursor: int | None = None,
) -> list[Any]:
    return [
        delete(campaign_triggers).where(campaign_triggers.c.campaign_id == campaign_id),
        insert(campaign_triggers).values(
            campaign_id=campaign_id,
            kind=kind,
            event_name=event_name,
            next_fire_at=next_fire_at,
            fire_cursor=fire_cursor,
        ),
    ]


def fire_in_progress(campaign_id: int) -> Select[Any]:
    """(kind, next_fire_at, fire_cursor) of the campaign's trigger while a whole-base fire is part-way through."""
    return select(campaign_triggers.c.kind, campaign_triggers.c.next_fire_at, campaign_triggers.c.fire_cursor).where(
        campaign_triggers.c.campaign_id == campaign_id, campaign_triggers.c.fire_cursor.is_not(None)
    )


def delete_trigger(campaign_id: int) -> Delete:
    return delete(campaign_triggers).where(campaign_triggers.c.campaign_id == campaign_id)


def claim_due_schedule(dialect: Dialect, *, now: datetime) -> Select[Any]:
    """The (campaign_id, next_fire_at, fire_cursor) of the active campaign whose schedule trigger is due first."""
    query = (
        select(campaign_triggers.c.campaign_id, campaign_triggers.c.next_fire_at, campaign_triggers.c.fire_cursor)
        .join(campaigns, campaigns.c.id == campaign_triggers.c.campaign_id)
        .where(campaigns.c.status == "active", campaign_triggers.c.next_fire_at <= now)
        .order_by(campaign_triggers.c.next_fire_at)
        .limit(1)
    )
    return dialect.lock_for_claim(query)


def next_fire_time(*, after: datetime) -> Select[Any]:
    return (
        select(func.min(campaign_triggers.c.next_fire_at))
        .join(campaigns, campaigns.c.id == campaign_triggers.c.campaign_id)
        .where(campaigns.c.status == "active", campaign_triggers.c.next_fire_at > after)
    )


def record_fire(campaign_id: int, *, fired_at: datetime, next_fire_at: datetime | None) -> Update:
    """The fire is complete: when it ended, when the next one is due, no slice in progress."""
    return (
        update(campaign_triggers)
        .where(campaign_triggers.c.campaign_id == campaign_id)
        .values(last_fired_at=fired_at, next_fire_at=next_fire_at, fire_cursor=None)
    )


def record_slice(campaign_id: int, *, through: int) -> Update:
    """A slice of the fire in progress entered the customers up to id ``through``."""
    return update(campaign_triggers).where(campaign_triggers.c.campaign_id == campaign_id).values(fire_cursor=through)


# -- trigger inbox -------------------------------------------------------------------------------------
def route_events_to_inbox(ingest_batch: str) -> Insert:
    """Match freshly stored events to the event triggers of active campaigns, in the same transaction."""
    matched = (
        select(campaign_triggers.c.campaign_id, events.c.id)
        .join(campaign_triggers, campaign_triggers.c.event_name == events.c.name)
        .join(campaigns, campaigns.c.id == campaign_triggers.c.campaign_id)
        .where(events.c.ingest_batch == ingest_batch, events.c.customer_id.is_not(None), campaigns.c.status == "active")
    )
    return insert(trigger_inbox).from_select(["campaign_id", "event_id"], matched)


def campaigns_with_inbox() -> Select[Any]:
    return (
        select(trigger_inbox.c.campaign_id)
        .join(campaigns, campaigns.c.id == trigger_inbox.c.campaign_id)
        .where(campaigns.c.status == "active")
        .distinct()
    )


def claim_inbox(dialect: Dialect, campaign_id: int, *, limit: int) -> Select[Any]:
    query = (
        select(trigger_inbox.c.id, trigger_inbox.c.event_id)
        .where(trigger_inbox.c.campaign_id == campaign_id)
        .order_by(trigger_inbox.c.id)
        .limit(limit)
    )
    return dialect.lock_for_claim(query)


def delete_inbox(ids: list[int]) -> Delete:
    return delete(trigger_inbox).where(trigger_inbox.c.id.in_(ids))


def clear_inbox(campaign_id: int) -> Delete:
    return delete(trigger_inbox).where(trigger_inbox.c.campaign_id == campaign_id)
