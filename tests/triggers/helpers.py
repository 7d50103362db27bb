"""Builders shared by the trigger tests: campaigns with a given trigger, orders, and who entered when."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from tests.engine.helpers import campaign, entry_rows, start
from tidings.model.custom_fields import CustomFieldIn
from tidings.model.orders import OrderIn
from tidings.services import Services
from tidings.store.custom_fields import insert_field
from tidings.store.orders import Resolved, resolve_orders, store_orders


def start_with(services: Services, trigger_type: str, **config: Any) -> int:
    """An active campaign with this trigger and no node."""
    return start(services, campaign(edges=[], trigger={"id": "trigger", "type": trigger_type, "config": config}))


def entered(services: Services, campaign_id: int) -> list[tuple[int, datetime]]:
    """(customer id, entered at) of every entry of the campaign, in entry order."""
    return [(row["customer_id"], row["entered_at"]) for row in entry_rows(services, campaign_id)]


def order(external_id: str, customer: str, placed_at: datetime, kind: str = "order", **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "kind": kind,
        "customer": customer,
        "placed_at": placed_at,
        "lines": [{"sku": "RUN-42", "quantity": 1, "price": Decimal("10")}],
        **fields,
    }


def store(services: Services, *rows: dict[str, Any], record_events: bool = True) -> None:
    """Store orders and receipts as the API does (with their events unless told not to)."""
    with services.db.engine.begin() as conn:
        resolved = resolve_orders(conn, [OrderIn(**row) for row in rows])
        good = [row for row in resolved if isinstance(row, Resolved)]
        assert len(good) == len(rows), resolved
        store_orders(conn, services.db.dialect, good, now=services.clock.now(), record_events=record_events)


def declare(services: Services, **fields: str) -> None:
    """Declare custom fields by code and type."""
    with services.db.engine.begin() as conn:
        for code, kind in fields.items():
            field = CustomFieldIn(code=code, name=code, type=kind)  # type: ignore[arg-type]
            conn.execute(insert_field(services.db.dialect, field, services.clock.now()))
