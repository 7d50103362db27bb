"""Wait until date: hold customers until a calendar moment in the account time zone (D12)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tidings.core.account import AccountSettings
from tidings.core.contracts import Batch, Context, PaletteGroup, Routing
from tidings.core.localtime import local_instant


class WaitUntilDateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Wait until date")
    date: dt.date = Field(description="Customers are released on this date, in the account time zone.")
    time: dt.time = Field(default=dt.time(0, 0), description="Local time of the release; 00:00 unless set.")

    def release_at(self, timezone: str) -> datetime:
        return local_instant(self.date, self.time, timezone)


class WaitUntilDate:
    type: ClassVar[str] = "wait_until_date"
    title: ClassVar[str] = "Wait until date"
    group: ClassVar[PaletteGroup] = PaletteGroup.FLOW
    config_model = WaitUntilDateConfig

    def ports(self, config: WaitUntilDateConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: WaitUntilDateConfig, now: datetime, account: AccountSettings) -> datetime:
        return max(now, config.release_at(account.timezone))  # arriving late passes at once

    def execute(self, batch: Batch, config: WaitUntilDateConfig, ctx: Context) -> Routing:
        return Routing.all_to("out")
