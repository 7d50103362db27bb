"""Filter customers: split the incoming customers into `yes` (the condition holds) and `no`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tidings.core.account import AccountSettings
from tidings.core.contracts import Batch, Context, PaletteGroup, Routing
from tidings.model.conditions import AllOf, Condition
from tidings.segments.compiler import ConditionCompiler
from tidings.store.journey_rows import customer_matches


class FilterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Filter customers")
    condition: Condition = Field(
        default_factory=lambda: AllOf(all=[]), description="Customers who match leave by + (yes); the others by − (no)."
    )


class FilterCustomers:
    type: ClassVar[str] = "filter_customers"
    title: ClassVar[str] = "Filter customers"
    group: ClassVar[PaletteGroup] = PaletteGroup.FLOW
    config_model = FilterConfig

    def ports(self, config: FilterConfig) -> Sequence[str]:
        return ("yes", "no")

    def due_on_arrival(self, config: FilterConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def execute(self, batch: Batch, config: FilterConfig, ctx: Context) -> Routing:
        matches = ConditionCompiler(ctx.now, ctx.account.timezone).compile(config.condition)
        return Routing().to("yes", customer_matches(matches)).to("no")
