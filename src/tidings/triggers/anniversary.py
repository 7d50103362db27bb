"""Anniversary: every day, the customers for whom it is an anniversary of a date of theirs — birthday,
registration, first or last purchase — enter; at 00:00 in the account time zone unless a launch hour is given
(spec 4.2, S12).

An anniversary is every N years, months or days after the date (at least once: the date itself is not one),
shifted by a delay of ± days: with a delay of −15 days a birthday on 15 May enters the customer on 30 April every
year, with +7 days a first-order anniversary enters them 7 days after it. Dates are calendar days in the account
time zone (a registration at 23:30 in the account zone is on that day, whatever the UTC date).

**29 February and month ends, on purpose.** Yearly, a date of 29 February has its anniversary on 28 February in
the years without one (a birthday is greeted in its month, once a year, never skipped). Monthly, a day the month
lacks counts on the month's last day (the 31st on 30 April, 28 or 29 February). Every N days counts days exactly.

First and last purchase: the first (last) order or receipt that stands — not cancelled, not returned.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, select

from tidings.core.account import AccountSettings
from tidings.store.local_dates import LocalDate
from tidings.store.orders import purchase_dates
from tidings.store.tables import customers
from tidings.triggers.daily import (
    DateOf,
    every_days_on,
    fire_day,
    monthly_on,
    next_daily_fire,
    text_of,
    yearly_on,
)

Source = Literal["birthday", "registration", "first_order", "last_order"]


class AnniversaryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Anniversary")
    source: Source = Field(
        default="birthday",
        description="Whose anniversary: the birthday, the registration, the first or the last purchase.",
    )
    every: int = Field(default=1, ge=1, le=1000, description="Every N units after the date.")
    unit: Literal["years", "months", "days"] = Field(
        default="years", description="Whether the interval is counted in years, months or days."
    )
    delay_days: int = Field(
        default=0,
        ge=-365,
        le=365,
        description="Days after the anniversary the customer enters; negative: before it (−15: 15 days before).",
    )
    hour: int = Field(default=0, ge=0, le=23, description="Launch hour in the account time zone; 0 = midnight.")


class Anniversary:
    type: ClassVar[str] = "anniversary"
    title: ClassVar[str] = "Anniversary"
    kind: ClassVar[Literal["schedule"]] = "schedule"
    config_model = AnniversaryConfig

    def event_name(self, config: AnniversaryConfig) -> str | None:
        return None

    def event_matches(self, config: AnniversaryConfig) -> ColumnElement[bool] | None:
        return None

    def next_fire_at(self, config: AnniversaryConfig, after: datetime, account: AccountSettings) -> datetime:
        return next_daily_fire(after, config.hour, account)

    def audience(self, config: AnniversaryConfig, fire_at: datetime, account: AccountSettings) -> Select[Any]:
        anniversary = fire_day(fire_at, account) - timedelta(days=config.delay_days)
        recurs = {"years": yearly_on, "months": monthly_on, "days": every_days_on}[config.unit]
        if config.source in ("first_order", "last_order"):
            dates = purchase_dates(("order", "receipt"), first=config.source == "first_order").subquery("purchases")
            day: ColumnElement[Any] = LocalDate(dates.c.at, text_of(account.timezone))
            return select(dates.c.customer_id).where(recurs(day, anniversary, config.every))
        if config.source == "birthday":
            day = DateOf.of_date(customers.c.birthday).day
        else:
            day = DateOf.of_instant(customers.c.registered_at, account).day
        return select(customers.c.id.label("customer_id")).where(recurs(day, anniversary, config.every))
