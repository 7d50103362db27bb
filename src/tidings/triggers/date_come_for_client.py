"""Date come for client: every day, the customers whose date field is today — or N days ahead ("N days before"),
or N days past ("N days after") — enter; at 00:00 in the account time zone unless a launch hour is given.

The field is any date of the profile: ``birthday``, ``registered_at`` or a custom field ``attributes.<code>``
of type date or datetime. With ``every_year`` only the day and month count (a birthday, a wedding day): the
customer enters on each anniversary, and a 29 February on 28 February in the years without one. Example: a
birthday on 15 May with "15 days before" and ``every_year`` enters the customer every 30 April at 00:00 (account
time zone).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from sqlalchemy import ColumnElement, Select, select

from tidings.core.account import AccountSettings
from tidings.model.catalog import catalog_of
from tidings.model.conditions import ATTRIBUTE_PREFIX, CODE_PATTERN
from tidings.segments.conditions_fields import attribute_value
from tidings.store.tables import customers
from tidings.triggers.daily import DateOf, either, fire_day, next_daily_fire, yearly_on

#: The built-in date fields of the profile, by kind.
PROFILE_DATES: dict[str, Literal["date", "datetime"]] = {"birthday": "date", "registered_at": "datetime"}

When = Literal["on_date", "days_before", "days_after"]


class DateOffset(BaseModel):
    """When, relative to the date, the campaign starts; shared by the date triggers of customers, orders and
    receipts."""

    when: When = Field(
        default="on_date",
        description="On the date itself, N days before it, or N days after it.",
    )
    days: int = Field(
        default=0, ge=0, le=3650, description="N: how many days before or after the date (ignored on the date)."
    )
    hour: int = Field(default=0, ge=0, le=23, description="Launch hour in the account time zone; 0 = midnight.")

    @model_validator(mode="after")
    def _days_fit_when(self) -> DateOffset:
        if self.when != "on_date" and self.days < 1:
            raise ValueError(f"days: {self.when} needs a number of days of 1 or more, got {self.days}")
        if self.when == "on_date" and self.days:
            raise ValueError(
                f"days: on_date takes no number of days (got {self.days}); choose days_before or days_after"
            )
        return self

    def target(self, fire_at: datetime, account: AccountSettings) -> Any:
        """The date a fire at ``fire_at`` looks for."""
        today = fire_day(fire_at, account)
        if self.when == "days_before":
            return today + timedelta(days=self.days)
        if self.when == "days_after":
            return today - timedelta(days=self.days)
        return today


class DateComeForClientConfig(DateOffset):
    model_config = ConfigDict(extra="forbid", title="Date come for client")
    field: str = Field(
        min_length=1,
        max_length=80,
        description="Which date of the customer counts: the birthday, the registration date, or a custom field "
        "holding a date.",
    )

    every_year: bool = Field(
        default=False,
        description="Every year on the date's day and month (birthdays, anniversaries) instead of the date itself.",
    )

    @field_validator("field")
    @classmethod
    def _a_date_field(cls, value: str, info: ValidationInfo) -> str:
        if value in PROFILE_DATES:
            return value
        known = ", ".join(PROFILE_DATES)
        if not value.startswith(ATTRIBUTE_PREFIX):
            raise ValueError(f"{value!r} is not a date field of the profile; use {known} or attributes.<code>")
        code = value[len(ATTRIBUTE_PREFIX) :]
        if not CODE_PATTERN.match(code):
            raise ValueError(f"{value!r}: a custom field code is letters, digits and _ (no hyphens)")
        catalog = catalog_of(info)
        if catalog is not None:
            kind = catalog.custom_fields.get(code)
            dates = sorted(ATTRIBUTE_PREFIX + c for c, k in catalog.custom_fields.items() if k in ("date", "datetime"))
            if kind is None:
                raise ValueError(f"unknown custom field {value!r}; date fields: {', '.join([known, *dates])}")
            if kind not in ("date", "datetime"):
                raise ValueError(f"{value!r} is a {kind} field, not a date; date fields: {', '.join([known, *dates])}")
        return value


def customer_date(field: str, account: AccountSettings) -> list[DateOf]:
    """The customer's ``field`` (a built-in date or a custom date / datetime field) in SQL: the ways it may be
    stored (the engine reads documents without the catalogue, so a custom field is read as a date and as a
    date-time; a value is at most one of them)."""
    if field in PROFILE_DATES:
        column = customers.c[field]
        return [DateOf.of_date(column) if PROFILE_DATES[field] == "date" else DateOf.of_instant(column, account)]
    code = field[len(ATTRIBUTE_PREFIX) :]
    return [
        DateOf(attribute_value(code, "date")),
        DateOf.of_instant(attribute_value(code, "datetime"), account),
    ]


class DateComeForClient:
    type: ClassVar[str] = "date_come_for_client"
    title: ClassVar[str] = "Date come for client"
    kind: ClassVar[Literal["schedule"]] = "schedule"
    config_model = DateComeForClientConfig

    def event_name(self, config: DateComeForClientConfig) -> str | None:
        return None

    def event_matches(self, config: DateComeForClientConfig) -> ColumnElement[bool] | None:
        return None

    def next_fire_at(self, config: DateComeForClientConfig, after: datetime, account: AccountSettings) -> datetime:
        return next_daily_fire(after, config.hour, account)

    def audience(self, config: DateComeForClientConfig, fire_at: datetime, account: AccountSettings) -> Select[Any]:
        day = config.target(fire_at, account)
        dates = customer_date(config.field, account)
        if config.every_year:
            matches = either(*(yearly_on(dated.day, day) for dated in dates))
        else:
            matches = either(*(dated.on(day, account) for dated in dates))
        return select(customers.c.id.label("customer_id")).where(matches)
