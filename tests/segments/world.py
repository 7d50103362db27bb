"""Customers with orders, events, subscriptions, memberships, messages and campaign entries — written to the
database and kept as ``reference.Customer`` records, so SQL and the reference evaluator see the same data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Engine, Table, delete, insert, select

from tests.segments.reference import Customer, Event, Line, Message, Order, Reference
from tidings.model.catalog import Catalog
from tidings.model.conditions import Condition
from tidings.segments.compiler import ConditionCompiler
from tidings.store.tables import (
    audience_members,
    audiences,
    campaigns,
    category_subscriptions,
    channel_subscriptions,
    custom_fields,
    customers,
    entries,
    events,
    mailing_categories,
    messages,
    order_lines,
    orders,
    segment_members,
    segments,
)

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday; 12:00 in Riga
CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)

#: Tables a world writes, children first (the order they are emptied in).
TABLES = (
    order_lines,
    orders,
    events,
    messages,
    entries,
    segment_members,
    audience_members,
    category_subscriptions,
    channel_subscriptions,
    customers,
    segments,
    audiences,
    campaigns,
    mailing_categories,
    custom_fields,
)


class World:
    def __init__(self, engine: Engine, now: datetime = NOW, timezone: str = "UTC") -> None:
        self.engine = engine
        self.now = now
        self.timezone = timezone
        self.customers: dict[str, Customer] = {}
        self.fields: dict[str, str] = {}
        self.category_ids: dict[str, int] = {}
        self.audience_ids: set[int] = set()
        self.segment_ids: set[int] = set()
        self.campaign_ids: set[int] = set()
        self._ids: dict[str, int] = {}
        self._pending: dict[Table, list[dict[str, Any]]] | None = None

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Queue every row written inside, then insert them with one statement per table and set of columns."""
        self._pending = {}
        try:
            yield
            with self.engine.begin() as conn:
                for table in reversed(TABLES):
                    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
                    for row in self._pending.get(table, []):
                        groups.setdefault(tuple(sorted(row)), []).append(row)
                    for rows in groups.values():
                        conn.execute(insert(table), rows)
        finally:
            self._pending = None

    def _insert(self, table: Table, *rows: dict[str, Any]) -> None:
        if not rows:
            return
        if self._pending is not None:
            self._pending.setdefault(table, []).extend(rows)
            return
        with self.engine.begin() as conn:
            conn.execute(insert(table), list(rows))

    def _next(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def clear(self) -> None:
        with self.engine.begin() as conn:
            for table in TABLES:
                conn.execute(delete(table))
        pending = self._pending
        self.__init__(self.engine, self.now, self.timezone)  # type: ignore[misc]
        self._pending = pending

    # -- the catalog -------------------------------------------------------------------------------------
    def declare(self, code: str, kind: str) -> None:
        self._insert(custom_fields, {"code": code, "name": code, "type": kind, "created_at": self.now})
        self.fields[code] = kind

    def category(self, code: str) -> int:
        ident = self._next("category")
        self._insert(mailing_categories, {"id": ident, "code": code, "name": code})
        self.category_ids[code] = ident
        return ident

    def audience(self, audience_id: int) -> int:
        self._insert(
            audiences, {"id": audience_id, "name": f"a{audience_id}", "created_at": self.now, "updated_at": self.now}
        )
        self.audience_ids.add(audience_id)
        return audience_id

    def segment(self, segment_id: int) -> int:
        self._insert(
            segments,
            {
                "id": segment_id,
                "name": f"s{segment_id}",
                "condition": {"all": []},
                "created_at": self.now,
                "updated_at": self.now,
            },
        )
        self.segment_ids.add(segment_id)
        return segment_id

    def campaign(self, campaign_id: int) -> int:
        self._insert(
            campaigns,
            {
                "id": campaign_id,
                "name": f"c{campaign_id}",
                "status": "active",
                "current_version": 1,
                "created_at": self.now,
                "updated_at": self.now,
            },
        )
        self.campaign_ids.add(campaign_id)
        return campaign_id

    def catalog(self) -> Catalog:
        return Catalog(
            custom_fields=dict(self.fields),  # type: ignore[arg-type]
            segments=frozenset(self.segment_ids),
            audiences=frozenset(self.audience_ids),
        )

    # -- customers and their data ------------------------------------------------------------------------
    def customer(self, external_id: str, *, attributes: dict[str, Any] | None = None, **fields: Any) -> Customer:
        ident = self._next("customer")
        row = {"id": ident, "external_id": external_id, "created_at": self.now, "updated_at": self.now, **fields}
        row["attributes"] = attributes or {}
        self._insert(customers, row)
        profile = {"external_id": external_id, "points_balance": Decimal(0), **fields}
        if isinstance(profile["points_balance"], (int, float, str)):
            profile["points_balance"] = Decimal(str(profile["points_balance"]))
        record = Customer(id=ident, fields=profile, attributes=dict(attributes or {}))
        self.customers[external_id] = record
        return record

    def channel(self, who: Customer, channel: str, status: str) -> None:
        self._insert(
            channel_subscriptions,
            {"customer_id": who.id, "channel": channel, "status": status, "updated_at": self.now},
        )
        who.channels[channel] = status

    def subscribe(self, who: Customer, category: str, channel: str, status: str) -> None:
        self._insert(
            category_subscriptions,
            {
                "customer_id": who.id,
                "category_id": self.category_ids[category],
                "channel": channel,
                "status": status,
                "updated_at": self.now,
            },
        )
        who.categories[(category, channel)] = status

    def join_audience(self, who: Customer, audience_id: int) -> None:
        self._insert(audience_members, {"audience_id": audience_id, "customer_id": who.id, "added_at": self.now})
        who.audiences.add(audience_id)

    def join_segment(self, who: Customer, segment_id: int) -> None:
        self._insert(segment_members, {"segment_id": segment_id, "customer_id": who.id, "since": self.now})
        who.segments.add(segment_id)

    def order(
        self,
        who: Customer,
        total: Decimal | int | str,
        placed_at: datetime,
        *,
        kind: str = "order",
        status: str = "paid",
        store: str | None = None,
        lines: Sequence[tuple[str, str | None, Decimal | int | str]] = (),
    ) -> Order:
        ident = self._next("order")
        record = Order(
            kind=kind,
            status=status,
            store=store,
            total=Decimal(str(total)),
            placed_at=placed_at,
            lines=[Line(sku, category, Decimal(str(amount))) for sku, category, amount in lines],
        )
        self._insert(
            orders,
            {
                "id": ident,
                "external_id": f"o{ident}",
                "kind": kind,
                "customer_id": who.id,
                "status": status,
                "store_code": store,
                "total": record.total,
                "placed_at": placed_at,
                "paid_at": placed_at if status == "paid" else None,
            },
        )
        self._insert(
            order_lines,
            *(
                {
                    "order_id": ident,
                    "sku": line.sku,
                    "category_code": line.category,
                    "quantity": 1,
                    "price": line.amount,
                    "amount": line.amount,
                }
                for line in record.lines
            ),
        )
        who.orders.append(record)
        return record

    def event(self, who: Customer, name: str, occurred_at: datetime, **properties: Any) -> None:
        self._insert(
            events,
            {
                "customer_id": who.id,
                "name": name,
                "properties": properties,
                "occurred_at": occurred_at,
                "received_at": occurred_at,
                "ingest_batch": str(uuid.uuid4()),
            },
        )
        who.events.append(Event(name, properties, occurred_at))

    def message(self, who: Customer, campaign_id: int, node_id: str, channel: str = "email", **times: Any) -> None:
        record = Message(campaign_id, node_id, channel, **times)
        self._insert(
            messages,
            {
                "campaign_id": campaign_id,
                "version": 1,
                "entry_id": self._next("message"),
                "node_id": node_id,
                "customer_id": who.id,
                "channel": channel,
                "recipient": "x@example.com",
                "status": "sent" if record.sent_at else "queued",
                "send_after": self.now,
                "created_at": self.now,
                "sent_at": record.sent_at,
                "delivered_at": record.delivered_at,
                "opened_at": record.opened_at,
                "clicked_at": record.clicked_at,
            },
        )
        who.messages.append(record)

    def entry(self, who: Customer, campaign_id: int, entered_at: datetime) -> None:
        self._insert(
            entries,
            {
                "campaign_id": campaign_id,
                "version": 1,
                "customer_id": who.id,
                "status": "completed",
                "entered_at": entered_at,
                "trigger_batch": "t",
            },
        )
        who.entries.append((campaign_id, entered_at))

    # -- asking ----------------------------------------------------------------------------------------
    def parse(self, raw: Any, *, catalog: bool = True) -> Any:
        return CONDITION.validate_python(raw, context={"catalog": self.catalog() if catalog else None})

    def select(self, condition: Any) -> set[str]:
        """External ids of the customers the compiled SQL selects."""
        if isinstance(condition, dict):
            condition = self.parse(condition)
        where = ConditionCompiler(self.now, self.timezone).compile(condition)
        with self.engine.connect() as conn:
            return set(conn.execute(select(customers.c.external_id).where(where)).scalars())

    def expected(self, condition: Any) -> set[str]:
        """External ids of the customers the reference evaluator selects."""
        if isinstance(condition, dict):
            condition = self.parse(condition)
        reference = Reference(self.now, self.timezone, set(self.category_ids))
        return {key for key, record in self.customers.items() if reference.selects(condition, record)}


def at(day: str, clock: str = "12:00") -> datetime:
    """An instant in UTC: ``at("2026-01-03")`` is noon that day."""
    return datetime.fromisoformat(f"{day}T{clock}:00+00:00")


def day(text: str) -> date:
    return date.fromisoformat(text)
