"""Notify manager (D8): e-mail a user about each customer reaching the node, e.g. a VIP's lost cart to the
customer's manager. Output = all input customers.

The recipient is the chosen ``user``, or, left empty (*automatic*), the customer's responsible manager
(``customers.manager_id``, any role), else an active user marked as a manager, picked round-robin by customer id (the
managers in id order, the customer id modulo their number: the same customer always reaches the same manager,
and customers spread evenly). One e-mail message row per (entry, node, customer) is queued like Send email's, its
recipient the manager's address; the delivery pipeline renders ``subject`` and ``body_html`` with the customer's
variables and sends it.

The note is internal, so it is not subject to the customer's consent. Control-group customers (D1) are left out
by default — a note usually leads a manager to contact the customer, which would spoil the comparison; tick
``include_control_group`` when it does not. Customers left out, and those for whom no recipient exists (the chosen
user is gone, or automatic finds no manager at all), still go on by ``out``, counted as suppressed with
``control_group`` or ``no_manager``. A customer reaching the node twice in one entry is reported once (D15).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, func, literal

from tidings.actions.send_notification import ALREADY_SENT, Gate, gated
from tidings.core.account import AccountSettings
from tidings.core.contracts import CONTROL_GROUP, Batch, Context, PaletteGroup, Routing
from tidings.core.delivery import DeliveryRules, EmailContent
from tidings.model.templates import MAX_BODY_CHARS, TemplateText
from tidings.model.text import ONE_LINE_PATTERN, EmailAddress, HeaderText, one_line
from tidings.store import messages as message_sql
from tidings.store import users as user_sql
from tidings.store.journey_rows import has_row_here, in_control_group, left_here, once_per_entry
from tidings.store.tables import messages
from tidings.store.types import Timestamp

NO_MANAGER = "no_manager"


class NotifyManagerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Notify manager")
    subject: Annotated[TemplateText, AfterValidator(one_line)] = Field(
        min_length=1,
        max_length=998,
        json_schema_extra={"pattern": ONE_LINE_PATTERN},
        description="One line; {{ … }} inserts customer details, e.g. “Call {{ customer.full_name }}”.",
    )
    body_html: TemplateText = Field(
        min_length=1,
        max_length=MAX_BODY_CHARS,
        title="Message (HTML)",
        description="The HTML body; {{ … }} inserts customer details.",
    )
    user: int | None = Field(
        default=None,
        ge=1,
        le=2**63 - 1,
        description="Id of the user to notify; empty = the customer's responsible manager, else a manager round-robin.",
    )
    include_control_group: bool = Field(
        default=False, description="Also report control-group customers (only if the note never reaches them)."
    )
    sender_name: HeaderText | None = Field(default=None, description="Defaults to the account's sender name.")
    sender_email: EmailAddress | None = Field(default=None, description="Defaults to the account's sender address.")
    reply_to: EmailAddress | None = Field(default=None, description="Where the manager's replies go.")


def recipient(config: NotifyManagerConfig) -> ColumnElement[Any]:
    """The address each ``journey_state`` row's note goes to, or NULL when there is none."""
    if config.user is not None:
        return user_sql.email_of(config.user)
    return func.coalesce(user_sql.responsible_manager_email(), user_sql.round_robin_manager_email())


class NotifyManager:
    type: ClassVar[str] = "notify_manager"
    title: ClassVar[str] = "Notify manager"
    group: ClassVar[PaletteGroup] = PaletteGroup.MESSAGES
    config_model = NotifyManagerConfig

    def ports(self, config: NotifyManagerConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: NotifyManagerConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def delivery_rules(self, config: NotifyManagerConfig) -> DeliveryRules:
        """An internal note: delivered without tracking (its opens and clicks are the manager's, not the customer's,
        and must not count as the customer's engagement or credit orders) and without unsubscribe headers (the
        customer's consent is not the manager's to withdraw); like any e-mail, outside the delivery window."""
        content = EmailContent(
            subject=config.subject,
            body_html=config.body_html,
            sender_name=config.sender_name,
            sender_email=config.sender_email,
            reply_to=config.reply_to,
        )
        return DeliveryRules(sends=(content,), windowed=False, internal=True)

    def execute(self, batch: Batch, config: NotifyManagerConfig, ctx: Context) -> Routing:
        address = recipient(config)
        already_sent = once_per_entry(
            has_row_here(messages, batch.node_id), left_here(batch.node_id, reasons=[CONTROL_GROUP, NO_MANAGER])
        )
        gates = [Gate(ALREADY_SENT, already_sent)]
        if not config.include_control_group:
            gates.append(Gate(CONTROL_GROUP, in_control_group(), suppress=True))
        gates.append(Gate(NO_MANAGER, address.is_(None), suppress=True))
        routing, _ = gated(gates)
        queue = message_sql.queue_from_batch(
            ctx.dialect,
            batch.performed(),
            node_id=batch.node_id,
            channel=literal("email"),
            recipient=address,
            send_after=literal(ctx.now, Timestamp()),
            expires_at=None,
            payload=None,
            now=ctx.now,
            reads_customers=False,  # the recipient is a user, read from the journey row
        )
        return routing.to("out").then(queue)
