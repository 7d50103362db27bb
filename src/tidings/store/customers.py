"""Statements on customers and their channel subscriptions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, or_, select

from tidings.core.dialect import Dialect
from tidings.model.customers import CustomerIn
from tidings.store.domain_events import record_registrations
from tidings.store.subscriptions import lock_customers, set_channels
from tidings.store.tables import channel_subscriptions, customers, stores

PROFILE_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "middle_name",
    "birthday",
    "gender",
    "city",
    "timezone",
    "registered_at",
    "store_code",
    "attributes",
)


def upsert_customers(
    conn: Connection, dialect: Dialect, rows: Sequence[CustomerIn], now: datetime, *, record_events: bool = True
) -> dict[str, int]:
    """Insert or update customers by external id, set-at-a-time: one statement per group of rows that set the
    same fields. Returns the internal id of every external id.

    With ``record_events`` (the default), each customer the batch creates gets a ``customer_registered`` event in
    the same transaction (one ``INSERT … SELECT``); a historic backfill passes False."""
    existed: set[int] = set()
    if record_events:
        existed = set(conn.execute(ids_by_external([row.external_id for row in rows])).scalars(1))
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        given = tuple(field for field in PROFILE_FIELDS if field in row.model_fields_set)
        values = {field: getattr(row, field) for field in given}
        if "attributes" in values and values["attributes"] is None:
            values["attributes"] = {}
        groups.setdefault(given, []).append({"external_id": row.external_id, **values})
    for given, batch in groups.items():
        for item in batch:
            item.setdefault("created_at", now)
            item["updated_at"] = now
        statement = dialect.upsert(customers, ["external_id"], [*given, "updated_at"])
        conn.execute(statement, batch)
    ids = ids_by_external([row.external_id for row in rows])
    found: dict[str, int] = dict(conn.execute(ids).all())
    if record_events:
        record_registrations(conn, sorted(set(found.values()) - existed), now)
    changes: dict[int, dict[str, str]] = {}
    for row in rows:
        if row.subscriptions:
            statuses: dict[str, str] = {ch: "Y" if allowed else "N" for ch, allowed in row.subscriptions.items()}
            changes.setdefault(found[row.external_id], {}).update(statuses)
    if changes:  # through the subscriptions module, so a channel switched off is synced to loyalty (E22)
        conn.execute(lock_customers(changes))
        set_channels(conn, dialect, changes, now)
    return found


#: What the customer list shows of each customer.
LIST_COLUMNS = ("external_id", "first_name", "last_name", "email", "phone", "city")


def search_customers(query: str | None, *, limit: int, offset: int) -> Select[Any]:
    """A page of customers by external id; with ``query``, those whose name, e-mail, phone or external id contains
    it (any case). A contains-match reads the table: this is the workspace's search, never run by the engine."""
    statement = select(*(customers.c[name] for name in LIST_COLUMNS)).order_by(customers.c.external_id)
    words = (query or "").strip().lower()
    if words:
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        full_name = func.coalesce(customers.c.first_name, "") + " " + func.coalesce(customers.c.last_name, "")
        searched = (customers.c.external_id, customers.c.email, customers.c.phone, full_name)
        statement = statement.where(or_(*(func.lower(column).like(pattern, escape="\\") for column in searched)))
    return statement.limit(limit).offset(offset)


def ids_by_external(external_ids: Sequence[str]) -> Select[Any]:
    return select(customers.c.external_id, customers.c.id).where(customers.c.external_id.in_(set(external_ids)))


def get_by_external(external_id: str) -> Select[Any]:
    return select(customers).where(customers.c.external_id == external_id)


def subscriptions_of(customer_id: int) -> Select[Any]:
    return select(channel_subscriptions.c.channel, channel_subscriptions.c.status).where(
        channel_subscriptions.c.customer_id == customer_id
    )


def with_store_names(dialect: Dialect, customer_ids: Sequence[int], columns: Sequence[str]) -> Select[Any]:
    """Of each given customer: the id, the name of their store (NULL when unknown), then ``columns``."""
    return (
        select(customers.c.id, stores.c.name, *(customers.c[name] for name in columns))
        .join_from(customers, stores, stores.c.code == customers.c.store_code, isouter=True)
        .where(dialect.among(customers.c.id, customer_ids))
    )
