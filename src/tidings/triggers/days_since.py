"""Days since: every day, the customers whose registration, last order, last receipt or last visit to the site was
exactly N days ago (on that calendar day in the account time zone) enter; at 00:00 unless a launch hour is given
(spec 4.1: the audience is refreshed at each daily fire).

The last order (receipt) is the latest that stands — not cancelled, not returned. A visit is an event named
``visit_event`` (``page_view`` unless set: what the web tracker records); a customer who visited again since is
not "N days since the last visit".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, and_, select

from tidings.core.account import AccountSettings
from tidings.model.orders import OrderKind
from tidings.store.events import last_occurrences
from tidings.store.orders import purchase_dates
from tidings.store.tables import customers
from tidings.triggers.daily import day_window, fire_day, next_daily_fire

Since = Literal["registration", "last_order", "last_receipt", "last_visit"]


class DaysSinceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Days since")
    since: Since = Field(
        default="registration", description="Since what: the registration, the last order, receipt or site visit."
    )
    days: int = Field(ge=1, le=36500, description="N: the customer enters when it was exactly N days ago.")
    visit_event: str = Field(
        default="page_view",
        min_length=1,
        max_length=128,
        description="For days since the last visit: the event that records a visit to the site.",
    )
    hour: int = Field(default=0, ge=0, le=23, description="Launch hour in the account time zone; 0 = midnight.")


class DaysSince:
    type: ClassVar[str] = "days_since"
    title: ClassVar[str] = "Days since"
    kind: ClassVar[Literal["schedule"]] = "schedule"
    config_model = DaysSinceConfig

    def event_name(self, config: DaysSinceConfig) -> str | None:
        return None

    def event_matches(self, config: DaysSinceConfig) -> ColumnElement[bool] | None:
        return None

    def next_fire_at(self, config: DaysSinceConfig, after: datetime, account: AccountSettings) -> datetime:
        return next_daily_fire(after, config.hour, account)

    def audience(self, config: DaysSinceConfig, fire_at: datetime, account: AccountSettings) -> Select[Any]:
        low, high = day_window(fire_day(fire_at, account) - timedelta(days=config.days), account)
        if config.since == "registration":
            at = customers.c.registered_at
            return select(customers.c.id.label("customer_id")).where(at >= low, at < high)
        if config.since == "last_visit":
            latest = last_occurrences(config.visit_event).subquery("latest")
        else:
            kind: OrderKind = "order" if config.since == "last_order" else "receipt"
            latest = purchase_dates((kind,), first=False).subquery("latest")
        return select(latest.c.customer_id).where(and_(latest.c.at >= low, latest.c.at < high))
