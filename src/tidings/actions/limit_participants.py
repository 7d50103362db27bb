"""Limit number of participants (D4): the first N customers of a period pass, the rest drop with `limit_reached`.

Periods are calendar periods in the account time zone. A chunk is processed at one instant, so all its rows
share one period key. The counter row is locked before the chunk is ranked, so concurrent workers at the same
node never let more than N through; the counter update commits with the routing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement

from tidings.core.account import AccountSettings
from tidings.core.contracts import Batch, Context, PaletteGroup, Routing
from tidings.store import limits

Period = Literal["campaign", "day", "week", "month"]

LIMIT_REACHED = "limit_reached"


class LimitParticipantsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Limit number of participants")
    limit: int = Field(ge=1, le=1_000_000_000, description="How many customers may pass in each period.")
    period: Period = Field(
        default="campaign",
        description="Campaign: over the whole life of the campaign — reaching the limit also stops the campaign "
        "admitting new entries; day, week (Monday to Sunday) or month: calendar periods in the account "
        "time zone.",
    )


def period_key(period: Period, now: datetime, timezone: str) -> str:
    """The counter key of the period containing ``now``: all | 2026-01-05 | 2026-W02 (ISO week) | 2026-01."""
    if period == "campaign":
        return limits.WHOLE_CAMPAIGN
    local = now.astimezone(ZoneInfo(timezone)).date()
    if period == "day":
        return local.isoformat()
    if period == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{local.year}-{local.month:02d}"


class LimitParticipants:
    type: ClassVar[str] = "limit_participants"
    title: ClassVar[str] = "Limit number of participants"
    group: ClassVar[PaletteGroup] = PaletteGroup.FLOW
    config_model = LimitParticipantsConfig

    def ports(self, config: LimitParticipantsConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: LimitParticipantsConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def execute(self, batch: Batch, config: LimitParticipantsConfig, ctx: Context) -> Routing:
        key = period_key(config.period, ctx.now, ctx.account.timezone)
        passed = ctx.conn.execute(
            limits.lock_counter(ctx.dialect, campaign_id=batch.campaign_id, node_id=batch.node_id, period=key)
        ).scalar_one()
        room = max(0, config.limit - int(passed))
        routing = Routing().to("out", limits.first_rows(batch.member, room)).drop(LIMIT_REACHED)
        routing.then(
            limits.add_passed(
                campaign_id=batch.campaign_id,
                node_id=batch.node_id,
                period=key,
                rows=batch.performed(),
            )
        )
        if config.period == "campaign":
            reached = limits.reached(
                campaign_id=batch.campaign_id, node_id=batch.node_id, period=key, limit=config.limit
            )
            reason = self.closed_reason(config, batch.node_id)
            routing.then(limits.note_closed(batch.campaign_id, reason=reason, when=reached))
        return routing

    def admission_closed(
        self, config: LimitParticipantsConfig, campaign_id: int, node_id: str
    ) -> ColumnElement[bool] | None:
        if config.period != "campaign":
            return None
        return limits.reached(
            campaign_id=campaign_id, node_id=node_id, period=limits.WHOLE_CAMPAIGN, limit=config.limit
        )

    def closed_reason(self, config: LimitParticipantsConfig, node_id: str) -> str:
        return f"participant limit reached at node {node_id}: no new entries"
