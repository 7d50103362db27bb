"""Award points (D10): credit (or, with a negative amount, debit) the internal points balance of each customer.

Each customer credited gets one ``points_ledger`` row, unique per (entry, node, customer), and their
``customers.points_balance`` changes in the same transaction as the routing — the balance is a customer field
usable in conditions (``{"field": "points_balance", "op": "gte", "value": 100}``). A deduction never takes a
balance below zero: such customers drop out with ``insufficient_points``. Control-group customers (D1) are
routed on as if credited, and nothing is written for them. A customer whose entry reaches the node again (merged
branches) is not credited twice: the later arrival drops out with ``already_awarded``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tidings.core.account import AccountSettings
from tidings.core.contracts import CONTROL_GROUP, Batch, Context, PaletteGroup, Routing
from tidings.store import points
from tidings.store.journey_rows import customer_matches, has_row_here, in_control_group, left_here, once_per_entry
from tidings.store.tables import points_ledger

ALREADY_AWARDED = "already_awarded"
INSUFFICIENT_POINTS = "insufficient_points"
#: The largest amount one node may award or deduct.
MAX_AMOUNT = 1_000_000_000


class AwardPointsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Award points")
    amount: float = Field(
        description="Points added to each customer's balance, at most two decimals; a negative amount deducts "
        "(customers without enough points drop out).",
    )
    comment: str | None = Field(
        default=None, max_length=500, description="Why the points were awarded; kept on each ledger row."
    )

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: float) -> float:
        if not math.isfinite(value) or value == 0 or abs(value) > MAX_AMOUNT:
            raise ValueError(f"give a non-zero amount between -{MAX_AMOUNT} and {MAX_AMOUNT}, e.g. 100 or -50")
        if round(value, 2) != value:
            raise ValueError(f"{value!r} has more than two decimals; points are counted in hundredths")
        return value

    def decimal_amount(self) -> Decimal:
        return Decimal(str(self.amount)).quantize(Decimal("0.01"))


class AwardPoints:
    type: ClassVar[str] = "award_points"
    title: ClassVar[str] = "Award points"
    group: ClassVar[PaletteGroup] = PaletteGroup.LOYALTY
    config_model = AwardPointsConfig

    def ports(self, config: AwardPointsConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: AwardPointsConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def execute(self, batch: Batch, config: AwardPointsConfig, ctx: Context) -> Routing:
        # Lock the chunk's customers first: a concurrent chunk holding the same entry at this node (merged
        # branches) waits, then sees this one's ledger rows in the rules below.
        ctx.conn.execute(points.lock_customers(points.chunk_customers(batch.member))).all()
        amount = config.decimal_amount()
        already_awarded = once_per_entry(
            has_row_here(points_ledger, batch.node_id), left_here(batch.node_id, reasons=[CONTROL_GROUP])
        )
        routing = Routing().drop(ALREADY_AWARDED, already_awarded)
        routing.suppress("out", CONTROL_GROUP, in_control_group())  # D1: routed on, nothing credited
        if amount < 0:
            routing.drop(INSUFFICIENT_POINTS, customer_matches(points.balance_below(amount)))
        routing.to("out")
        credited = batch.performed()
        routing.then(points.add_to_chunk_balances(rows=credited, amount=amount))
        routing.then(
            points.ledger_rows_from_chunk(
                ctx.dialect, node_id=batch.node_id, rows=credited, amount=amount, reason=config.comment, now=ctx.now
            )
        )
        return routing
