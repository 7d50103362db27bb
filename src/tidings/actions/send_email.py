"""Send email: queue one message per eligible customer; the delivery pipeline renders and sends it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tidings.actions.eligibility import Audience, queue_messages
from tidings.actions.eligibility import valid_email as valid_email  # re-exported for bench.engine
from tidings.core.account import AccountSettings
from tidings.core.contracts import Batch, Context, PaletteGroup, Routing
from tidings.core.delivery import DeliveryRules, EmailContent
from tidings.model.catalog import CategoryCode
from tidings.model.templates import MAX_BODY_CHARS, TemplateText
from tidings.model.text import ONE_LINE_PATTERN, EmailAddress, HeaderText, one_line
from tidings.store.tables import customers


class UtmParameters(BaseModel):
    model_config = ConfigDict(extra="forbid", title="UTM parameters")
    source: str | None = Field(
        default=None, min_length=1, max_length=200, description="Source reported to web analytics, e.g. newsletter."
    )
    medium: str | None = Field(default=None, min_length=1, max_length=200, description="Medium reported, e.g. email.")
    campaign: str | None = Field(default=None, min_length=1, max_length=200, description="Campaign name reported.")

    def query(self) -> dict[str, str]:
        """The parameters to append to each link: ``{"utm_source": …}`` for those that are set."""
        values = {"utm_source": self.source, "utm_medium": self.medium, "utm_campaign": self.campaign}
        return {name: value for name, value in values.items() if value is not None}


class SendEmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Send email")
    subject: Annotated[TemplateText, AfterValidator(one_line)] = Field(
        min_length=1,
        max_length=998,
        json_schema_extra={"pattern": ONE_LINE_PATTERN},
        description="One line; {{ … }} inserts customer details, e.g. “Hi {{ customer.first_name }}”.",
    )
    body_html: TemplateText = Field(
        min_length=1,
        max_length=MAX_BODY_CHARS,
        title="Message (HTML)",
        description="The HTML body; {{ … }} inserts customer details.",
    )
    sender_name: HeaderText | None = Field(default=None, description="Defaults to the account's sender name.")
    sender_email: EmailAddress | None = Field(default=None, description="Defaults to the account's sender address.")
    reply_to: EmailAddress | None = Field(
        default=None, description="Where the customer's replies go; leave empty for them to go to the sender address."
    )
    category: CategoryCode | None = Field(
        default=None, description="Mailing category code; only its subscribers receive it."
    )
    utm: UtmParameters | None = Field(
        default=None,
        title="Link tracking for web analytics",
        description="Appended to every tracked link (a parameter already in a link is kept).",
    )
    track_opens: bool = Field(
        default=True,
        description="Count opens with a 1×1 image. It is left out of an e-mail that has no other image, which spam "
        "filters would read as an image-only mail.",
    )


class SendEmail:
    type: ClassVar[str] = "send_email"
    title: ClassVar[str] = "Send email"
    group: ClassVar[PaletteGroup] = PaletteGroup.MESSAGES
    config_model = SendEmailConfig

    def ports(self, config: SendEmailConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: SendEmailConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def delivery_rules(self, config: SendEmailConfig) -> DeliveryRules:
        content = EmailContent(
            subject=config.subject,
            body_html=config.body_html,
            sender_name=config.sender_name,
            sender_email=config.sender_email,
            reply_to=config.reply_to,
            utm=config.utm.query() if config.utm else None,
            category=config.category,
            track_opens=config.track_opens,
        )
        return DeliveryRules(sends=(content,), windowed=False)  # e-mail has no delivery window (D16)

    def execute(self, batch: Batch, config: SendEmailConfig, ctx: Context) -> Routing:
        audience = Audience(contact="email", channels=("email",), category=config.category)
        queued = queue_messages(
            batch,
            ctx,
            channel=audience.channel_column(ctx),
            recipient=customers.c.email,
            windowed=False,  # e-mail has no delivery window (D16)
            lifetime=None,
        )
        return audience.routing(batch, ctx).then(queued)
