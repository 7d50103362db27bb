"""Control group (D1): mark a share of the incoming customers' entries as control; everyone continues.

Customer-facing actions downstream (sends, popups, points, bonuses) are suppressed for control entries and say
so in the trace and the counters; audience actions apply to them unless told to ignore the control group.
The share is chosen by a stable hash of (campaign, customer) computed in SQL, identically on SQLite and
PostgreSQL, so a re-entering customer lands in the same group; or by membership of an audience.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import ColumnElement, Update, exists

from tidings.core.account import AccountSettings
from tidings.core.contracts import Batch, Context, PaletteGroup, Routing
from tidings.model.catalog import catalog_of
from tidings.model.conditions import MAX_ID
from tidings.store import journeys
from tidings.store.tables import audience_members, entries

#: Buckets of the hash: a percentage is compared in hundredths of a percent.
BUCKETS = 10_000
_M = 2_147_483_647  # 2**31 - 1: every intermediate product stays below 2**63


class ControlGroupConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Control group")
    method: Literal["percentage", "audience"] = Field(
        default="percentage",
        description="Percentage: a stable share of the incoming customers; audience: the members of an audience.",
    )
    percent: float = Field(
        default=0,
        ge=0,
        le=50,
        allow_inf_nan=False,
        description="Share held out, 0–50 % (hundredths of a percent count), when held out by percentage.",
    )
    audience: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        validate_default=True,
        description="Audience whose members are held out, when held out by audience.",
    )

    @field_validator("audience")
    @classmethod
    def _audience_fits_method(cls, value: int | None, info: ValidationInfo) -> int | None:
        method = info.data.get("method")
        if method == "audience" and value is None:
            raise ValueError("method 'audience' needs the id of the audience to hold out")
        if method == "percentage" and value is not None:
            raise ValueError("only used with method 'audience'; remove it or change the method")
        catalog = catalog_of(info)
        if value is not None and catalog is not None and value not in catalog.audiences:
            raise ValueError(f"audience {value} does not exist")
        return value

    def basis_points(self) -> int:
        return round(self.percent * 100)


def bucket(customer_id: Any, campaign_id: int) -> Any:
    """A stable pseudo-random bucket in [0, 10000) for (campaign, customer), in portable integer arithmetic.

    Two Lehmer-style steps modulo 2**31 - 1 with a non-linear mix between them; operands are non-negative and
    every product stays below 2**63, so SQLite and PostgreSQL compute the same value. Written once for both
    sides: given a SQL column it builds the expression, given an ``int`` it computes the bucket in Python.
    """
    offset = (campaign_id * 69_621 + 12_345) % _M
    h1 = ((customer_id % _M) * 48_271 + offset) % _M
    h2 = (h1 * (h1 % 65_521 + 1)) % _M
    h3 = (h2 * 16_807 + h2 // 65_536) % _M
    return h3 % BUCKETS


def mark_control(batch: Batch, config: ControlGroupConfig) -> Update | None:
    """Flag the entries of this chunk's customers who fall in the control group (never unflag one)."""
    if config.method == "audience":
        chosen: ColumnElement[bool] = exists().where(
            audience_members.c.audience_id == config.audience, audience_members.c.customer_id == entries.c.customer_id
        )
    else:
        if config.basis_points() == 0:
            return None
        chosen = bucket(entries.c.customer_id, batch.campaign_id) < config.basis_points()
    return journeys.flag_control_entries(batch.member, chosen)


class ControlGroup:
    type: ClassVar[str] = "control_group"
    title: ClassVar[str] = "Control group"
    group: ClassVar[PaletteGroup] = PaletteGroup.FLOW
    config_model = ControlGroupConfig

    def ports(self, config: ControlGroupConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: ControlGroupConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def execute(self, batch: Batch, config: ControlGroupConfig, ctx: Context) -> Routing:
        routing = Routing.all_to("out")  # D1: control customers continue, so both groups stay comparable
        statement = mark_control(batch, config)
        if statement is not None:
            routing.then(statement)
        return routing
