"""Wait: hold each customer for a fixed time after arrival."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tidings.core.account import AccountSettings
from tidings.core.contracts import Batch, Context, PaletteGroup, Routing


class WaitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Wait")
    amount: int = Field(ge=1, le=100_000, description="How many units to wait.")
    unit: Literal["minutes", "hours", "days"] = Field(
        default="days", description="Whether the wait is counted in minutes, hours or days."
    )

    def delay(self) -> timedelta:
        return timedelta(**{self.unit: self.amount})


class Wait:
    type: ClassVar[str] = "wait"
    title: ClassVar[str] = "Wait"
    group: ClassVar[PaletteGroup] = PaletteGroup.FLOW
    config_model = WaitConfig

    def ports(self, config: WaitConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: WaitConfig, now: datetime, account: AccountSettings) -> datetime:
        return now + config.delay()

    def execute(self, batch: Batch, config: WaitConfig, ctx: Context) -> Routing:
        # Rows are only claimed once their due_at (arrival + delay) has passed.
        return Routing.all_to("out")
