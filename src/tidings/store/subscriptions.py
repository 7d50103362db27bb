"""Statements on consent: channel subscriptions, mailing categories and category subscriptions, and the loyalty
sync requests a channel change records (spec 5.2, E22).

Loyalty sync: all categories map to the loyalty programme's one "Mailings" subscription type, so changing a
category on a channel is never propagated; turning a whole channel off (or on again) is. Such a real change
records one ``loyalty_requests`` row in the same transaction — kind ``subscription``, payload
``{"type": "Mailings", "channel", "active"}``, status ``pending`` for the loyalty adapter. These requests belong
to no campaign: ``campaign_id`` is 0 (the column is NOT NULL and no campaign has id 0) and ``entry_id`` /
``node_id`` are null.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Delete, Insert, Select, Update, and_, bindparam, delete, func, select, update

from tidings.core.dialect import Dialect
from tidings.model.customers import CHANNELS, CustomerIn
from tidings.model.subscriptions import CategoryIn, SubscriptionChange
from tidings.store.tables import (
    campaign_versions,
    campaigns,
    category_subscriptions,
    channel_subscriptions,
    customers,
    loyalty_requests,
    mailing_categories,
    messages,
)

#: ``loyalty_requests.campaign_id`` of requests made outside any campaign (subscription sync).
NO_CAMPAIGN = 0
SYNC_KIND = "subscription"
SYNC_TYPE = "Mailings"
#: A channel with no row is subscribed (conditions read it the same way: unsubscribed only on an explicit N).
DEFAULT_CHANNEL_STATUS = "Y"
#: Campaign statuses in which a campaign may still send.
RUNNING = ("active", "paused")


@dataclass(frozen=True)
class CategoryChange:
    customer_id: int
    category_id: int
    channel: str
    status: str  # Y | N | ND


def apply_changes(
    conn: Connection,
    dialect: Dialect,
    rows: Sequence[tuple[int, SubscriptionChange]],
    categories: Mapping[str, int],
    now: datetime,
) -> list[tuple[int, str, bool]]:
    """Apply (customer id, change) rows as their net result — rows naming the same customer apply in order,
    later statuses win — with one statement per kind of write. ``categories`` maps every category code used to
    its id. Returns the loyalty sync requests recorded, as (customer, channel, active)."""
    channels: dict[int, dict[str, str]] = {}
    memberships: dict[tuple[int, int, str], str] = {}
    for customer_id, change in rows:
        given = channels.setdefault(customer_id, {})
        for channel, status in (change.channels or {}).items():
            given[channel] = status
        for code, statuses in (change.categories or {}).items():
            for channel, membership in statuses.items():
                memberships[(customer_id, categories[code], channel)] = membership
    conn.execute(lock_customers(channels)).all()
    set_categories(conn, dialect, [CategoryChange(*key, status) for key, status in memberships.items()], now)
    return set_channels(conn, dialect, {customer: given for customer, given in channels.items() if given}, now)


# -- mailing categories --------------------------------------------------------------------------------------
def insert_category(dialect: Dialect, category: CategoryIn) -> Insert:
    """Create ``category`` unless its code exists already (then nothing happens: rowcount 0)."""
    return dialect.insert_ignoring_conflicts(mailing_categories, ["code"]).values(
        code=category.code, name=category.name, description=category.description
    )


def update_category(code: str, values: Mapping[str, Any]) -> Update:
    return update(mailing_categories).where(mailing_categories.c.code == code).values(**values)


def get_category(code: str, *, for_update: bool = False) -> Select[Any]:
    query = select(mailing_categories).where(mailing_categories.c.code == code)
    return query.with_for_update() if for_update else query


def list_categories(*, limit: int, offset: int) -> Select[Any]:
    return select(mailing_categories).order_by(mailing_categories.c.code).limit(limit).offset(offset)


def count_categories() -> Select[Any]:
    return select(func.count()).select_from(mailing_categories)


def category_ids(codes: Iterable[str]) -> Select[Any]:
    return select(mailing_categories.c.code, mailing_categories.c.id).where(mailing_categories.c.code.in_(set(codes)))


def category_members(category_id: int) -> Select[int, int]:
    """How many customers belong to a category (on any channel, Y or N), and how many are subscribed (Y)."""
    subs = category_subscriptions
    query = select(
        func.count(func.distinct(subs.c.customer_id)),
        func.count(func.distinct(subs.c.customer_id)).filter(subs.c.status == "Y"),
    )
    return query.where(subs.c.category_id == category_id)


def delete_category(category_id: int) -> Delete:
    """The category; its subscriptions go with it (``ON DELETE CASCADE``)."""
    return delete(mailing_categories).where(mailing_categories.c.id == category_id)


def running_campaign_documents() -> Select[Any]:
    """(id, name, document) of the current version of every campaign that may still send."""
    return (
        select(campaigns.c.id, campaigns.c.name, campaign_versions.c.document)
        .join(
            campaign_versions,
            and_(
                campaign_versions.c.campaign_id == campaigns.c.id,
                campaign_versions.c.version == campaigns.c.current_version,
            ),
        )
        .where(campaigns.c.status.in_(RUNNING))
        .order_by(campaigns.c.id)
    )


# -- channel subscriptions ------------------------------------------------------------------------------------
def lock_customers(customer_ids: Iterable[int]) -> Select[Any]:
    """Serialise concurrent consent changes of the same customers, so a change is judged against the status it
    replaces (PostgreSQL row locks, in id order; SQLite's ``BEGIN IMMEDIATE`` already serialises writers)."""
    ids = sorted(set(customer_ids))
    return select(customers.c.id).where(customers.c.id.in_(ids)).order_by(customers.c.id).with_for_update()


def channel_rows(customer_ids: Iterable[int]) -> Select[Any]:
    subs = channel_subscriptions
    return select(subs.c.customer_id, subs.c.channel, subs.c.status).where(subs.c.customer_id.in_(set(customer_ids)))


def channel_statuses(conn: Connection, customer_id: int) -> dict[str, str]:
    """Every channel's status, ``Y`` where none was ever set."""
    stored = {channel: status for _, channel, status in conn.execute(channel_rows([customer_id]))}
    return {channel: stored.get(channel, DEFAULT_CHANNEL_STATUS) for channel in CHANNELS}


def set_channels(
    conn: Connection, dialect: Dialect, changes: Mapping[int, Mapping[str, str]], now: datetime
) -> list[tuple[int, str, bool]]:
    """Set channel statuses (customer id → channel → Y | N), set-at-a-time; the customers must be locked
    (``lock_customers``). A real change of the effective status — a channel turned off, or on again — records
    a loyalty sync request; the same status again records nothing. Returns the synced (customer, channel,
    active) triples."""
    if not changes:
        return []
    stored = {(customer, channel): status for customer, channel, status in conn.execute(channel_rows(changes))}
    writes: list[dict[str, Any]] = []
    synced: list[tuple[int, str, bool]] = []
    for customer_id, statuses in changes.items():
        for channel, status in statuses.items():
            before = stored.get((customer_id, channel))
            if before == status:
                continue
            writes.append({"customer_id": customer_id, "channel": channel, "status": status, "updated_at": now})
            if (before or DEFAULT_CHANNEL_STATUS) != status:
                synced.append((customer_id, channel, status == "Y"))
    if writes:
        conn.execute(
            dialect.upsert(channel_subscriptions, ["customer_id", "channel"], ["status", "updated_at"]), writes
        )
    if synced:
        conn.execute(insert_sync_requests(), [sync_request(*item, now=now) for item in synced])
    return synced


def insert_sync_requests() -> Insert:
    return loyalty_requests.insert()


def sync_request(customer_id: int, channel: str, active: bool, *, now: datetime) -> dict[str, Any]:
    return {
        "kind": SYNC_KIND,
        "campaign_id": NO_CAMPAIGN,
        "entry_id": None,
        "node_id": None,
        "customer_id": customer_id,
        "payload": {"type": SYNC_TYPE, "channel": channel, "active": active},
        "status": "pending",
        "created_at": now,
    }


# -- category subscriptions -----------------------------------------------------------------------------------
def category_rows(customer_ids: Iterable[int]) -> Select[Any]:
    """(customer id, category code, channel, status) of the categories the customers belong to."""
    subs = category_subscriptions
    return (
        select(subs.c.customer_id, mailing_categories.c.code, subs.c.channel, subs.c.status)
        .join(mailing_categories, mailing_categories.c.id == subs.c.category_id)
        .where(subs.c.customer_id.in_(set(customer_ids)))
        .order_by(subs.c.customer_id, mailing_categories.c.code, subs.c.channel)
    )


def category_statuses(conn: Connection, customer_id: int) -> dict[str, dict[str, str]]:
    """The categories a customer belongs to, each with its channels' statuses; a category without any channel
    row is not listed."""
    found: dict[str, dict[str, str]] = {}
    for _, code, channel, status in conn.execute(category_rows([customer_id])):
        found.setdefault(code, {})[channel] = status
    return found


def set_categories(conn: Connection, dialect: Dialect, changes: Sequence[CategoryChange], now: datetime) -> None:
    """Apply category × channel statuses, set-at-a-time: ``Y`` / ``N`` are stored, ``ND`` removes the row.
    Never propagated to the loyalty programme (E22)."""
    stored = [
        {"customer_id": c.customer_id, "category_id": c.category_id, "channel": c.channel, "status": c.status}
        for c in changes
        if c.status != "ND"
    ]
    removed = [
        {"c_customer": c.customer_id, "c_category": c.category_id, "c_channel": c.channel}
        for c in changes
        if c.status == "ND"
    ]
    if stored:
        upsert = dialect.upsert(
            category_subscriptions, ["customer_id", "category_id", "channel"], ["status", "updated_at"]
        )
        conn.execute(upsert, [{**row, "updated_at": now} for row in stored])
    if removed:
        conn.execute(remove_from_category(), removed)


def remove_from_category() -> Delete:
    """One (customer, category, channel) row; executed with many parameter sets."""
    subs = category_subscriptions
    return delete(subs).where(
        subs.c.customer_id == bindparam("c_customer"),
        subs.c.category_id == bindparam("c_category"),
        subs.c.channel == bindparam("c_channel"),
    )


# -- the suppression list ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Withheld:
    """A consent an import asked for and did not get: the customer stopped the channel themselves."""

    external_id: str
    channel: str
    reason: str  # "a spam complaint" | "an unsubscribe"


def suppressions(external_ids: Iterable[str]) -> Select[Any]:
    """(external id, channel, complained) of each channel the customer switched off themselves — a spam
    complaint or an unsubscribe link in one of its messages — and that is still off."""
    off = and_(
        channel_subscriptions.c.customer_id == customers.c.id,
        channel_subscriptions.c.status == "N",
    )
    stopped = and_(
        messages.c.customer_id == customers.c.id,
        messages.c.channel == channel_subscriptions.c.channel,
        messages.c.complained_at.is_not(None) | messages.c.unsubscribed_at.is_not(None),
    )
    return (
        select(
            customers.c.external_id,
            channel_subscriptions.c.channel,
            func.max(messages.c.complained_at).is_not(None).label("complained"),
        )
        .join_from(customers, channel_subscriptions, off)
        .join(messages, stopped)
        .where(customers.c.external_id.in_(set(external_ids)))
        .group_by(customers.c.external_id, channel_subscriptions.c.channel)
    )


def withheld_message(item: Withheld) -> str:
    return (
        f"{item.channel} left off: the customer switched it off with {item.reason} (the suppression list); "
        "only their own consent turns it on again"
    )


def withhold_suppressed(conn: Connection, rows: Sequence[CustomerIn]) -> tuple[list[CustomerIn], list[Withheld]]:
    """The rows with every consent removed that would switch back on a channel the customer stopped with a
    spam complaint or an unsubscribe (the suppression list: an import never overrides it), and what was
    withheld. Only the customer's own consent (``PATCH /customers/{id}/subscriptions``) turns it on again."""
    asking = [row.external_id for row in rows if row.subscriptions and any(row.subscriptions.values())]
    if not asking:
        return list(rows), []
    stopped: dict[str, dict[str, bool]] = {}
    for external_id, channel, complained in conn.execute(suppressions(asking)):
        stopped.setdefault(external_id, {})[channel] = bool(complained)
    if not stopped:
        return list(rows), []
    kept: list[CustomerIn] = []
    withheld: list[Withheld] = []
    for row in rows:
        off = stopped.get(row.external_id, {})
        asked = row.subscriptions or {}
        blocked = [channel for channel, allowed in asked.items() if allowed and channel in off]
        if not blocked:
            kept.append(row)
            continue
        rest = {channel: allowed for channel, allowed in asked.items() if channel not in blocked}
        kept.append(row.model_copy(update={"subscriptions": rest or None}))
        withheld += [
            Withheld(row.external_id, channel, "a spam complaint" if off[channel] else "an unsubscribe")
            for channel in blocked
        ]
    return kept, withheld
