"""A customer row as accepted by the API and by bulk import."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

Channel = Literal["email", "sms", "viber", "push", "app"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "viber", "push", "app")

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class CustomerIn(BaseModel):
    """Fields left out of an upsert keep their stored value; ``null`` clears a field."""

    model_config = ConfigDict(extra="forbid")
    external_id: str = Field(min_length=1, max_length=128)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32, description="E.164, e.g. +37120000000.")
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    middle_name: str | None = Field(default=None, max_length=200)
    birthday: date | None = None
    gender: Literal["female", "male", "other"] | None = None
    city: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, description="IANA name, e.g. Europe/Riga.")
    registered_at: datetime | None = None
    store_code: str | None = Field(default=None, max_length=64)
    attributes: dict[str, Any] | None = Field(default=None, description="Custom attributes by code.")
    subscriptions: dict[Channel, bool] | None = Field(default=None, description="Channel consent, e.g. {email: true}.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Riga") from None
        return value

    @field_validator("registered_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("registered_at needs a UTC offset, e.g. 2024-01-31T10:00:00Z")
        return value

    @field_validator("phone")
    @classmethod
    def _phone_shape(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return value
        compact = re.sub(r"[\s()-]", "", value)
        if not compact.startswith("+"):
            compact = "+" + compact
        return compact if _E164.match(compact) else value  # an invalid phone is stored; sends drop it as invalid
