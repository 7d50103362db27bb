"""A customer's device contacts: push tokens (spec 7, ``POST /customer/{external_id}/contact``).

E-mail and phone are profile fields (``POST /api/v1/customers``); push tokens are many per customer, one per
device. Registering is idempotent by token, and a token registered for another customer moves to that customer.
Deleting deactivates: the row stays (a push provider may still report on it), and registering it again
reactivates it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field
from sqlalchemy import RowMapping

from tidings.api.customers import find_customer
from tidings.api.deps import ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.core.errors import NotFound
from tidings.model.subscriptions import Platform, PushContactIn
from tidings.store import push_tokens as token_sql

router = APIRouter(prefix="/customers", tags=["contacts"], route_class=StrictJsonRoute)

ExternalIdPath = Annotated[str, Path(min_length=1, max_length=128, description="The customer's external id.")]
TokenPath = Annotated[str, Path(min_length=1, max_length=512, description="The push token.")]


class ContactOut(BaseModel):
    type: Literal["push"]
    platform: Platform
    token: str
    device: str | None
    active: bool = Field(description="Pushes go to active tokens only.")
    created_at: datetime = Field(description="When the token was first registered.")


class Contacts(BaseModel):
    customer: str
    items: list[ContactOut]


def _out(row: RowMapping) -> ContactOut:
    return ContactOut(
        type="push",
        platform=row["platform"],
        token=row["token"],
        device=row["device"],
        active=row["active"],
        created_at=row["created_at"],
    )


@router.post(
    "/{external_id}/contacts",
    status_code=201,
    summary="Register a push token",
    responses={200: {"description": "The token was known (perhaps as another customer's); it is this one's now."}},
)
def register(
    external_id: ExternalIdPath, contact: PushContactIn, services: ServicesDep, response: Response
) -> ContactOut:
    """Idempotent by token: the same token again updates its platform and device and reactivates it (200); a
    token another customer registered moves to this customer."""
    with services.db.engine.begin() as conn:
        customer_id = find_customer(conn, external_id)["id"]
        known = conn.execute(token_sql.lock_token(contact.token)).first() is not None
        conn.execute(token_sql.register_token(services.db.dialect, customer_id, contact, services.clock.now()))
        if known:
            response.status_code = 200
        return _out(conn.execute(token_sql.get_token(contact.token)).mappings().one())


@router.get("/{external_id}/contacts", summary="A customer's push tokens, active or not")
def list_contacts(external_id: ExternalIdPath, services: ServicesDep) -> Contacts:
    with services.db.engine.connect() as conn:
        customer_id = find_customer(conn, external_id)["id"]
        rows = conn.execute(token_sql.tokens_of(customer_id)).mappings().all()
    return Contacts(customer=external_id, items=[_out(row) for row in rows])


@router.delete("/{external_id}/contacts/{token:path}", status_code=204, summary="Deactivate a push token")
def deactivate(external_id: ExternalIdPath, token: TokenPath, services: ServicesDep) -> Response:
    """The token stops receiving pushes; deleting it again is harmless. A token this customer does not hold is
    404."""
    with services.db.engine.begin() as conn:
        customer_id = find_customer(conn, external_id)["id"]
        if not token_sql.deactivate_tokens(conn, services.db.dialect, [(customer_id, token)]):
            raise NotFound(
                f"customer {external_id!r} holds no push token {token[:40]!r}",
                details={"external_id": external_id},
            )
    return Response(status_code=204)
