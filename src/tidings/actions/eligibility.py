"""What every message action shares: who may be sent to (spec 1.3), and queueing the message rows.

A customer is sent to only if all hold, checked in this order, each failure a drop with its own reason:

* the contact is present (``no_contact``) — e-mail, phone, or a push token;
* the contact is valid (``invalid_contact``) — e-mail syntax, an E.164 phone, an active push token;
* an e-mail address is not suppressed (``suppressed_address``) — it bounced hard or complained
  (``delivery.feedback``);
* the customer is subscribed to the channel (``unsubscribed_channel``);
* if the action names a mailing category, to that category on the channel (``unsubscribed_category``);
* the node has not already queued this entry's message (``already_sent``, D15: merged branches send once).

A control-group customer who passes them all is routed on as if sent, and nothing is queued (D1). An action
that may use either of two channels (Viber → SMS) is performed when the customer may be reached on one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from pydantic import ConfigDict, Field
from sqlalchemy import ColumnElement, Executable, and_, case, exists, func, literal, not_, or_

from tidings.core.contracts import CONTROL_GROUP, Batch, Context, Routing
from tidings.core.delivery import Channel
from tidings.core.windows import Window, openings_by_zone
from tidings.model.conditions import SubscriptionCondition, SubscriptionTarget
from tidings.model.durations import Duration, DurationAmount, DurationUnit
from tidings.segments.compiler import ConditionCompiler
from tidings.store import messages as message_sql
from tidings.store.journey_rows import customer_matches, has_row_here, in_control_group, left_here, once_per_entry
from tidings.store.suppressions import is_suppressed
from tidings.store.tables import customers, messages, push_tokens
from tidings.store.types import Timestamp

Contact = Literal["email", "phone", "push"]


class Lifetime(Duration):
    model_config = ConfigDict(title="Message lifetime")
    amount: DurationAmount = Field(description="How long delivery is attempted.")
    unit: DurationUnit = Field(description="Whether the lifetime is counted in minutes, hours or days.")


# -- contacts ---------------------------------------------------------------------------------------------------
def valid_email(column: ColumnElement[str | None]) -> ColumnElement[bool]:
    """A cheap syntactic check that runs the same on both databases: something@something.tld, no spaces."""
    return column.like("%_@_%._%") & not_(column.like("% %")) & not_(column.like("%@%@%"))


def valid_phone(column: ColumnElement[str | None]) -> ColumnElement[bool]:
    """E.164, ``^\\+[1-9][0-9]{6,14}$``, in portable SQL: a plus, a non-zero digit, 7 to 15 digits in all."""
    digits: ColumnElement[Any] = func.substr(column, 2)
    for digit in "0123456789":
        digits = func.replace(digits, digit, "")
    return and_(
        column.like("+%"),
        func.length(column).between(8, 16),
        func.substr(column, 2, 1).between("1", "9"),
        digits == "",
    )


def _has_token(*, active: bool) -> ColumnElement[bool]:
    condition = [push_tokens.c.customer_id == customers.c.id]
    if active:
        condition.append(push_tokens.c.active.is_(True))
    return exists().where(*condition)


def _contact_rules(contact: Contact) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(missing, invalid) as predicates on ``customers``."""
    if contact == "push":
        return not_(_has_token(active=False)), not_(_has_token(active=True))
    column = customers.c.email if contact == "email" else customers.c.phone
    valid = valid_email(column) if contact == "email" else valid_phone(column)
    return or_(column.is_(None), column == ""), not_(valid)


# -- subscriptions ----------------------------------------------------------------------------------------------
def _subscribed(compiler: ConditionCompiler, channel: str, category: str | None = None) -> ColumnElement[bool]:
    target = SubscriptionTarget(channel=channel, category=category)
    return compiler.compile(SubscriptionCondition(subscription=target, op="subscribed"))


@dataclass(frozen=True)
class Audience:
    """Who a message action may reach: the contact it needs and the channels it may use, in preference order."""

    contact: Contact
    channels: Sequence[Channel]
    category: str | None

    def reachable(self, compiler: ConditionCompiler, channel: str) -> ColumnElement[bool]:
        """Subscribed to ``channel`` (and to the category on it, when the action names one)."""
        subscribed = _subscribed(compiler, channel)
        if self.category is None:
            return subscribed
        return and_(subscribed, _subscribed(compiler, channel, self.category))

    def routing(self, batch: Batch, ctx: Context) -> Routing:
        """The drop rules of spec 1.3, ``already_sent`` (D15), control-group suppression (D1), then ``out``."""
        compiler = ConditionCompiler(ctx.now, ctx.account.timezone)
        missing, invalid = _contact_rules(self.contact)
        routing = (
            Routing().drop("no_contact", customer_matches(missing)).drop("invalid_contact", customer_matches(invalid))
        )
        if self.contact == "email":
            routing.drop("suppressed_address", customer_matches(is_suppressed(customers.c.email)))
        routing.drop(
            "unsubscribed_channel",
            customer_matches(and_(*(not_(_subscribed(compiler, channel)) for channel in self.channels))),
        )
        if self.category is not None:
            unreachable = and_(*(not_(self.reachable(compiler, channel)) for channel in self.channels))
            routing.drop("unsubscribed_category", customer_matches(unreachable))
        routing.drop(
            "already_sent",
            once_per_entry(has_row_here(messages, batch.node_id), left_here(batch.node_id, reasons=[CONTROL_GROUP])),
        )
        routing.suppress("out", CONTROL_GROUP, in_control_group())
        return routing.to("out")

    def reaches(self, ctx: Context, channel: str) -> ColumnElement[bool]:
        """A predicate on ``customers``: the customer may be sent to on ``channel`` (subscriptions only)."""
        return self.reachable(ConditionCompiler(ctx.now, ctx.account.timezone), channel)

    def channel_column(self, ctx: Context) -> ColumnElement[Any]:
        """The channel each customer is sent on: the first of ``channels`` that reaches them."""
        *preferred, last = self.channels
        if not preferred:
            return literal(last)
        compiler = ConditionCompiler(ctx.now, ctx.account.timezone)
        whens = [(self.reachable(compiler, channel), literal(channel)) for channel in preferred]
        return case(*whens, else_=literal(last))


# -- queueing ---------------------------------------------------------------------------------------------------
def queue_messages(
    batch: Batch,
    ctx: Context,
    *,
    channel: ColumnElement[Any],
    recipient: ColumnElement[Any],
    windowed: bool,
    lifetime: Lifetime | None,
    payload: ColumnElement[Any] | None = None,
) -> Executable:
    """The effect that queues one message per customer performed (``out``). A ``windowed`` message waits for the
    delivery window in the customer's time zone (D16): the batch's distinct time zones are read once and each
    customer's opening is one ``CASE``. With a ``lifetime`` the message expires that long after it may first be
    sent; without one the pipeline applies the default lifetime from its first attempt."""
    now = ctx.now
    delta = lifetime.delta() if lifetime is not None else None
    send_after: ColumnElement[Any] = literal(now, Timestamp())
    expires_at: ColumnElement[Any] = literal(now + delta if delta else None, Timestamp())
    if windowed:
        zones = list(ctx.conn.execute(message_sql.zones_of_batch(batch.member)).scalars())
        window = Window.of(ctx.account)
        send_after = openings_by_zone(customers.c.timezone, Timestamp(), zones, window, ctx.account, now, timedelta())
        if delta is not None:
            expires_at = openings_by_zone(customers.c.timezone, Timestamp(), zones, window, ctx.account, now, delta)
    return message_sql.queue_from_batch(
        ctx.dialect,
        batch.performed(),
        node_id=batch.node_id,
        channel=channel,
        recipient=recipient,
        send_after=send_after,
        expires_at=expires_at,
        payload=payload,
        now=now,
    )
