"""A duration as nodes take it: a whole number of minutes, hours or days (Wait, message and inbox lifetimes).

Each use subclasses ``Duration`` for its own title and field descriptions in the editor; the units, the bounds
and the conversion are these."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

DurationUnit = Literal["minutes", "hours", "days"]
#: How many units: 1 to 100,000.
DurationAmount = Annotated[int, Field(ge=1, le=100_000)]


class Duration(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Duration")
    amount: DurationAmount
    unit: DurationUnit = Field(default="days", description="Whether the amount is counted in minutes, hours or days.")

    def delta(self) -> timedelta:
        return timedelta(**{self.unit: self.amount})
