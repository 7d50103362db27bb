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


def merge_duplicates(rows: list[CustomerIn]) -> list[CustomerIn]:
    """One row per external id, as if the rows were applied one after the other: later fields win, and channel
    consents add up channel by channel, so an empty or null consent map changes nothing (as it does on its own).
    Both the API's batch upsert and the bulk import need it: one statement cannot touch a row twice (PostgreSQL's
    ON CONFLICT), and writing rows in groups of the fields they give would lose their order. The rows are valid,
    so the merged ones are built without validating them again."""
    if len({row.external_id for row in rows}) == len(rows):
        return rows
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        given = {name: getattr(row, name) for name in row.model_fields_set}
        earlier = merged.setdefault(row.external_id, {})
        if earlier.get("subscriptions"):
            given["subscriptions"] = {**earlier["subscriptions"], **(given.get("subscriptions") or {})}
        earlier.update(given)
    return [CustomerIn.model_construct(set(values), **values) for values in merged.values()]
