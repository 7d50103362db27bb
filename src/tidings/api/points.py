"""Points and the loyalty program, read side.

- ``GET /customers/{external_id}/points`` — the balance (also the ``points_balance`` condition field) and the
  ledger, newest first: award_points rows and, with the built-in loyalty adapter, bonus accruals.
- ``GET /loyalty/requests`` — the requests sent to the loyalty program (bonuses, audience and subscription
  sync): status, attempts, the program's answer or error, by customer, campaign, kind and status.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tidings.api.deps import MAX_ID, PageDep, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.core.errors import NotFound
from tidings.model.statuses import LoyaltyRequestStatus
from tidings.store import loyalty as loyalty_sql
from tidings.store import points as points_sql
from tidings.store.customers import get_by_external

router = APIRouter(tags=["points"], route_class=StrictJsonRoute)


class LedgerRow(BaseModel):
    amount: float = Field(description="Points added; negative for a deduction.")
    reason: str | None
    campaign_id: int | None
    node_id: str | None
    created_at: datetime
    expires_at: datetime | None


class Points(BaseModel):
    customer: str
    balance: float
    items: list[LedgerRow]
    total: int = Field(description="Ledger rows in all.")


class LoyaltyRequestOut(BaseModel):
    id: int
    kind: str = Field(description="bonus | audience | subscription")
    customer: str
    campaign_id: int = Field(description="0 for a request made outside any campaign (subscription sync).")
    node_id: str | None
    payload: dict[str, Any]
    status: LoyaltyRequestStatus
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None
    response: dict[str, Any] | None = Field(description="The program's answer; on failure it holds `reason`.")
    error: str | None


class LoyaltyRequests(BaseModel):
    items: list[LoyaltyRequestOut]


@router.get("/customers/{external_id}/points", summary="A customer's points balance and ledger")
def points(external_id: str, services: ServicesDep, page: PageDep) -> Points:
    with services.db.engine.connect() as conn:
        customer = conn.execute(get_by_external(external_id)).mappings().first()
        if customer is None:
            raise NotFound(f"customer {external_id!r} does not exist", details={"external_id": external_id})
        rows = conn.execute(points_sql.ledger_of(customer["id"], limit=page.limit, offset=page.offset)).mappings()
        items = [LedgerRow.model_validate(dict(row)) for row in rows]
        total = int(conn.execute(points_sql.count_ledger_of(customer["id"])).scalar_one())
    return Points(customer=external_id, balance=float(customer["points_balance"]), items=items, total=total)


@router.get("/loyalty/requests", summary="Requests to the loyalty program and their outcome")
def loyalty_requests(
    services: ServicesDep,
    page: PageDep,
    customer: Annotated[str | None, Query(min_length=1, max_length=128, description="External id.")] = None,
    campaign_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    kind: Literal["bonus", "audience", "subscription"] | None = None,
    status: LoyaltyRequestStatus | None = None,
) -> LoyaltyRequests:
    with services.db.engine.connect() as conn:
        customer_id = None
        if customer is not None:
            found = conn.execute(get_by_external(customer)).mappings().first()
            if found is None:
                raise NotFound(f"customer {customer!r} does not exist", details={"external_id": customer})
            customer_id = int(found["id"])
        rows = conn.execute(
            loyalty_sql.list_requests(
                customer_id=customer_id,
                campaign_id=campaign_id,
                kind=kind,
                status=status,
                limit=page.limit,
                offset=page.offset,
            )
        ).mappings()
        items = [LoyaltyRequestOut.model_validate({**row, "customer": row["external_id"]}) for row in rows]
    return LoyaltyRequests(items=items)
