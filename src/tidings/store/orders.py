"""Statements on orders, receipts and their lines.

Writing a batch is two steps, both set-at-a-time:

1. ``resolve_orders`` looks up every reference of the batch with one query per kind (customers, stores,
   categories, catalogue products; chunked for very large batches) and refuses the rows that name an unknown
   customer, store or category. A SKU missing from the catalogue is accepted; a line's category defaults to the
   catalogue category of its SKU.
2. ``store_orders`` upserts the orders by ``(kind, external_id)`` and replaces their lines. With ``staged``
   (PostgreSQL bulk import), the batch is COPYed into TEMP tables and merged with ``INSERT … SELECT``; otherwise
   it is three ``executemany`` / ``IN (…)`` statements. Both give the same rows.

Rows naming the same ``(kind, external_id)`` in one batch: the last one wins, as if posted one after the other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Delete,
    Insert,
    Integer,
    MetaData,
    Numeric,
    Select,
    Table,
    Text,
    and_,
    cast,
    delete,
    func,
    insert,
    select,
)

from tidings.core.dialect import Dialect
from tidings.model.orders import OrderIn, OrderKind
from tidings.store.catalog_data import Verdict, chunks, existing, product_categories_of
from tidings.store.domain_events import OrderChange, record_order_events
from tidings.store.tables import customers, order_lines, orders, product_categories, products, stores
from tidings.store.types import to_micros

ORDER_COLUMNS = (
    "customer_id",
    "status",
    "store_code",
    "total",
    "placed_at",
    "paid_at",
    "cancelled_at",
    "attributes",
)
LINE_COLUMNS = ("sku", "category_code", "quantity", "price", "amount")


@dataclass(frozen=True)
class Resolved:
    """An order whose references are known: ready to store."""

    order: OrderIn
    customer_id: int
    categories: tuple[str | None, ...]  # per line: the given category, else the catalogue's, else none


def resolve_orders(conn: Connection, rows: Sequence[OrderIn]) -> list[Resolved | Verdict]:
    """Per row, in order: the resolved order, or why it is refused (as a ``Verdict``)."""
    customer_ids: dict[str, int] = {}
    for chunk in chunks({row.customer for row in rows}):
        query = select(customers.c.external_id, customers.c.id).where(customers.c.external_id.in_(chunk))
        customer_ids.update(conn.execute(query).all())
    known_stores = existing(conn, stores.c.code, (row.store for row in rows if row.store is not None))
    given = (line.category for row in rows for line in row.lines if line.category is not None)
    known_categories = existing(conn, product_categories.c.code, given)
    catalogue = product_categories_of(conn, (line.sku for row in rows for line in row.lines))
    resolved: list[Resolved | Verdict] = []
    for row in rows:
        customer_id = customer_ids.get(row.customer)
        if customer_id is None:
            message = f"unknown customer {row.customer!r}; create it with POST /api/v1/customers first"
            resolved.append((("customer",), message))
            continue
        if row.store is not None and row.store not in known_stores:
            resolved.append((("store",), f"unknown store {row.store!r}; create it with POST /api/v1/stores first"))
            continue
        unknown = next(
            (
                (index, line.category)
                for index, line in enumerate(row.lines)
                if line.category is not None and line.category not in known_categories
            ),
            None,
        )
        if unknown is not None:
            message = f"unknown category {unknown[1]!r}; create it with POST /api/v1/product-categories first"
            resolved.append((("lines", unknown[0], "category"), message))
            continue
        categories = tuple(line.category or catalogue.get(line.sku) for line in row.lines)
        resolved.append(Resolved(row, customer_id, categories))
    return resolved


def store_orders(
    conn: Connection,
    dialect: Dialect,
    rows: Sequence[Resolved],
    *,
    now: datetime,
    record_events: bool = True,
    staged: bool = False,
) -> None:
    """Upsert ``rows`` by ``(kind, external_id)``, replacing their lines.

    With ``record_events`` (the default), the domain events of the change (``tidings.model.domain_events``:
    order created, status changed, paid, cancelled, receipt issued) are stored in the same transaction, received
    at ``now``, judged against the status each order had before the batch; rows naming one order twice are
    judged one after the other, as if posted so. A historic backfill passes False."""
    latest = {(row.order.kind, row.order.external_id): row for row in rows}  # the last one wins
    if not latest:
        return
    if record_events:
        before = stored_statuses(conn, latest)
        previous: dict[tuple[str, str], str] = dict(before)
        changes: list[OrderChange] = []
        for row in rows:
            key = (row.order.kind, row.order.external_id)
            changes.append((row.customer_id, row.order, row.categories, previous.get(key), key in previous))
            previous[key] = row.order.stored_status
        record_order_events(conn, changes, now)
    if staged:
        _store_staged(conn, dialect, list(latest.values()))
        return
    conn.execute(upsert_orders(dialect), [_order_values(row) for row in latest.values()])
    ids = order_ids(conn, latest)
    for chunk in chunks(ids.values()):
        conn.execute(delete_lines(chunk))
    conn.execute(
        insert_lines(),
        [
            {"order_id": ids[key], **_line_values(row, index)}
            for key, row in latest.items()
            for index in range(len(row.order.lines))
        ],
    )


def upsert_orders(dialect: Dialect) -> Insert:
    """Executed with many rows: kind, external_id and ``ORDER_COLUMNS``."""
    return dialect.upsert(orders, ["kind", "external_id"], ORDER_COLUMNS)


def insert_lines() -> Insert:
    """Executed with many rows: order_id and ``LINE_COLUMNS``."""
    return insert(order_lines)


def delete_lines(order_ids: Sequence[int]) -> Delete:
    return delete(order_lines).where(order_lines.c.order_id.in_(order_ids))


def order_ids(conn: Connection, keys: Iterable[tuple[OrderKind, str]]) -> dict[tuple[str, str], int]:
    """The id of each stored ``(kind, external_id)``: one query per kind and ``LOOKUP_CHUNK`` ids."""
    by_kind: dict[str, list[str]] = {}
    for key in keys:
        by_kind.setdefault(key[0], []).append(key[1])
    found: dict[tuple[str, str], int] = {}
    for kind, external_ids in by_kind.items():
        for chunk in chunks(external_ids):
            query = select(orders.c.external_id, orders.c.id).where(
                orders.c.kind == kind, orders.c.external_id.in_(chunk)
            )
            found.update(((kind, external_id), order_id) for external_id, order_id in conn.execute(query))
    return found


def stored_statuses(conn: Connection, keys: Iterable[tuple[OrderKind, str]]) -> dict[tuple[str, str], str]:
    """The stored status of each ``(kind, external_id)`` that exists: one query per kind and ``LOOKUP_CHUNK``
    ids."""
    by_kind: dict[str, list[str]] = {}
    for key in keys:
        by_kind.setdefault(key[0], []).append(key[1])
    found: dict[tuple[str, str], str] = {}
    for kind, external_ids in by_kind.items():
        for chunk in chunks(external_ids):
            query = select(orders.c.external_id, orders.c.status).where(
                orders.c.kind == kind, orders.c.external_id.in_(chunk)
            )
            found.update(((kind, external_id), status) for external_id, status in conn.execute(query))
    return found


def _order_values(row: Resolved) -> dict[str, Any]:
    order = row.order
    return {
        "kind": order.kind,
        "external_id": order.external_id,
        "customer_id": row.customer_id,
        "status": order.stored_status,
        "store_code": order.store,
        "total": order.stored_total,
        "placed_at": order.placed_at,
        "paid_at": order.paid_at,
        "cancelled_at": order.cancelled_at,
        "attributes": order.attributes,
    }


def _line_values(row: Resolved, index: int) -> dict[str, Any]:
    line = row.order.lines[index]
    return {
        "sku": line.sku,
        "category_code": row.categories[index],
        "quantity": line.quantity,
        "price": line.price,
        "amount": line.amount,
    }


# -- PostgreSQL bulk import: COPY into TEMP tables, merge with INSERT … SELECT ------------------------------
_staging_metadata = MetaData()
#: One batch of orders, dropped when the batch commits (or rolls back); times in microseconds, as stored.
order_staging = Table(
    "tidings_order_import",
    _staging_metadata,
    Column("kind", Text, nullable=False),
    Column("external_id", Text, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("store_code", Text),
    Column("total", Numeric(18, 2), nullable=False),
    Column("placed_at", BigInteger, nullable=False),
    Column("paid_at", BigInteger),
    Column("cancelled_at", BigInteger),
    Column("attributes", Text, nullable=False),  # JSON text, cast to JSONB on the way in
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
line_staging = Table(
    "tidings_order_line_import",
    _staging_metadata,
    Column("kind", Text, nullable=False),
    Column("external_id", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("sku", Text, nullable=False),
    Column("category_code", Text),
    Column("quantity", Numeric(18, 3), nullable=False),
    Column("price", Numeric(18, 2), nullable=False),
    Column("amount", Numeric(18, 2), nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
_STAGED_ORDER_COLUMNS = [column.name for column in order_staging.columns]
_STAGED_LINE_COLUMNS = [column.name for column in line_staging.columns]


def _store_staged(conn: Connection, dialect: Dialect, rows: Sequence[Resolved]) -> None:
    order_staging.create(conn)
    line_staging.create(conn)
    dialect.bulk_load(conn, order_staging, _STAGED_ORDER_COLUMNS, (_staged_order(row) for row in rows))
    dialect.bulk_load(conn, line_staging, _STAGED_LINE_COLUMNS, (line for row in rows for line in _staged_lines(row)))
    conn.execute(upsert_staged_orders(dialect))
    conn.execute(delete_staged_lines())
    conn.execute(insert_staged_lines())


def upsert_staged_orders(dialect: Dialect) -> Insert:
    source = select(
        *(
            cast(order_staging.c[name], orders.c.attributes.type) if name == "attributes" else order_staging.c[name]
            for name in ("kind", "external_id", *ORDER_COLUMNS)
        )
    )
    return upsert_orders(dialect).from_select(["kind", "external_id", *ORDER_COLUMNS], source)


def delete_staged_lines() -> Delete:
    on = and_(orders.c.kind == order_staging.c.kind, orders.c.external_id == order_staging.c.external_id)
    staged = select(orders.c.id).join_from(orders, order_staging, on)
    return delete(order_lines).where(order_lines.c.order_id.in_(staged.scalar_subquery()))


def insert_staged_lines() -> Insert:
    source = (
        select(orders.c.id, *(line_staging.c[name] for name in LINE_COLUMNS))
        .join_from(
            line_staging,
            orders,
            and_(orders.c.kind == line_staging.c.kind, orders.c.external_id == line_staging.c.external_id),
        )
        .order_by(orders.c.id, line_staging.c.position)
    )
    return insert(order_lines).from_select(["order_id", *LINE_COLUMNS], source)


def _staged_order(row: Resolved) -> tuple[Any, ...]:
    order = row.order
    return (
        order.kind,
        order.external_id,
        row.customer_id,
        order.stored_status,
        order.store,
        order.stored_total,
        to_micros(order.placed_at),
        None if order.paid_at is None else to_micros(order.paid_at),
        None if order.cancelled_at is None else to_micros(order.cancelled_at),
        json.dumps(order.attributes, ensure_ascii=False),
    )


def _staged_lines(row: Resolved) -> Iterable[tuple[Any, ...]]:
    order = row.order
    for index, line in enumerate(order.lines):
        yield (
            order.kind,
            order.external_id,
            index,
            line.sku,
            row.categories[index],
            line.quantity,
            line.price,
            line.amount,
        )


# -- reading -----------------------------------------------------------------------------------------------
def orders_of_customer(customer_id: int, kind: OrderKind | None, *, limit: int, offset: int) -> Select[Any]:
    """A customer's orders and receipts, newest first."""
    query = select(orders).where(orders.c.customer_id == customer_id)
    if kind is not None:
        query = query.where(orders.c.kind == kind)
    return query.order_by(orders.c.placed_at.desc(), orders.c.id.desc()).limit(limit).offset(offset)


def count_orders_of_customer(customer_id: int, kind: OrderKind | None) -> Select[Any]:
    query = select(func.count()).select_from(orders).where(orders.c.customer_id == customer_id)
    return query if kind is None else query.where(orders.c.kind == kind)


def lines_of(order_ids: Sequence[int]) -> Select[Any]:
    """The lines of the given orders, in the order they were sent."""
    return select(order_lines).where(order_lines.c.order_id.in_(order_ids)).order_by(order_lines.c.id)


# -- template variables (``rendering.variables``) -----------------------------------------------------------------
def orders_by_id(order_ids: Sequence[int]) -> Select[Any]:
    return select(orders).where(orders.c.id.in_(order_ids))


def lines_with_product_names(order_ids: Sequence[int]) -> Select[Any]:
    """The lines of the given orders, each with its catalogue product's ``name`` (NULL for an unknown SKU), by
    order and then in the order they were sent."""
    return (
        select(order_lines, products.c.name)
        .join_from(order_lines, products, products.c.sku == order_lines.c.sku, isouter=True)
        .where(order_lines.c.order_id.in_(order_ids))
        .order_by(order_lines.c.order_id, order_lines.c.id)
    )


def latest_order_id(*, customer_id: int, external_id: str) -> Select[Any]:
    """The id of the customer's latest order (or receipt) with this external id."""
    return (
        select(orders.c.id)
        .where(orders.c.external_id == external_id, orders.c.customer_id == customer_id)
        .order_by(orders.c.id.desc())
        .limit(1)
    )


# -- dates of purchases (anniversary and "days since" triggers) ----------------------------------------------
#: The statuses of an order or receipt that stands: not cancelled, not returned.
STANDING_STATUSES = ("created", "paid")


def purchase_dates(kinds: Sequence[OrderKind], *, first: bool) -> Select[Any]:
    """(customer_id, at): each customer's first (or last) ``placed_at`` among their standing orders of ``kinds``."""
    at = (func.min if first else func.max)(orders.c.placed_at)
    return (
        select(orders.c.customer_id.label("customer_id"), at.label("at"))
        .where(orders.c.kind.in_(kinds), orders.c.status.in_(STANDING_STATUSES))
        .group_by(orders.c.customer_id)
    )
