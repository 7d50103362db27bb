"""What the triggers on Tidings' own events share (customer registered, order created / paid / cancelled / status
changed, receipt issued; ``tidings.model.domain_events``): each listens to one event name, may test the event's
fields (the order's ``total``, ``store``, ``status``, …) and the customer's profile.

The events are recorded by the data itself — a plain ``POST /orders`` or ``POST /customers``, or a bulk import not
told it is a backfill — so no hand-made event is needed, and an order upserted again with the same status records
nothing: an order-paid campaign enters its customer once per order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, true

from tidings.core.account import AccountSettings
from tidings.model.conditions import AllOf, Condition, PropertyCondition
from tidings.segments.event_properties import property_holds


class CustomerFilter(BaseModel):
    customer: Condition = Field(
        default_factory=lambda: AllOf(all=[]),
        description="Only customers for whom this holds when the event arrives enter; empty: everyone.",
    )


class EventFieldsFilter(CustomerFilter):
    properties: list[PropertyCondition] = Field(
        default_factory=list,
        description="Conditions on the order — its total, store, status, previous status or number — that must all "
        "hold; with none, every order counts.",
    )


class DomainEventTrigger:
    """Base of the triggers on one domain event; subclasses name the event."""

    kind: ClassVar[Literal["event"]] = "event"
    event: ClassVar[str]

    def event_name(self, config: Any) -> str | None:
        return self.event

    def event_matches(self, config: Any) -> ColumnElement[bool] | None:
        conditions = getattr(config, "properties", [])
        return and_(true(), *(property_holds(condition) for condition in conditions)) if conditions else None

    def next_fire_at(self, config: Any, after: datetime, account: AccountSettings) -> datetime | None:
        return None

    def customer_condition(self, config: CustomerFilter) -> Condition | None:
        condition = config.customer
        return None if isinstance(condition, AllOf) and not condition.all else condition
