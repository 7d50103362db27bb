"""Send SMS (spec 2.10), by SMS, Viber, or Viber falling back to SMS.

Performed for the customers it may reach (``actions.eligibility``): a valid E.164 phone and a subscription to
the channel — for the cascade, to Viber or SMS (sent by Viber when the customer may get Viber, else straight
by SMS). The message waits for the account's delivery window in the customer's time zone unless "deliver
immediately" (D16); the customer moves on at once (D14: performed = queued).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import case, literal, null

from tidings.actions.eligibility import Audience, Lifetime, queue_messages
from tidings.core.account import AccountSettings
from tidings.core.contracts import Batch, Context, PaletteGroup, Routing
from tidings.core.delivery import Channel, Content, DeliveryRules, SmsContent, ViberContent
from tidings.model.templates import TemplateText
from tidings.store.messages import CASCADE
from tidings.store.tables import customers
from tidings.store.types import Json

Mode = Literal["sms", "viber", "viber_sms"]
CHANNELS: dict[Mode, tuple[Channel, ...]] = {
    "sms": ("sms",),
    "viber": ("viber",),
    "viber_sms": ("viber", "sms"),
}


class SendSmsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Send SMS")
    mode: Mode = Field(
        default="sms",
        json_schema_extra={"x-choice-titles": {"sms": "SMS", "viber": "Viber", "viber_sms": "Viber, else SMS"}},
        description="SMS, Viber, or Viber with SMS when Viber cannot deliver.",
    )
    text: TemplateText = Field(
        min_length=1, max_length=2000, description="The message text; {{ … }} inserts customer details."
    )
    sender: str | None = Field(
        default=None, min_length=1, max_length=64, description="Registered sender name; defaults to the settings'."
    )
    category: str | None = Field(default=None, description="Mailing category code; only its subscribers receive it.")
    deliver_immediately: bool = Field(
        default=False, description="Send at once, ignoring the delivery window in the customer's local time."
    )
    lifetime: Lifetime | None = Field(
        default=None, description="How long delivery is attempted; the settings' default when omitted."
    )
    viber_image_url: str | None = Field(
        title="Viber picture link",
        default=None,
        max_length=2000,
        description="Viber only: an image (PNG/JPG, 2:1, ≤ 300 KB recommended).",
    )
    viber_button_text: TemplateText | None = Field(
        default=None, min_length=1, max_length=30, description="Viber only (Liquid)."
    )
    viber_button_url: str | None = Field(
        default=None, title="Viber button link", max_length=2000, description="Viber only: the button's link."
    )

    @model_validator(mode="after")
    def _viber_fields(self) -> SendSmsConfig:
        viber_fields = ("viber_image_url", "viber_button_text", "viber_button_url")
        if self.mode == "sms":
            for name in viber_fields:
                if getattr(self, name) is not None:
                    raise ValueError(f"{name}: only for mode `viber` or `viber_sms`, not `sms`")
        if (self.viber_button_text is None) != (self.viber_button_url is None):
            raise ValueError("viber_button_text and viber_button_url go together: give both or neither")
        for name in ("viber_image_url", "viber_button_url"):
            value = getattr(self, name)
            if value is not None and not value.startswith(("https://", "http://")):
                raise ValueError(f"{name}: {value!r} is not an http(s) URL")
        return self


class SendSms:
    type: ClassVar[str] = "send_sms"
    title: ClassVar[str] = "Send SMS"
    group: ClassVar[PaletteGroup] = PaletteGroup.MESSAGES
    config_model = SendSmsConfig

    def ports(self, config: SendSmsConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: SendSmsConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def delivery_rules(self, config: SendSmsConfig) -> DeliveryRules:
        contents: dict[Channel, Content] = {
            "sms": SmsContent(text=config.text, sender=config.sender),
            "viber": ViberContent(
                text=config.text,
                sender=config.sender,
                image_url=config.viber_image_url,
                button_text=config.viber_button_text,
                button_url=config.viber_button_url,
            ),
        }
        return DeliveryRules(
            sends=tuple(contents[channel] for channel in CHANNELS[config.mode]),
            windowed=not config.deliver_immediately,
            lifetime=config.lifetime.delta() if config.lifetime else None,
        )

    def execute(self, batch: Batch, config: SendSmsConfig, ctx: Context) -> Routing:
        audience = Audience(contact="phone", channels=CHANNELS[config.mode], category=config.category)
        payload = None
        if config.mode == CASCADE:  # a Viber message falls back to SMS only for customers who may get SMS
            payload = case((audience.reaches(ctx, "sms"), literal({"mode": CASCADE}, Json)), else_=null())
        queued = queue_messages(
            batch,
            ctx,
            channel=audience.channel_column(ctx),
            recipient=customers.c.phone,
            windowed=not config.deliver_immediately,
            lifetime=config.lifetime,
            payload=payload,
        )
        return audience.routing(batch, ctx).then(queued)
