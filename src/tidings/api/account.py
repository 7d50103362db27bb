"""Account settings: time zone, the daily delivery window, and the default sender."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tidings.api.deps import ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.api.rows import NO_NUL
from tidings.core.account import AccountSettings
from tidings.core.errors import InvalidInput
from tidings.model.text import EmailAddress, HeaderText
from tidings.store.account import load_account, save_account

router = APIRouter(prefix="/settings", tags=["settings"], route_class=StrictJsonRoute)

HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ClockTime = Annotated[str, Field(pattern=HHMM, description="Local time of day, HH:MM (24-hour).")]


class AccountOut(BaseModel):
    timezone: str = Field(description="IANA time zone, e.g. Europe/Riga.")
    delivery_window_start: str = Field(description="SMS, Viber and push go out from this local time (HH:MM).")
    delivery_window_end: str = Field(description="… until this local time (HH:MM).")
    email_from: str
    email_from_name: str


class AccountIn(BaseModel):
    """Fields left out keep their value."""

    model_config = ConfigDict(extra="forbid")
    timezone: str | None = Field(default=None, description="IANA time zone, e.g. Europe/Riga.")
    delivery_window_start: ClockTime | None = None
    delivery_window_end: ClockTime | None = None
    email_from: EmailAddress | None = Field(default=None, description="Default sender address.")
    email_from_name: HeaderText | None = Field(default=None, description="Default sender name.")

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        if "\x00" in value:
            raise ValueError(NO_NUL)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Riga") from None
        return value

    @field_validator("email_from")
    @classmethod
    def _address(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _out(account: AccountSettings) -> AccountOut:
    return AccountOut(
        timezone=account.timezone,
        delivery_window_start=_hhmm(account.delivery_window_start),
        delivery_window_end=_hhmm(account.delivery_window_end),
        email_from=account.email_from,
        email_from_name=account.email_from_name,
    )


@router.get("", summary="Account settings")
def get_settings(services: ServicesDep) -> AccountOut:
    with services.db.engine.begin() as conn:  # begin: the first read creates the settings row
        return _out(load_account(conn))


@router.put("", summary="Change account settings")
def put_settings(body: AccountIn, services: ServicesDep) -> AccountOut:
    values: dict[str, object] = body.model_dump(exclude_unset=True)
    for name in ("delivery_window_start", "delivery_window_end"):
        if name in values:
            values[name] = _minutes(str(values[name]))
    with services.db.engine.begin() as conn:
        current = load_account(conn)
        start = values.get("delivery_window_start", current.delivery_window_start)
        end = values.get("delivery_window_end", current.delivery_window_end)
        assert isinstance(start, int) and isinstance(end, int)
        if start >= end:
            raise InvalidInput(
                f"the delivery window must start before it ends: {_hhmm(start)}–{_hhmm(end)}; e.g. 09:00–21:00",
                details=[{"field": "delivery_window_end", "in": "body", "message": "must be later than the start"}],
            )
        values["updated_at"] = services.clock.now().astimezone(UTC)
        return _out(save_account(conn, values))
