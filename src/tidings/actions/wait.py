"""Wait: hold each customer for a fixed time after arrival."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from pydantic import ConfigDict, Field

from tidings.core.account import AccountSettings
from tidings.core.contracts import Batch, Context, PaletteGroup, Routing
from tidings.model.durations import Duration, DurationAmount, DurationUnit


class WaitConfig(Duration):
    model_config = ConfigDict(title="Wait")
    amount: DurationAmount = Field(description="How many units to wait.")
    unit: DurationUnit = Field(default="days", description="Whether the wait is counted in minutes, hours or days.")


class Wait:
    type: ClassVar[str] = "wait"
    title: ClassVar[str] = "Wait"
    group: ClassVar[PaletteGroup] = PaletteGroup.FLOW
    config_model = WaitConfig

    def ports(self, config: WaitConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: WaitConfig, now: datetime, account: AccountSettings) -> datetime:
        return now + config.delta()

    def execute(self, batch: Batch, config: WaitConfig, ctx: Context) -> Routing:
        # Rows are only claimed once their due_at (arrival + delay) has passed.
        return Routing.all_to("out")
