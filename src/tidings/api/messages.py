"""Messages produced by campaigns, and the sandbox mailbox that the built-in provider delivers to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tidings.api.customers import find_customer
from tidings.api.deps import MAX_ID, PageDep, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.model.statuses import MessageStatus
from tidings.store import messages as message_sql

router = APIRouter(tags=["messages"], route_class=StrictJsonRoute)


class MessageOut(BaseModel):
    id: int
    campaign_id: int
    version: int
    node_id: str
    entry_id: int
    customer: str
    channel: str
    recipient: str
    status: MessageStatus
    subject: str | None
    body: str | None
    send_after: datetime
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    provider: str | None
    provider_message_id: str | None
    error: str | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    limit: int
    offset: int


class MailboxItem(BaseModel):
    id: int
    message_id: int
    recipient: str
    sender: str
    subject: str
    body_html: str = Field(description="The body as the provider delivered it, with its tracking.")
    body_view: str = Field(
        description="The body to look at: without the open pixel, links straight to their destinations (looking at "
        "it in the workspace counts no open and no click)."
    )
    received_at: datetime


class MailboxPage(BaseModel):
    items: list[MailboxItem]
    limit: int
    offset: int


@router.get("/messages", summary="Messages, oldest first")
def list_messages(
    services: ServicesDep,
    page: PageDep,
    campaign_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    node_id: Annotated[str | None, Query(max_length=64)] = None,
    customer: Annotated[str | None, Query(max_length=128, description="External id.")] = None,
) -> MessagePage:
    with services.db.engine.connect() as conn:
        customer_id = None if customer is None else find_customer(conn, customer)["id"]
        rows = (
            conn.execute(
                message_sql.list_messages(
                    campaign_id=campaign_id,
                    node_id=node_id,
                    customer_id=customer_id,
                    limit=page.limit,
                    offset=page.offset,
                )
            )
            .mappings()
            .all()
        )
    items = [
        MessageOut(
            **{name: row[name] for name in MessageOut.model_fields if name != "customer"}, customer=row["external_id"]
        )
        for row in rows
    ]
    return MessagePage(items=items, limit=page.limit, offset=page.offset)


@router.get("/mailbox", summary="The sandbox mailbox, oldest first")
def list_mailbox(
    services: ServicesDep,
    page: PageDep,
    recipient: Annotated[str | None, Query(max_length=320, description="Only mail to this address.")] = None,
) -> MailboxPage:
    with services.db.engine.connect() as conn:
        rows = (
            conn.execute(message_sql.list_mailbox(recipient=recipient, limit=page.limit, offset=page.offset))
            .mappings()
            .all()
        )
    untracked = services.delivery.tracker.untracked
    items = [MailboxItem(**row, body_view=untracked(row["body_html"])) for row in rows]
    return MailboxPage(items=items, limit=page.limit, offset=page.offset)
