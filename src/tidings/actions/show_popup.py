"""Show PopUp (D7): create one pending popup per customer, active from now for its lifetime; the app asks for it
at an app action (``POST /api/v1/popups/query``) and confirms it once shown (``POST /api/v1/popups/confirm``).

Only customers who allow the app or the push channel get one (a channel never set is allowed); customers who
refused both drop out with ``unsubscribed_channel``. Control-group customers are suppressed (D1): routed on and
counted, no popup. A customer reaching the node twice in one entry gets one popup (D15); the later arrival drops
out with ``already_sent``.

Title, subtitle, text and promo code are Liquid, rendered for each customer when the popup is created; a template
that fails for a customer drops them with ``template_error``. Output = the customers whose popup was created, and
the suppressed control customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_

from tidings.actions.send_notification import (
    ALREADY_SENT,
    LINK_PATTERN,
    TEMPLATE_ERROR,
    UNSUBSCRIBED_CHANNEL,
    Gate,
    Lifetime,
    gated,
    has_markup,
    render_performed,
    unsubscribed,
)
from tidings.core.account import AccountSettings
from tidings.core.contracts import CONTROL_GROUP, Batch, Context, PaletteGroup, Routing
from tidings.model.templates import TemplateText
from tidings.segments.compiler import ConditionCompiler
from tidings.store import popups as popup_sql
from tidings.store.journey_rows import has_row_here, in_control_group, left_here, once_per_entry
from tidings.store.tables import journey_state, popups

COLOUR = r"^#[0-9A-Fa-f]{6}$"
#: The Liquid fields of a popup, rendered per customer.
TEMPLATED = ("title", "subtitle", "text", "promo_code")


class PopupButton(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Button")
    label: str = Field(min_length=1, max_length=60, description="What the button says, e.g. “Get it”.")
    link: str = Field(max_length=2_000, pattern=LINK_PATTERN, description="Web link or deep link the button opens.")


class ShowPopupConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Show PopUp")
    action: str = Field(
        default=popup_sql.ANY_ACTION,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="The app action it is shown at, as the app names it (e.g. “open app” or “view cart”); "
        "“any”: the first action the app asks about.",
    )
    title: TemplateText = Field(
        min_length=1, max_length=200, description="The heading; {{ … }} inserts customer details."
    )
    subtitle: TemplateText | None = Field(default=None, max_length=200, description="{{ … }} inserts customer details.")
    text: TemplateText | None = Field(
        default=None, max_length=4_000, description="The body; {{ … }} inserts customer details."
    )
    image_url: str | None = Field(
        title="Picture link",
        default=None,
        max_length=2_000,
        pattern=r"^https?://\S+$",
        description="Picture shown in it (http/https).",
    )
    button: PopupButton | None = Field(default=None, description="A button with its label and link.")
    promo_code: TemplateText | None = Field(
        default=None, max_length=200, description="Code shown to the customer; Liquid, e.g. a personal code field."
    )
    main_color: str | None = Field(
        default=None, pattern=COLOUR, description="Main colour, e.g. #1F6FEB; the app's own if empty."
    )
    second_color: str | None = Field(
        default=None, pattern=COLOUR, description="Second colour, e.g. #FFFFFF; the app's own if empty."
    )
    lifetime: Lifetime = Field(
        default_factory=lambda: Lifetime(amount=1, unit="days"),
        description="How long it may be shown after the node created it.",
    )
    priority: int = Field(
        default=0, ge=-1_000, le=1_000, description="When several are pending for an action, the highest is shown."
    )

    def content(self, texts: dict[str, Any]) -> dict[str, Any]:
        """What the app receives, with the rendered ``texts``; empty parts are left out."""
        content: dict[str, Any] = {name: texts[name] for name in TEMPLATED if texts[name] is not None}
        if self.image_url is not None:
            content["image_url"] = self.image_url
        if self.button is not None:
            content["button"] = {"label": self.button.label, "link": self.button.link}
        style = {"main_color": self.main_color, "second_color": self.second_color}
        if any(value is not None for value in style.values()):
            content["style"] = {name: value for name, value in style.items() if value is not None}
        return content


class ShowPopup:
    type: ClassVar[str] = "show_popup"
    title: ClassVar[str] = "Show PopUp"
    group: ClassVar[PaletteGroup] = PaletteGroup.MESSAGES
    config_model = ShowPopupConfig

    def ports(self, config: ShowPopupConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: ShowPopupConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def execute(self, batch: Batch, config: ShowPopupConfig, ctx: Context) -> Routing:
        compiler = ConditionCompiler(ctx.now, ctx.account.timezone)
        routing, performed = gated(
            [
                Gate(UNSUBSCRIBED_CHANNEL, and_(unsubscribed(compiler, "app"), unsubscribed(compiler, "push"))),
                Gate(
                    ALREADY_SENT,
                    once_per_entry(
                        has_row_here(popups, batch.node_id), left_here(batch.node_id, reasons=[CONTROL_GROUP])
                    ),
                ),
                Gate(CONTROL_GROUP, in_control_group(), suppress=True),
            ]
        )
        fixed = {
            "app_action": config.action,
            "priority": config.priority,
            "created_at": ctx.now,
            "expires_at": ctx.now + config.lifetime.delta(),
        }
        sources = {name: getattr(config, name) for name in TEMPLATED}
        if not has_markup(*sources.values()):
            insert = popup_sql.insert_performed(
                ctx.dialect,
                node_id=batch.node_id,
                rows=batch.performed(),
                content={**fixed, "content": config.content(sources)},
            )
            return routing.to("out").then(insert)
        rendering = render_performed(batch, ctx, performed, sources)
        if rendering.failed:
            routing.drop(TEMPLATE_ERROR, journey_state.c.id.in_(rendering.failed))
        routing.to("out")
        for piece in rendering.pieces():
            rows = [
                {
                    **{name: row[name] for name in ("campaign_id", "entry_id", "node_id", "customer_id")},
                    **fixed,
                    "content": config.content(row),
                }
                for row in piece
            ]
            routing.then(popup_sql.insert_rows(ctx.dialect, rows))
        return routing
