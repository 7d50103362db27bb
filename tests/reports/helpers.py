"""Builders for report tests: campaigns, messages in a given state (inserted directly, as test data), orders."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from tests.engine.helpers import campaign, email_node
from tidings.services import Services
from tidings.store.tables import attributions, messages, orders

_entries = itertools.count(1_000_000)


def make_campaign(services: Services, attribution_days: int | None = None) -> int:
    settings: dict[str, Any] = {} if attribution_days is None else {"attribution_days": attribution_days}
    document = campaign(email_node("e1"), edges=[("trigger", "e1")], **settings)
    return int(services.campaigns.create(document)["id"])


def message(
    services: Services,
    campaign_id: int,
    customer_id: int,
    channel: str = "email",
    *,
    sent: datetime,
    delivered: datetime | None = None,
    opened: datetime | None = None,
    node_id: str = "e1",
    entry_id: int | None = None,
) -> int:
    """A message as the delivery pipeline and tracking would have left it."""
    row = {
        "campaign_id": campaign_id,
        "version": 1,
        "entry_id": next(_entries) if entry_id is None else entry_id,
        "node_id": node_id,
        "customer_id": customer_id,
        "channel": channel,
        "recipient": f"{customer_id}@example.com",
        "status": "opened" if opened else "delivered" if delivered else "sent",
        "send_after": sent,
        "created_at": sent,
        "sent_at": sent,
        "delivered_at": delivered or opened,
        "opened_at": opened,
    }
    with services.db.engine.begin() as conn:
        inserted = conn.execute(messages.insert().values(**row)).inserted_primary_key
    assert inserted is not None
    return int(inserted[0])


def order(external_id: str, customer: str, placed_at: datetime, total: float = 10, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "kind": "receipt",
        "customer": customer,
        "placed_at": placed_at.isoformat(),
        "lines": [{"sku": "SKU-1", "quantity": 1, "price": total}],
        **fields,
    }


def post_orders(client: httpx.Client, *rows: dict[str, Any]) -> None:
    response = client.post("/orders", json={"orders": list(rows)})
    assert response.status_code == 200, response.text
    assert response.json()["errors"] == []


def credited(services: Services) -> dict[str, int]:
    """external id of each credited order → the id of the message it is credited to."""
    query = select(orders.c.external_id, attributions.c.message_id).join(
        attributions, attributions.c.order_id == orders.c.id
    )
    with services.db.engine.connect() as conn:
        return {external_id: int(message_id) for external_id, message_id in conn.execute(query)}
