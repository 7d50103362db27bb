"""Send email: queue one message per eligible customer; the delivery pipeline renders and sends it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, exists, literal, not_, or_, select

from tidings.engine.contracts import (
    CONTROL_GROUP,
    AccountSettings,
    Batch,
    Context,
    Routing,
    customer_matches,
    in_control_group,
)
from tidings.model.catalog import CategoryCode
from tidings.model.conditions import SubscriptionCondition, SubscriptionTarget
from tidings.model.templates import TemplateText
from tidings.segments.compiler import ConditionCompiler
from tidings.store.tables import customers, journey_state, journey_trace, messages


class UtmParameters(BaseModel):
    model_config = ConfigDict(extra="forbid", title="UTM parameters")
    source: str | None = Field(
        default=None, min_length=1, max_length=200, description="`utm_source`, e.g. `newsletter`."
    )
    medium: str | None = Field(default=None, min_length=1, max_length=200, description="`utm_medium`, e.g. `email`.")
    campaign: str | None = Field(default=None, min_length=1, max_length=200, description="`utm_campaign`.")

    def query(self) -> dict[str, str]:
        """The parameters to append to each link: ``{"utm_source": …}`` for those that are set."""
        values = {"utm_source": self.source, "utm_medium": self.medium, "utm_campaign": self.campaign}
        return {name: value for name, value in values.items() if value is not None}


class SendEmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Send email")
    subject: TemplateText = Field(
        min_length=1, max_length=998, description="Liquid template, e.g. `Hi {{ customer.first_name }}`."
    )
    body_html: TemplateText = Field(min_length=1, description="Liquid template of the HTML body.")
    sender_name: str | None = Field(default=None, description="Defaults to the account's sender name.")
    sender_email: str | None = Field(default=None, description="Defaults to the account's sender address.")
    reply_to: str | None = None
    category: CategoryCode | None = Field(
        default=None, description="Mailing category code; only its subscribers receive it."
    )
    utm: UtmParameters | None = Field(
        default=None, description="Appended to every tracked link (a parameter already in a link is kept)."
    )


def valid_email(column: ColumnElement[str | None]) -> ColumnElement[bool]:
    """A cheap syntactic check that runs the same on both databases: something@something.tld, no spaces."""
    return column.like("%_@_%._%") & not_(column.like("% %")) & not_(column.like("%@%@%"))


class SendEmail:
    type: ClassVar[str] = "send_email"
    title: ClassVar[str] = "Send email"
    group: ClassVar[str] = "messages"
    config_model = SendEmailConfig

    def ports(self, config: SendEmailConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: SendEmailConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def execute(self, batch: Batch, config: SendEmailConfig, ctx: Context) -> Routing:
        compiler = ConditionCompiler(ctx.now, ctx.account.timezone)
        email = customers.c.email
        routing = (
            Routing()
            .drop("no_contact", customer_matches(or_(email.is_(None), email == "")))
            .drop("invalid_contact", customer_matches(not_(valid_email(email))))
            .drop(
                "unsubscribed_channel",
                customer_matches(compiler.compile(_unsubscribed(SubscriptionTarget(channel="email")))),
            )
        )
        if config.category is not None:
            category = SubscriptionTarget(channel="email", category=config.category)
            routing.drop("unsubscribed_category", customer_matches(compiler.compile(_unsubscribed(category))))
        routing.drop("already_sent", _already_sent())  # merged branches: one e-mail per entry (D15)
        routing.suppress("out", CONTROL_GROUP, in_control_group())  # D1: eligible, routed on, nothing sent
        routing.to("out")
        queued = (
            select(
                journey_state.c.campaign_id,
                journey_state.c.version,
                journey_state.c.entry_id,
                journey_state.c.node_id,
                journey_state.c.customer_id,
                literal("email"),
                customers.c.email,
                literal("queued"),
                literal(ctx.now, messages.c.send_after.type),
                literal(ctx.now, messages.c.created_at.type),
            )
            .join_from(journey_state, customers, customers.c.id == journey_state.c.customer_id)
            .where(batch.member(), journey_state.c.outcome == "port:out")
        )
        insert = ctx.dialect.insert_ignoring_conflicts(messages, ["entry_id", "node_id", "customer_id"])
        columns = [
            "campaign_id",
            "version",
            "entry_id",
            "node_id",
            "customer_id",
            "channel",
            "recipient",
            "status",
            "send_after",
            "created_at",
        ]
        return routing.then(insert.from_select(columns, queued))


def _already_sent() -> ColumnElement[bool]:
    """This entry's customer already has this node's message (or, in the control group, had it suppressed here),
    or arrives twice in this chunk (the earlier arrival is sent). Only the arrival that queued the message is
    performed and reaches the children."""
    js, twin = journey_state, journey_state.alias("twin")
    queued_before = exists().where(
        messages.c.entry_id == js.c.entry_id,
        messages.c.node_id == js.c.node_id,
        messages.c.customer_id == js.c.customer_id,
    )
    suppressed_before = exists().where(
        journey_trace.c.customer_id == js.c.customer_id,
        journey_trace.c.entry_id == js.c.entry_id,
        journey_trace.c.node_id == js.c.node_id,
        journey_trace.c.reason == CONTROL_GROUP,
    )
    earlier_twin = exists().where(
        twin.c.claim_id == js.c.claim_id,
        twin.c.entry_id == js.c.entry_id,
        twin.c.customer_id == js.c.customer_id,
        twin.c.id < js.c.id,
    )
    return or_(queued_before, suppressed_before, earlier_twin)


def _unsubscribed(target: SubscriptionTarget) -> SubscriptionCondition:
    return SubscriptionCondition(subscription=target, op="unsubscribed")
