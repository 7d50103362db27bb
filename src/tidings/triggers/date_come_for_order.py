"""Date come for order / for receipt: every day, the customers with an order (a receipt) whose date field is
today — or N days ahead ("N days before"), or N days past ("N days after") — enter, once however many of their
orders match; at 00:00 in the account time zone unless a launch hour is given (spec 4.2, S11).

The field is ``placed_at``, ``paid_at``, ``cancelled_at`` or an attribute of the order, ``attributes.<code>``,
holding a date (``YYYY-MM-DD``) or a date-time (ISO-8601 with an offset). Optionally only orders in some
statuses count. Example (S11): an order kept at a pick-up point until 20 May (``attributes.storage_until``) with
"3 days before" enters its customer on 17 May at 00:00 in the account time zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, Select, select

from tidings.core.account import AccountSettings
from tidings.model.orders import OrderKind, OrderStatus
from tidings.segments.conditions_fields import attribute_value
from tidings.store.tables import orders
from tidings.triggers.daily import DateOf, either, next_daily_fire
from tidings.triggers.date_come_for_client import DateOffset

ORDER_DATES = ("placed_at", "paid_at", "cancelled_at")
_ATTRIBUTE = re.compile(r"^attributes\.[A-Za-z][A-Za-z0-9_]{0,63}$")


class _OrderDateConfig(DateOffset):
    field: str = Field(
        default="placed_at",
        min_length=1,
        max_length=80,
        description="Which date of the order counts: when it was placed, paid or cancelled, or a date the orders "
        "carry as one of their own fields (such as a storage-until date).",
    )
    statuses: list[OrderStatus] = Field(
        default_factory=list, description="Only orders in these statuses count; none: every status."
    )

    @field_validator("field")
    @classmethod
    def _a_date_field(cls, value: str) -> str:
        if value in ORDER_DATES or _ATTRIBUTE.match(value):
            return value
        raise ValueError(
            f"{value!r} is not a date of an order; use {', '.join(ORDER_DATES)} or attributes.<code> "
            "(letters, digits and _)"
        )


class DateComeForOrderConfig(_OrderDateConfig):
    model_config = ConfigDict(extra="forbid", title="Date come for order")


class DateComeForReceiptConfig(_OrderDateConfig):
    model_config = ConfigDict(extra="forbid", title="Date come for receipt")


def order_date_is(field: str, day: date, account: AccountSettings) -> ColumnElement[bool]:
    """The order's ``field`` is ``day`` (in the account time zone)."""
    if field in ORDER_DATES:
        return DateOf.of_instant(orders.c[field], account).on(day, account)
    code = field.split(".", 1)[1]
    as_date = DateOf(attribute_value(code, "date", orders.c.attributes))
    instant = attribute_value(code, "datetime", orders.c.attributes)
    return either(as_date.on(day, account), DateOf(instant, instant).on(day, account))


def customers_with_orders_on(
    kind: OrderKind, config: _OrderDateConfig, fire_at: datetime, account: AccountSettings
) -> Select[Any]:
    """Each customer (once) with an order of ``kind`` whose date is the day a fire at ``fire_at`` looks for."""
    day = config.target(fire_at, account)
    query = select(orders.c.customer_id.label("customer_id")).where(
        orders.c.kind == kind, order_date_is(config.field, day, account)
    )
    if config.statuses:
        query = query.where(orders.c.status.in_(config.statuses))
    return query.group_by(orders.c.customer_id)


class _DateComeForOrders:
    kind: ClassVar[Literal["schedule"]] = "schedule"
    order_kind: ClassVar[OrderKind]

    def event_name(self, config: _OrderDateConfig) -> str | None:
        return None

    def event_matches(self, config: _OrderDateConfig) -> ColumnElement[bool] | None:
        return None

    def next_fire_at(self, config: _OrderDateConfig, after: datetime, account: AccountSettings) -> datetime:
        return next_daily_fire(after, config.hour, account)

    def audience(self, config: _OrderDateConfig, fire_at: datetime, account: AccountSettings) -> Select[Any]:
        return customers_with_orders_on(self.order_kind, config, fire_at, account)


class DateComeForOrder(_DateComeForOrders):
    type: ClassVar[str] = "date_come_for_order"
    title: ClassVar[str] = "Date come for order"
    order_kind: ClassVar[OrderKind] = "order"
    config_model = DateComeForOrderConfig


class DateComeForReceipt(_DateComeForOrders):
    type: ClassVar[str] = "date_come_for_receipt"
    title: ClassVar[str] = "Date come for receipt"
    order_kind: ClassVar[OrderKind] = "receipt"
    config_model = DateComeForReceiptConfig
