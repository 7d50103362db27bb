"""Date has come: fires once, on a date at an hour (00:00 unless set) in the account time zone."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement

from tidings.core.account import AccountSettings
from tidings.core.localtime import local_instant


class DateHasComeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Date has come")
    date: dt.date = Field(description="The day the campaign starts, in the account time zone.")
    hour: int = Field(default=0, ge=0, le=23, description="Launch hour; 0 = midnight.")


class DateHasCome:
    type: ClassVar[str] = "date_has_come"
    title: ClassVar[str] = "Date has come"
    kind: ClassVar[Literal["schedule"]] = "schedule"
    config_model = DateHasComeConfig

    def event_name(self, config: DateHasComeConfig) -> str | None:
        return None

    def event_matches(self, config: DateHasComeConfig) -> ColumnElement[bool] | None:
        return None

    def next_fire_at(self, config: DateHasComeConfig, after: datetime, account: AccountSettings) -> datetime | None:
        moment = local_instant(config.date, dt.time(config.hour), account.timezone)
        return moment if moment > after else None
