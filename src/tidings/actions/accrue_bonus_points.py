"""Accrue bonus points (D9): ask the loyalty program to accrue bonuses to each customer; continue with those it
confirmed.

The node writes one pending ``loyalty_requests`` row (kind ``bonus``) per customer — unique per (entry, node,
customer), in the chunk's transaction — and holds the customers at the node. The loyalty processor sends the
requests (idempotency key per entry × node × customer, retries with back-off) and, when one is finished, wakes
its customer; the node then routes them: confirmed → ``out``, refused → dropped with the program's reason
(``loyalty:<code>``, e.g. ``loyalty:customer_blocked``, or ``loyalty:timeout`` after the last attempt). Held
customers are also looked at again every ``RECHECK`` in case a wake-up was missed. Routing stays with the chunk
(exactly once, set-at-a-time); the request row is the only thing the two share.

Control-group customers (D1) are routed on as if credited and nothing is requested for them. An entry that
reaches the node again (merged branches) is accrued once: the later arrival drops out with ``already_accrued``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tidings.core.account import AccountSettings
from tidings.core.contracts import CONTROL_GROUP, Batch, Context, PaletteGroup, Routing
from tidings.store import loyalty as loyalty_sql
from tidings.store.journey_rows import in_control_group, left_here, once_per_entry

ALREADY_ACCRUED = "already_accrued"
#: Held customers are looked at again this often even without a wake-up.
RECHECK = timedelta(hours=1)
MAX_AMOUNT = 1_000_000_000


class AccrueBonusPointsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Accrue bonus points")
    amount: float = Field(
        gt=0, le=MAX_AMOUNT, description="Bonus points accrued to each customer in the loyalty program (> 0)."
    )
    expiry_days: int | None = Field(
        default=None,
        ge=1,
        le=36_600,
        description="The bonuses burn this many days after the accrual. Give this, an expiry date, or neither "
        "(the program's default).",
    )
    expiry_date: date | None = Field(
        default=None, description="The bonuses burn at the end of this date (account time zone)."
    )
    partner: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Legal entity (partner code) accruing the bonuses; empty for the program's default.",
    )
    description: str | None = Field(
        default=None, max_length=500, description="Why the bonuses are accrued; shown in the program's history."
    )

    @field_validator("amount")
    @classmethod
    def _hundredths(cls, value: float) -> float:
        if math.isfinite(value) and round(value, 2) != value:
            raise ValueError(f"{value!r} has more than two decimals; bonuses are counted in hundredths")
        return value

    @model_validator(mode="after")
    def _one_expiry(self) -> AccrueBonusPointsConfig:
        if self.expiry_days is not None and self.expiry_date is not None:
            raise ValueError("give either expiry_days or expiry_date, not both")
        return self

    def payload(self) -> dict[str, Any]:
        """What each request carries (the HTTP adapter sends it as the body, with the customer and key)."""
        values: dict[str, Any] = {
            "amount": self.amount,
            "expiry_days": self.expiry_days,
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
            "partner": self.partner,
            "description": self.description,
        }
        return {name: value for name, value in values.items() if value is not None}


class AccrueBonusPoints:
    type: ClassVar[str] = "accrue_bonus_points"
    title: ClassVar[str] = "Accrue bonus points"
    group: ClassVar[PaletteGroup] = PaletteGroup.LOYALTY
    config_model = AccrueBonusPointsConfig

    def ports(self, config: AccrueBonusPointsConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: AccrueBonusPointsConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def execute(self, batch: Batch, config: AccrueBonusPointsConfig, ctx: Context) -> Routing:
        # Under these locks the processor cannot finish one of this chunk's requests unseen: it either finished
        # it before (and the rules below see it) or waits, then wakes the customers held here.
        ctx.conn.execute(loyalty_sql.lock_chunk_requests(batch.member, node_id=batch.node_id)).all()
        # Its own request stays while a customer is held here, so what counts is having left as performed; and an
        # earlier token of the entry held here counts although it is not in this chunk.
        already_accrued = once_per_entry(left_here(batch.node_id), held_at=batch.node_id)
        routing = Routing().drop(ALREADY_ACCRUED, already_accrued)
        routing.suppress("out", CONTROL_GROUP, in_control_group())  # D1: routed on, nothing requested
        routing.to("out", loyalty_sql.request_is(batch.node_id, "done"))
        for reason in ctx.conn.execute(loyalty_sql.failure_reasons(batch.member, node_id=batch.node_id)).scalars():
            if reason:
                routing.drop(f"loyalty:{reason}", loyalty_sql.request_is(batch.node_id, "failed", reason))
        routing.drop("loyalty:error", loyalty_sql.request_is(batch.node_id, "failed"))
        routing.hold(ctx.now + RECHECK)  # requested now, or still pending
        return routing.then(
            loyalty_sql.request_from_chunk(
                ctx.dialect,
                kind=loyalty_sql.BONUS,
                node_id=batch.node_id,
                rows=batch.held(),
                payload=config.payload(),
                now=ctx.now,
            )
        )
