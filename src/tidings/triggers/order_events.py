"""Order created, order paid, order cancelled, order status changed (to a status), receipt issued: the customer of
each such change enters (spec 4.2, transactional triggers), optionally only for orders whose fields, and customers
whose profile, meet conditions. The events are recorded when orders are stored (``tidings.model.domain_events``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict, Field
from sqlalchemy import ColumnElement, and_

from tidings.model.domain_events import ORDER_CANCELLED, ORDER_CREATED, ORDER_PAID, ORDER_STATUS_CHANGED, RECEIPT_ISSUED
from tidings.model.orders import OrderStatus
from tidings.store.tables import events
from tidings.triggers.domain_event import DomainEventTrigger, EventFieldsFilter


class OrderCreatedConfig(EventFieldsFilter):
    model_config = ConfigDict(extra="forbid", title="Order created")


class OrderPaidConfig(EventFieldsFilter):
    model_config = ConfigDict(extra="forbid", title="Order is paid")


class OrderCancelledConfig(EventFieldsFilter):
    model_config = ConfigDict(extra="forbid", title="Order is cancelled")


class OrderStatusChangedConfig(EventFieldsFilter):
    model_config = ConfigDict(extra="forbid", title="Order status changed")
    status: OrderStatus = Field(description="The status the order changed to.")


class ReceiptIssuedConfig(EventFieldsFilter):
    model_config = ConfigDict(extra="forbid", title="Receipt issued")


class OrderCreated(DomainEventTrigger):
    type: ClassVar[str] = "order_created"
    title: ClassVar[str] = "Order created"
    event: ClassVar[str] = ORDER_CREATED
    config_model = OrderCreatedConfig


class OrderPaid(DomainEventTrigger):
    type: ClassVar[str] = "order_paid"
    title: ClassVar[str] = "Order is paid"
    event: ClassVar[str] = ORDER_PAID
    config_model = OrderPaidConfig


class OrderCancelled(DomainEventTrigger):
    type: ClassVar[str] = "order_cancelled"
    title: ClassVar[str] = "Order is cancelled"
    event: ClassVar[str] = ORDER_CANCELLED
    config_model = OrderCancelledConfig


class OrderStatusChanged(DomainEventTrigger):
    type: ClassVar[str] = "order_status_changed"
    title: ClassVar[str] = "Order status changed"
    event: ClassVar[str] = ORDER_STATUS_CHANGED
    config_model = OrderStatusChangedConfig

    def event_matches(self, config: Any) -> ColumnElement[bool] | None:
        to_status = events.c.properties["status"].as_string() == config.status
        fields = super().event_matches(config)
        return to_status if fields is None else and_(to_status, fields)


class ReceiptIssued(DomainEventTrigger):
    type: ClassVar[str] = "receipt_issued"
    title: ClassVar[str] = "Receipt issued"
    event: ClassVar[str] = RECEIPT_ISSUED
    config_model = ReceiptIssuedConfig
