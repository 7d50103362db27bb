"""Send notification (D6): store one in-app inbox item per customer; the app reads them through
``GET /api/v1/customers/{external_id}/notifications`` and marks them read.

Eligibility: the app channel permission (a channel never set is allowed; ``N`` drops the customer with
``unsubscribed_channel``) and, when the node names a mailing category, the customer's ``Y`` for that category on
the app channel (else ``unsubscribed_category``). No contact is needed: the item waits in the inbox. Control-group
customers are suppressed (D1): routed on and counted, nothing stored. A customer reaching the node twice in one
entry (merged branches) gets one item (D15); the later arrival drops out with ``already_sent``.

Title and text are Liquid, rendered for each customer when the item is stored, so a later profile change does not
rewrite what the customer was told. A template that fails for a customer (a filter given data it cannot take, a
limit) drops that customer with ``template_error``. The item expires ``lifetime`` after it was stored (never
without one). Output = the customers whose item was stored, and the suppressed control customers.

The helpers below (gates, lifetimes, rendering at creation time) are shared with Show PopUp and Notify manager.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, not_, or_

from tidings.core.account import AccountSettings
from tidings.core.contracts import CONTROL_GROUP, Batch, Context, PaletteGroup, Routing
from tidings.model.catalog import CategoryCode
from tidings.model.conditions import SubscriptionCondition, SubscriptionTarget
from tidings.model.durations import Duration, DurationAmount, DurationUnit
from tidings.model.templates import TemplateText
from tidings.rendering.templates import TemplateError, default_templates
from tidings.rendering.variables import MessageRef, build_contexts
from tidings.segments.compiler import ConditionCompiler
from tidings.store import journeys
from tidings.store import notifications as notification_sql
from tidings.store.journey_rows import customer_matches, has_row_here, in_control_group, left_here, once_per_entry
from tidings.store.tables import journey_state, notifications

ALREADY_SENT = "already_sent"
TEMPLATE_ERROR = "template_error"
UNSUBSCRIBED_CHANNEL = "unsubscribed_channel"
UNSUBSCRIBED_CATEGORY = "unsubscribed_category"
#: A link the app can open: a web address or a deep link (``myapp://cart``).
LINK_PATTERN = r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$"
#: Rows per multi-row INSERT of rendered items, well inside both databases' limits on bound parameters.
INSERT_ROWS = 1_000


class Lifetime(Duration):
    model_config = ConfigDict(title="Lifetime")
    amount: DurationAmount = Field(description="How many units it stays available after it is created.")
    unit: DurationUnit = Field(default="days", description="minutes, hours or days.")


class SendNotificationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Send notification")
    title: TemplateText = Field(
        min_length=1,
        max_length=200,
        description="{{ … }} inserts customer details, e.g. “{{ customer.first_name }}, a gift”.",
    )
    text: TemplateText = Field(
        min_length=1, max_length=4_000, description="The message; {{ … }} inserts customer details."
    )
    image_url: str | None = Field(
        title="Picture link",
        default=None,
        max_length=2_000,
        pattern=r"^https?://\S+$",
        description="Picture shown with it (http/https).",
    )
    link: str | None = Field(
        default=None,
        max_length=2_000,
        pattern=LINK_PATTERN,
        description="Web link or deep link the app opens on a tap, e.g. myapp://cart.",
    )
    lifetime: Lifetime | None = Field(
        default=None, description="How long it stays in the inbox after it is stored; empty = until deleted."
    )
    category: CategoryCode | None = Field(
        default=None, description="Mailing category code; only its subscribers on the app channel receive it."
    )


# -- shared by the actions that store something per customer ----------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """Customers (a predicate on ``journey_state`` that is never NULL) for whom the action is not performed: they
    drop out with ``reason``, or, if ``suppress``, go on by ``out`` as if performed (D1)."""

    reason: str
    where: ColumnElement[bool]
    suppress: bool = False


def gated(gates: Sequence[Gate]) -> tuple[Routing, ColumnElement[bool]]:
    """The routing rules of ``gates`` in order, and the predicate of the rows that pass them all (to be performed)."""
    routing = Routing()
    for gate in gates:
        if gate.suppress:
            routing.suppress("out", gate.reason, gate.where)
        else:
            routing.drop(gate.reason, gate.where)
    return routing, not_(or_(*(gate.where for gate in gates)))


def unsubscribed(compiler: ConditionCompiler, channel: Literal["app", "push"], category: str | None = None) -> Any:
    target = SubscriptionTarget(channel=channel, category=category)
    return customer_matches(compiler.compile(SubscriptionCondition(subscription=target, op="unsubscribed")))


def has_markup(*sources: str | None) -> bool:
    """Whether any source holds Liquid; one without renders to itself, the same for every customer."""
    return any(source is not None and ("{{" in source or "{%" in source) for source in sources)


@dataclass
class Rendering:
    """Texts rendered for each row to be performed, by ``journey_state`` id, and the rows whose render failed."""

    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    failed: list[int] = field(default_factory=list)

    def pieces(self) -> Iterator[list[dict[str, Any]]]:
        ordered = list(self.rows.values())
        for start in range(0, len(ordered), INSERT_ROWS):
            yield ordered[start : start + INSERT_ROWS]


def render_performed(
    batch: Batch, ctx: Context, performed: ColumnElement[bool], sources: Mapping[str, str | None]
) -> Rendering:
    """Render ``sources`` (name → Liquid, None stays None) for each row of the chunk that ``performed`` holds for.
    Each row of the result carries its ``campaign_id``, ``entry_id``, ``node_id`` and ``customer_id``."""
    rows = ctx.conn.execute(journeys.batch_rows(batch.member, performed))
    refs = [MessageRef(row.id, row.customer_id, row.campaign_id, row.entry_id) for row in rows]
    timezone = ctx.account.timezone
    contexts = build_contexts(ctx.conn, ctx.dialect, refs, timezone=timezone, now=ctx.now, unsubscribe_url=lambda _: "")
    templates = default_templates()
    rendering = Rendering()
    for ref in refs:
        context = contexts.get(ref.message_id)
        try:
            if context is None:
                raise TemplateError("the customer no longer exists")
            texts = {
                name: None if source is None else templates.render(source, context) for name, source in sources.items()
            }
        except TemplateError:
            rendering.failed.append(ref.message_id)
            continue
        origin = {"campaign_id": ref.campaign_id, "entry_id": ref.entry_id, "customer_id": ref.customer_id}
        rendering.rows[ref.message_id] = {**origin, "node_id": batch.node_id, **texts}
    return rendering


def expires_at(now: datetime, lifetime: Lifetime | None) -> datetime | None:
    return None if lifetime is None else now + lifetime.delta()


# -- the action ----------------------------------------------------------------------------------------------------


class SendNotification:
    type: ClassVar[str] = "send_notification"
    title: ClassVar[str] = "Send notification"
    group: ClassVar[PaletteGroup] = PaletteGroup.MESSAGES
    config_model = SendNotificationConfig

    def ports(self, config: SendNotificationConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: SendNotificationConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def execute(self, batch: Batch, config: SendNotificationConfig, ctx: Context) -> Routing:
        compiler = ConditionCompiler(ctx.now, ctx.account.timezone)
        gates = [Gate(UNSUBSCRIBED_CHANNEL, unsubscribed(compiler, "app"))]
        if config.category is not None:
            gates.append(Gate(UNSUBSCRIBED_CATEGORY, unsubscribed(compiler, "app", config.category)))
        already_sent = once_per_entry(
            has_row_here(notifications, batch.node_id), left_here(batch.node_id, reasons=[CONTROL_GROUP])
        )
        gates.append(Gate(ALREADY_SENT, already_sent))
        gates.append(Gate(CONTROL_GROUP, in_control_group(), suppress=True))
        routing, performed = gated(gates)

        fixed = {
            "image_url": config.image_url,
            "link": config.link,
            "category": config.category,
            "created_at": ctx.now,
            "expires_at": expires_at(ctx.now, config.lifetime),
        }
        sources = {"title": config.title, "text": config.text}
        if not has_markup(*sources.values()):
            content = {**sources, **fixed}
            insert = notification_sql.insert_performed(
                ctx.dialect, node_id=batch.node_id, rows=batch.performed(), content=content
            )
            return routing.to("out").then(insert)
        rendering = render_performed(batch, ctx, performed, sources)
        if rendering.failed:
            routing.drop(TEMPLATE_ERROR, journey_state.c.id.in_(rendering.failed))
        routing.to("out")
        for piece in rendering.pieces():
            routing.then(notification_sql.insert_rows(ctx.dialect, [{**row, **fixed} for row in piece]))
        return routing
