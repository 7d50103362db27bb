"""Item purchased / Item ordered: a receipt issued (an order created) with at least one line of the chosen
products or categories enters its customer (spec 4.2, "Item purchased / ordered", "Item from specific category").

The trigger listens to ``receipt_issued`` (``order_created``) and looks at the stored lines of that receipt
(order) when the event is taken from the inbox: a line matches when its SKU is one of ``skus`` or its category
(the line's, else the catalogue product's) one of ``categories``. Categories match exactly (a parent category does
not include its children).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict, Field, model_validator
from sqlalchemy import ColumnElement, and_, exists, or_

from tidings.model.catalog_data import Code
from tidings.model.domain_events import ORDER_CREATED, RECEIPT_ISSUED
from tidings.model.orders import OrderKind
from tidings.store.tables import events, order_lines, orders
from tidings.triggers.domain_event import DomainEventTrigger, EventFieldsFilter


class _ItemsConfig(EventFieldsFilter):
    skus: list[Code] = Field(default_factory=list, description="Products by SKU; a line of any of them matches.")
    categories: list[Code] = Field(
        default_factory=list, description="Product categories by code; a line in any of them matches."
    )

    @model_validator(mode="after")
    def _something_chosen(self) -> _ItemsConfig:
        if not self.skus and not self.categories:
            raise ValueError("skus: choose at least one product (skus) or one category (categories)")
        return self


class ItemPurchasedConfig(_ItemsConfig):
    model_config = ConfigDict(extra="forbid", title="Item purchased")


class ItemOrderedConfig(_ItemsConfig):
    model_config = ConfigDict(extra="forbid", title="Item ordered")


def has_items(kind: OrderKind, config: _ItemsConfig) -> ColumnElement[bool]:
    """The order (of ``kind``) the ``events`` row names has a line of the chosen products or categories."""
    chosen = []
    if config.skus:
        chosen.append(order_lines.c.sku.in_(config.skus))
    if config.categories:
        chosen.append(order_lines.c.category_code.in_(config.categories))
    return exists().where(
        orders.c.kind == kind,
        orders.c.external_id == events.c.properties["order"].as_string(),
        order_lines.c.order_id == orders.c.id,
        or_(*chosen),
    )


class _ItemsTrigger(DomainEventTrigger):
    order_kind: ClassVar[OrderKind]

    def event_matches(self, config: Any) -> ColumnElement[bool] | None:
        items = has_items(self.order_kind, config)
        fields = super().event_matches(config)
        return items if fields is None else and_(items, fields)


class ItemPurchased(_ItemsTrigger):
    type: ClassVar[str] = "item_purchased"
    title: ClassVar[str] = "Item purchased"
    event: ClassVar[str] = RECEIPT_ISSUED
    order_kind: ClassVar[OrderKind] = "receipt"
    config_model = ItemPurchasedConfig


class ItemOrdered(_ItemsTrigger):
    type: ClassVar[str] = "item_ordered"
    title: ClassVar[str] = "Item ordered"
    event: ClassVar[str] = ORDER_CREATED
    order_kind: ClassVar[OrderKind] = "order"
    config_model = ItemOrderedConfig
