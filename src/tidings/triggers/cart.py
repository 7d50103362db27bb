"""Cart triggers (spec 4.2, web): "Added a product to the cart" and "Lost cart on the site" (abandoned cart).

They read the cart events a shop (or the web tracker) records: ``cart_add`` when a product is put in the cart and
``cart_remove`` when one is taken out, each with the properties ``sku`` and, optionally, ``category``.

* **Added to cart** (``added_to_cart``) — each ``cart_add`` enters its customer, optionally only for some SKUs
  or categories.
* **Abandoned cart** (``abandoned_cart``) — a customer whose last cart change is ``hours`` old and who has placed
  no order or receipt since enters. It fires every hour on the hour; each fire takes the customers whose last cart
  change falls in the hour that just became ``hours`` old, so the hours tile time and a cart is abandoned once.
  A cart changed again later starts over; a customer whose last change was taking the last product out is not
  left with a cart, but the trigger does not count the cart's content — a cart emptied item by item still counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, and_, exists, or_, select

from tidings.core.account import AccountSettings
from tidings.model.catalog_data import Code
from tidings.store.events import last_of_any
from tidings.store.tables import events, orders
from tidings.triggers.domain_event import CustomerFilter, DomainEventTrigger

CART_ADD = "cart_add"
CART_REMOVE = "cart_remove"
_HOUR = timedelta(hours=1)


class AddedToCartConfig(CustomerFilter):
    model_config = ConfigDict(extra="forbid", title="Added a product to the cart")
    skus: list[Code] = Field(default_factory=list, description="Only these products (SKUs); empty: any product.")
    categories: list[Code] = Field(
        default_factory=list, description="Only products of these categories; empty: any category."
    )


class AddedToCart(DomainEventTrigger):
    type: ClassVar[str] = "added_to_cart"
    title: ClassVar[str] = "Added a product to the cart"
    event: ClassVar[str] = CART_ADD
    config_model = AddedToCartConfig

    def event_matches(self, config: Any) -> ColumnElement[bool] | None:
        chosen = []
        if config.skus:
            chosen.append(events.c.properties["sku"].as_string().in_(config.skus))
        if config.categories:
            chosen.append(events.c.properties["category"].as_string().in_(config.categories))
        return or_(*chosen) if chosen else None


class AbandonedCartConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Abandoned cart")
    hours: int = Field(
        default=24, ge=1, le=24 * 90, description="How long after the last cart change without an order it counts."
    )


class AbandonedCart:
    type: ClassVar[str] = "abandoned_cart"
    title: ClassVar[str] = "Abandoned cart"
    kind: ClassVar[Literal["schedule"]] = "schedule"
    config_model = AbandonedCartConfig

    def event_name(self, config: AbandonedCartConfig) -> str | None:
        return None

    def event_matches(self, config: AbandonedCartConfig) -> ColumnElement[bool] | None:
        return None

    def next_fire_at(self, config: AbandonedCartConfig, after: datetime, account: AccountSettings) -> datetime:
        return after.replace(minute=0, second=0, microsecond=0) + _HOUR

    def audience(self, config: AbandonedCartConfig, fire_at: datetime, account: AccountSettings) -> Select[Any]:
        high = fire_at - timedelta(hours=config.hours)
        last = last_of_any((CART_ADD, CART_REMOVE)).subquery("last_cart_change")
        ordered_since = exists().where(orders.c.customer_id == last.c.customer_id, orders.c.placed_at >= last.c.at)
        return select(last.c.customer_id).where(and_(last.c.at >= high - _HOUR, last.c.at < high), ~ordered_since)
