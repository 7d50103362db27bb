"""Repeated date: fires daily, on chosen weekdays, on a day of each month, or by a cron expression."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import ColumnElement

from tidings.core.account import AccountSettings
from tidings.core.localtime import local_instant, resolve_local

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class RepeatedDateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Repeated date")
    frequency: Literal["daily", "weekly", "monthly", "cron"] = Field(
        default="daily",
        description="How often the campaign starts: every day, on chosen weekdays, on one day of each month, or on "
        "a custom schedule (cron).",
    )
    hour: int = Field(default=0, ge=0, le=23, description="Launch hour in the account time zone.")
    weekdays: list[Weekday] = Field(default_factory=list, description="When weekly: the days it fires.")
    month_day: int | None = Field(
        default=None, ge=1, le=31, description="When monthly: the day; shorter months fire on their last day."
    )
    cron: str | None = Field(
        default=None,
        max_length=200,
        description="When by cron: five fields (minute hour day month weekday), account time zone.",
    )

    @model_validator(mode="after")
    def _complete(self) -> RepeatedDateConfig:
        if self.frequency == "weekly" and not self.weekdays:
            raise ValueError("weekdays: a weekly trigger needs at least one weekday")
        if self.frequency == "monthly" and self.month_day is None:
            raise ValueError("month_day: a monthly trigger needs the day of the month")
        if self.frequency == "cron" and (
            not self.cron or not croniter.is_valid(self.cron) or len(self.cron.split()) != 5
        ):
            raise ValueError(f"cron: {self.cron!r} is not a 5-field cron expression, e.g. '0 9 * * 1-5'")
        return self


def _month_day(year: int, month: int, wanted: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return min(date(year, month, 1) + timedelta(days=wanted - 1), first_of_next - timedelta(days=1))


class RepeatedDate:
    type: ClassVar[str] = "repeated_date"
    title: ClassVar[str] = "Repeated date"
    kind: ClassVar[Literal["schedule"]] = "schedule"
    config_model = RepeatedDateConfig

    def event_name(self, config: RepeatedDateConfig) -> str | None:
        return None

    def event_matches(self, config: RepeatedDateConfig) -> ColumnElement[bool] | None:
        return None

    def next_fire_at(self, config: RepeatedDateConfig, after: datetime, account: AccountSettings) -> datetime | None:
        zone = ZoneInfo(account.timezone)
        if config.frequency == "cron":
            assert config.cron is not None
            # Step through local wall-clock times, so a time repeated by the autumn change fires once (at its first
            # occurrence) and a time skipped in spring fires at the end of the gap (D16).
            wall_clock = croniter(config.cron, after.astimezone(zone).replace(tzinfo=None))
            while True:
                following = resolve_local(wall_clock.get_next(datetime).replace(tzinfo=zone)).astimezone(UTC)
                if following > after:
                    return following
        day = after.astimezone(zone).date()
        for _ in range(400):  # at most a year and a bit ahead
            if self._fires_on(config, day):
                moment = local_instant(day, time(config.hour), account.timezone)
                if moment > after:
                    return moment
            day += timedelta(days=1)
        raise AssertionError("a repeated date always fires within 400 days")

    @staticmethod
    def _fires_on(config: RepeatedDateConfig, day: date) -> bool:
        if config.frequency == "daily":
            return True
        if config.frequency == "weekly":
            return WEEKDAYS[day.weekday()] in config.weekdays
        assert config.month_day is not None
        return day == _month_day(day.year, day.month, config.month_day)
