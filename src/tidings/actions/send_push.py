"""Send push (spec 2.11): to every active device token of the customer; sent when one accepted it.

Performed for customers with an active push token and a push subscription (and the category's, when named);
the message waits for the delivery window in the customer's time zone unless "deliver immediately" (D16).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tidings.actions.eligibility import Audience, Lifetime, queue_messages
from tidings.core.account import AccountSettings
from tidings.core.contracts import Batch, Context, PaletteGroup, Routing
from tidings.core.delivery import DeliveryRules, PushContent
from tidings.model.templates import TemplateText
from tidings.store.tables import customers


class SendPushConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Send push")
    title: TemplateText = Field(
        min_length=1, max_length=200, description="The title; {{ … }} inserts customer details."
    )
    text: TemplateText = Field(min_length=1, max_length=2000, description="The text; {{ … }} inserts customer details.")
    link: TemplateText | None = Field(
        default=None, max_length=2000, description="External link or app deep link opened by a tap (Liquid allowed)."
    )
    image_url: str | None = Field(
        title="Picture link",
        default=None,
        max_length=2000,
        description="PNG/JPG, 2:1, ≤ 300 KB, ≤ 1000×800 px (FCM payload limits).",
    )
    category: str | None = Field(default=None, description="Mailing category code; only its subscribers receive it.")
    deliver_immediately: bool = Field(
        default=False, description="Send at once, ignoring the delivery window in the customer's local time."
    )
    lifetime: Lifetime | None = Field(
        default=None, description="How long delivery is attempted; the settings' default when omitted."
    )

    @field_validator("image_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class SendPush:
    type: ClassVar[str] = "send_push"
    title: ClassVar[str] = "Send push"
    group: ClassVar[PaletteGroup] = PaletteGroup.MESSAGES
    config_model = SendPushConfig

    def ports(self, config: SendPushConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: SendPushConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def delivery_rules(self, config: SendPushConfig) -> DeliveryRules:
        content = PushContent(title=config.title, text=config.text, link=config.link, image_url=config.image_url)
        return DeliveryRules(
            sends=(content,),
            windowed=not config.deliver_immediately,
            lifetime=config.lifetime.delta() if config.lifetime else None,
        )

    def execute(self, batch: Batch, config: SendPushConfig, ctx: Context) -> Routing:
        audience = Audience(contact="push", channels=("push",), category=config.category)
        queued = queue_messages(
            batch,
            ctx,
            channel=audience.channel_column(ctx),
            recipient=customers.c.external_id,  # the devices are looked up when the message is sent
            windowed=not config.deliver_immediately,
            lifetime=config.lifetime,
        )
        return audience.routing(batch, ctx).then(queued)
