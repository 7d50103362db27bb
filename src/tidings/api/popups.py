"""Popups (D7): the app asks which popup to show at an app action and confirms the one it showed.

``query`` answers at most one popup: pending (never confirmed), active (created and not expired), made for that
action or for any action; the highest priority, then the newest. ``confirm`` marks it shown, and it is never
answered again; confirming twice is harmless.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import RowMapping

from tidings.api.customers import find_customer
from tidings.api.deps import MAX_ID, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.core.errors import NotFound
from tidings.store import popups as popup_sql

router = APIRouter(prefix="/popups", tags=["popups"], route_class=StrictJsonRoute)

_CUSTOMER = Field(min_length=1, max_length=128, description="The customer's external id.")


class PopupQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer: str = _CUSTOMER
    action: str = Field(
        min_length=1, max_length=64, description="The app action about to happen, e.g. `open_app` or `view_cart`."
    )


class PopupConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    popup_id: int = Field(ge=1, le=MAX_ID)
    customer: str = _CUSTOMER


class PopupButtonOut(BaseModel):
    label: str
    link: str


class PopupStyleOut(BaseModel):
    main_color: str | None = None
    second_color: str | None = None


class PopupOut(BaseModel):
    id: int
    action: str = Field(description="The app action it was made for; `any` = whichever comes first.")
    priority: int
    created_at: datetime
    expires_at: datetime
    title: str
    subtitle: str | None = None
    text: str | None = None
    image_url: str | None = None
    button: PopupButtonOut | None = None
    promo_code: str | None = None
    style: PopupStyleOut | None = Field(default=None, description="Colours; null = the app's own.")


class PopupAnswer(BaseModel):
    popup: PopupOut | None = Field(description="The popup to show now; null = none.")


class Confirmed(BaseModel):
    popup_id: int
    shown_at: datetime = Field(description="When it was first confirmed.")


def _out(row: RowMapping) -> PopupOut:
    return PopupOut(
        id=row["id"],
        action=row["app_action"],
        priority=row["priority"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        **row["content"],
    )


@router.post("/query", summary="The popup to show a customer at an app action")
def query_popup(body: PopupQuery, services: ServicesDep) -> PopupAnswer:
    with services.db.engine.connect() as conn:
        customer_id = find_customer(conn, body.customer)["id"]
        row = (
            conn.execute(popup_sql.next_popup(customer_id=customer_id, action=body.action, now=services.clock.now()))
            .mappings()
            .first()
        )
    return PopupAnswer(popup=None if row is None else _out(row))


@router.post("/confirm", summary="Confirm that a popup was shown")
def confirm_popup(body: PopupConfirm, services: ServicesDep) -> Confirmed:
    """404 unless the popup is the customer's."""
    with services.db.engine.begin() as conn:
        customer_id = find_customer(conn, body.customer)["id"]
        conn.execute(popup_sql.confirm_shown(popup_id=body.popup_id, customer_id=customer_id, now=services.clock.now()))
        row = conn.execute(popup_sql.get_popup(popup_id=body.popup_id, customer_id=customer_id)).mappings().first()
    if row is None:
        raise NotFound(
            f"customer {body.customer!r} has no popup {body.popup_id}",
            details={"customer": body.customer, "popup_id": body.popup_id},
        )
    return Confirmed(popup_id=row["id"], shown_at=row["shown_at"])
