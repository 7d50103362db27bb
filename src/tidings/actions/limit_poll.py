"""Limit poll (D5): cap how many customers answer a poll, and optionally invite them in waves.

The node records the limit on the poll — the voting page refuses answers beyond it ("poll closed"), overall or
for the customer's store — and hands each customer it lets through an invitation to the poll (the send that
follows carries the link). Customers who cannot take part any more drop out: ``poll_limit_reached`` once the
limit is reached (for their store), ``poll_already_answered`` when they answered already.

With a wave size K, at most K invited customers hold an open, unanswered invitation from this node at once; the
others wait here. An answer frees a slot and wakes the customer waiting longest; reaching the limit wakes them
all (to drop out). Optionally an invitation unanswered for some days stops holding its slot. Waiting customers
are also looked at again every ``RECHECK``.

Control-group customers (D1) pass without an invitation: they receive no link and take no slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tidings.core.account import AccountSettings
from tidings.core.contracts import CONTROL_GROUP, Batch, Context, PaletteGroup, Routing
from tidings.model.conditions import MAX_ID
from tidings.store import polls as poll_sql
from tidings.store.journey_rows import customer_matches, in_control_group

POLL_MISSING = "poll_missing"
POLL_LIMIT_REACHED = "poll_limit_reached"
POLL_ALREADY_ANSWERED = "poll_already_answered"
RECHECK = timedelta(hours=1)


class LimitPollConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Limit poll")
    poll: int = Field(ge=1, le=MAX_ID, description="Id of the poll (the number in its code POLL-<id>).")
    limit_type: Literal["total", "per_store"] = Field(
        default="total",
        description="In total: the limit counts every respondent; per store: it applies to each store "
        "(the customer's store; customers without one count together).",
    )
    limit: int = Field(
        ge=1, le=1_000_000_000, description="How many customers may answer; the poll page refuses the others."
    )
    wave_size: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="At most this many invited customers hold an open, unanswered invitation at once; the others "
        "wait here until one answers. Empty: everyone is invited at once.",
    )
    invitation_days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        description="With a wave size: an invitation unanswered this many days stops holding its slot. "
        "Empty: it holds it until answered.",
    )

    @model_validator(mode="after")
    def _days_need_waves(self) -> LimitPollConfig:
        if self.invitation_days is not None and self.wave_size is None:
            raise ValueError("invitation_days only applies with a wave_size; set one or remove invitation_days")
        return self


class LimitPoll:
    type: ClassVar[str] = "limit_poll"
    title: ClassVar[str] = "Limit poll"
    group: ClassVar[PaletteGroup] = PaletteGroup.LIMITS
    config_model = LimitPollConfig

    def ports(self, config: LimitPollConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: LimitPollConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def execute(self, batch: Batch, config: LimitPollConfig, ctx: Context) -> Routing:
        # The poll row is the lock every answer and every node of this poll takes: slots are counted exactly.
        poll = ctx.conn.execute(poll_sql.lock_poll(config.poll)).mappings().first()
        if poll is None:  # deleted after the campaign was saved: say so rather than fail the chunk
            return Routing().drop(POLL_MISSING)
        ctx.conn.execute(poll_sql.set_limit(config.poll, limit_type=config.limit_type, limit_value=config.limit))
        routing = Routing()
        if config.limit_type == "total":
            answers = int(ctx.conn.execute(poll_sql.count_responses(config.poll)).scalar_one())
            if answers >= config.limit:
                return routing.drop(POLL_LIMIT_REACHED)
        else:
            full = list(ctx.conn.execute(poll_sql.full_stores(config.poll, config.limit)).scalars())
            if full:
                routing.drop(POLL_LIMIT_REACHED, customer_matches(poll_sql.of_stores(full)))
        routing.drop(POLL_ALREADY_ANSWERED, poll_sql.customer_answered(config.poll))
        routing.suppress("out", CONTROL_GROUP, in_control_group())  # D1: no link, no slot
        if config.wave_size is None:
            routing.to("out")
        else:
            lifetime = timedelta(days=config.invitation_days) if config.invitation_days else None
            since = ctx.now - lifetime if lifetime else None
            open_count, oldest = ctx.conn.execute(
                poll_sql.open_invitations(
                    config.poll, campaign_id=batch.campaign_id, node_id=batch.node_id, since=since
                )
            ).one()
            free = config.wave_size - int(open_count)
            routing.to("out", first=free)
            recheck = ctx.now + RECHECK
            if lifetime is not None and oldest is not None:  # the oldest open invitation frees its slot then
                recheck = min(recheck, max(ctx.now, oldest + lifetime))
            routing.hold(recheck)
        return routing.then(
            poll_sql.invite_from_chunk(
                ctx.dialect, poll_id=config.poll, node_id=batch.node_id, rows=batch.performed(), now=ctx.now
            )
        )
