"""Audience actions (§2.4): add the incoming customers to a target audience, or remove them from it.

Output = all input customers (adding an existing member still counts as performed). An audience may be named
inline; it is created the first time the node runs. "Send to loyalty program" records one pending request per
customer for the loyalty adapter. Control-group customers are included unless "ignore control group" is set
(D1); ignored ones still continue, traced and counted as suppressed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from tidings.core.account import AccountSettings
from tidings.core.contracts import CONTROL_GROUP, Batch, Context, PaletteGroup, Routing
from tidings.model.catalog import catalog_of
from tidings.model.conditions import MAX_ID
from tidings.store import audience_effects
from tidings.store.journey_rows import in_control_group

AUDIENCE_MISSING = "audience_missing"


class AudienceActionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Audience action")
    operation: Literal["add", "remove"] = Field(
        default="add", description="Add the incoming customers to the audience, or remove them from it."
    )
    audience: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="An existing audience. Choose one, or name a new one below."
    )
    create_audience: str | None = Field(
        default=None,
        validate_default=True,
        min_length=1,
        max_length=200,
        description="Name of an audience to use, created the first time the node runs if none has that name. "
        "Give this or choose an existing audience above.",
    )
    send_to_loyalty: bool = Field(
        default=False, description="Also ask the loyalty program to apply the change (one request per customer)."
    )
    ignore_control_group: bool = Field(
        default=False, description="Leave control-group customers out of the change; they still continue."
    )

    @field_validator("audience")
    @classmethod
    def _audience_exists(cls, value: int | None, info: ValidationInfo) -> int | None:
        catalog = catalog_of(info)
        if value is not None and catalog is not None and value not in catalog.audiences:
            raise ValueError(f"audience {value} does not exist; pick an existing one or use `create_audience`")
        return value

    @field_validator("create_audience")
    @classmethod
    def _exactly_one_target(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "audience" not in info.data:  # `audience` itself was refused; that error says enough
            return value
        if (info.data["audience"] is None) == (value is None):
            raise ValueError("give exactly one of `audience` (an existing audience id) or `create_audience` (a name)")
        return value


class AudienceAction:
    type: ClassVar[str] = "audience_action"
    title: ClassVar[str] = "Audience action"
    group: ClassVar[PaletteGroup] = PaletteGroup.CUSTOMERS
    config_model = AudienceActionConfig

    def ports(self, config: AudienceActionConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: AudienceActionConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def execute(self, batch: Batch, config: AudienceActionConfig, ctx: Context) -> Routing:
        audience = _resolve(config, ctx)
        if audience is None:  # deleted after the campaign was saved: say so rather than fail the chunk
            return Routing().drop(AUDIENCE_MISSING)
        audience_id, name = audience
        routing = Routing()
        if config.ignore_control_group:
            routing.suppress("out", CONTROL_GROUP, in_control_group())
        routing.to("out")
        changed = batch.performed()
        if config.operation == "add":
            routing.then(audience_effects.add_members(ctx.dialect, audience_id=audience_id, rows=changed, now=ctx.now))
        else:
            routing.then(audience_effects.remove_members(audience_id=audience_id, rows=changed))
        if config.send_to_loyalty:
            payload = {"operation": config.operation, "audience_id": audience_id, "audience": name}
            routing.then(
                audience_effects.request_loyalty(
                    ctx.dialect, node_id=batch.node_id, rows=changed, payload=payload, now=ctx.now
                )
            )
        return routing


def _resolve(config: AudienceActionConfig, ctx: Context) -> tuple[int, str] | None:
    """The target audience (id, name); an inline one is created if missing."""
    if config.create_audience is not None:
        ctx.conn.execute(audience_effects.create_audience(ctx.dialect, name=config.create_audience, now=ctx.now))
        found = ctx.conn.execute(audience_effects.audience_by_name(config.create_audience)).one_or_none()
    else:
        assert config.audience is not None
        found = ctx.conn.execute(audience_effects.audience_by_id(config.audience)).one_or_none()
    return None if found is None else (int(found.id), str(found.name))
