"""In-app notifications (D6): the inbox Send notification fills, as the mobile app or the personal account reads
it. Expired items are not served; reading one records when (the first time)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import RowMapping

from tidings.api.customers import find_customer
from tidings.api.deps import MAX_ID, PageDep, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.core.errors import NotFound
from tidings.store import notifications as notification_sql

router = APIRouter(tags=["notifications"], route_class=StrictJsonRoute)

ExternalIdPath = Annotated[str, Path(min_length=1, max_length=128, description="The customer's external id.")]
NotificationIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Notification id.")]


class NotificationOut(BaseModel):
    id: int
    title: str
    text: str
    image_url: str | None
    link: str | None = Field(description="Web link or deep link to open on a tap.")
    category: str | None = Field(description="The mailing category it was sent in, if any.")
    created_at: datetime
    expires_at: datetime | None = Field(description="After this it is no longer served; null = never.")
    read_at: datetime | None = Field(description="When the customer first read it; null = unread.")


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    total: int = Field(description="Items served (unread ones only when asked).")
    unread: int = Field(description="Unread items, whatever was asked.")
    limit: int
    offset: int


def _out(row: RowMapping) -> NotificationOut:
    return NotificationOut(**{name: row[name] for name in NotificationOut.model_fields})


@router.get("/customers/{external_id}/notifications", summary="A customer's in-app notifications, newest first")
def inbox(
    external_id: ExternalIdPath,
    services: ServicesDep,
    page: PageDep,
    unread: Annotated[bool, Query(description="Only those not read yet.")] = False,
) -> NotificationPage:
    """Items that have not expired; read ones too unless ``unread=true``."""
    now = services.clock.now()
    with services.db.engine.connect() as conn:
        customer_id = find_customer(conn, external_id)["id"]
        rows = conn.execute(
            notification_sql.inbox(
                customer_id=customer_id, now=now, unread_only=unread, limit=page.limit, offset=page.offset
            )
        ).mappings()
        items = [_out(row) for row in rows]
        total = conn.execute(notification_sql.count_inbox(customer_id=customer_id, now=now, unread_only=unread))
        unread_count = conn.execute(notification_sql.count_unread(customer_id=customer_id, now=now))
        return NotificationPage(
            items=items,
            total=total.scalar_one(),
            unread=unread_count.scalar_one(),
            limit=page.limit,
            offset=page.offset,
        )


@router.post(
    "/customers/{external_id}/notifications/{notification_id}/read", summary="Mark a customer's notification read"
)
def mark_read(
    external_id: ExternalIdPath, notification_id: NotificationIdPath, services: ServicesDep
) -> NotificationOut:
    """Records the first read; marking it again changes nothing. 404 unless the notification is the customer's."""
    with services.db.engine.begin() as conn:
        customer_id = find_customer(conn, external_id)["id"]
        conn.execute(
            notification_sql.mark_read(
                notification_id=notification_id, customer_id=customer_id, now=services.clock.now()
            )
        )
        row = (
            conn.execute(notification_sql.get_notification(notification_id=notification_id, customer_id=customer_id))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(
            f"customer {external_id!r} has no notification {notification_id}",
            details={"customer": external_id, "id": notification_id},
        )
    return _out(row)
