"""Orders and receipts: batch upsert by (kind, external_id) with per-row errors, and a customer's purchases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from tidings.api.catalog import apply_verdicts
from tidings.api.customers import find_customer
from tidings.api.deps import PageDep, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.api.rows import check_rows
from tidings.model.orders import OrderIn, OrderKind
from tidings.store import orders as order_sql
from tidings.store.attribution import attribute_stored
from tidings.store.orders import Resolved

router = APIRouter(tags=["orders"], route_class=StrictJsonRoute)

MAX_BATCH = 10_000


class OrderBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Rows are validated one by one in the route (bad rows are reported, good ones kept).
    orders: list[SkipValidation[OrderIn]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="Upserted by (kind, external_id): posting an order again replaces it, lines included. "
        "Rows naming the same order apply in order: the last one wins.",
    )


class OrderRowError(BaseModel):
    index: int = Field(description="Position of the order in the batch, from 0.")
    external_id: str | None
    field: str | None = Field(description="Path of the offending field, e.g. `customer` or `lines[1].price`.")
    message: str


class OrdersUpserted(BaseModel):
    upserted: int = Field(description="Orders applied (an order named twice counts twice).")
    errors: list[OrderRowError]


class LineOut(BaseModel):
    sku: str
    category: str | None
    quantity: float
    price: float
    amount: float = Field(description="quantity × price, rounded to the cent.")


class OrderOut(BaseModel):
    external_id: str
    kind: str = Field(description="order | receipt")
    status: str = Field(description="created | paid | cancelled | returned")
    store: str | None
    total: float
    placed_at: datetime
    paid_at: datetime | None
    cancelled_at: datetime | None
    attributes: dict[str, Any] = Field(description="Further fields of the order by code.")
    lines: list[LineOut]


class CustomerOrders(BaseModel):
    customer: str
    items: list[OrderOut]
    total: int = Field(description="How many orders (of the kind asked for) the customer has.")
    limit: int
    offset: int


@router.post("/orders", summary="Upsert orders and receipts in a batch")
def upsert(batch: OrderBatch, services: ServicesDep) -> OrdersUpserted:
    """Each order is checked on its own: its fields, its total (if given, within 0.01 of the sum of the lines)
    and its references (the customer, the store and any line category must exist; an unknown SKU is accepted).
    Good orders are stored in one transaction, bad ones reported. All bad: 422 with the same errors."""
    checked = check_rows(OrderIn, batch.orders, "external_id")
    with services.db.engine.begin() as conn:
        verdicts = order_sql.resolve_orders(conn, [row for _, row in checked.good])
        resolved = {id(outcome.order): outcome for outcome in verdicts if isinstance(outcome, Resolved)}
        apply_verdicts(
            checked,
            [None if isinstance(outcome, Resolved) else outcome for outcome in verdicts],
            lambda row: row.external_id,
        )
        checked.refuse_if_nothing_good("order")
        stored = [resolved[id(row)] for _, row in checked.good]
        order_sql.store_orders(conn, services.db.dialect, stored, now=services.clock.now())
        attribute_stored(conn, stored)  # last touch (spec 5.8), in the same transaction
    return OrdersUpserted(upserted=len(checked.good), errors=[OrderRowError(**e) for e in checked.report()])


@router.get("/customers/{external_id}/orders", summary="A customer's orders and receipts, newest first")
def customer_orders(
    external_id: str,
    services: ServicesDep,
    page: PageDep,
    kind: Annotated[OrderKind | None, Query(description="Only orders, or only receipts.")] = None,
) -> CustomerOrders:
    with services.db.engine.connect() as conn:
        customer_id = find_customer(conn, external_id)["id"]
        rows = (
            conn.execute(order_sql.orders_of_customer(customer_id, kind, limit=page.limit, offset=page.offset))
            .mappings()
            .all()
        )
        total = conn.execute(order_sql.count_orders_of_customer(customer_id, kind)).scalar_one()
        lines: dict[int, list[LineOut]] = {}
        if rows:
            for line in conn.execute(order_sql.lines_of([row["id"] for row in rows])).mappings():
                lines.setdefault(line["order_id"], []).append(
                    LineOut(
                        sku=line["sku"],
                        category=line["category_code"],
                        quantity=line["quantity"],
                        price=line["price"],
                        amount=line["amount"],
                    )
                )
    return CustomerOrders(
        customer=external_id,
        items=[
            OrderOut(
                external_id=row["external_id"],
                kind=row["kind"],
                status=row["status"],
                store=row["store_code"],
                total=row["total"],
                placed_at=row["placed_at"],
                paid_at=row["paid_at"],
                cancelled_at=row["cancelled_at"],
                attributes=row["attributes"],
                lines=lines.get(row["id"], []),
            )
            for row in rows
        ],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
