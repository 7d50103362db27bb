"""Check email status (§2.18): route each customer by what became of the e-mail an upstream Send email node
queued for them in this entry.

Each edge leaving the node carries ``criteria``, one of the four statuses below; a customer leaves by the edges
whose criteria equal their status at arrival, and a customer whose status no edge names drops out with
``no_matching_criteria``. The statuses are mutually exclusive and ordered, the highest that holds wins:

* ``read_clicked`` — a link in the e-mail was followed (``clicked_at``; tracking never counts the unsubscribe
  link as a click);
* ``read_no_click`` — opened (``opened_at``) and no click;
* ``delivered_not_read`` — received and neither opened nor clicked nor bounced. Received is the same moment
  the condition language calls ``received``: ``delivered_at`` when the provider reports deliveries, else, for
  e-mail, ``sent_at`` (the provider accepted it: the sandbox and SMTP report nothing later unless it bounces);
* ``undelivered`` — everything else: no message for this entry (the customer came by a branch without the
  e-mail, or was in the control group, or was not eligible), a message still queued or sending, ``failed``,
  ``undeliverable`` (its lifetime ran out), or bounced (``bounced_at``) without having been opened.

Engagement beats a bounce: a message that was opened or clicked counts as read even if a bounce was reported.

``email_node`` names the Send email node; left empty it is the nearest one upstream (fewest edges back). A
document where that is missing, ambiguous (two at the same distance) or not upstream is refused when saved.
The check is not customer-facing, so control-group customers are routed like everyone else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_

from tidings.core.account import AccountSettings
from tidings.core.contracts import Batch, Context, PaletteGroup, Routing, UpstreamReference
from tidings.core.graph import Graph
from tidings.segments.conditions_activity import message_moment
from tidings.store.journey_rows import probe
from tidings.store.tables import journey_state, messages

EmailStatus = Literal["undelivered", "delivered_not_read", "read_no_click", "read_clicked"]
#: The statuses, lowest first; each is an output port of the node, named by an edge's ``criteria``.
EMAIL_STATUSES: tuple[EmailStatus, ...] = get_args(EmailStatus)
#: How the editor labels each status (an output of the node, and the choice of criterion on an edge).
STATUS_TITLES: dict[str, str] = {
    "undelivered": "not delivered",
    "delivered_not_read": "delivered, not read",
    "read_no_click": "read, no click",
    "read_clicked": "read, clicked",
}
NO_MATCHING_CRITERIA = "no_matching_criteria"
SEND_EMAIL = "send_email"


class CheckEmailStatusConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Check email status")
    email_node: str | None = Field(
        default=None,
        title="E-mail",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Id of the Send email node upstream whose e-mail is checked; empty = the nearest one upstream.",
    )


def nearest_upstream_emails(document: Graph, node_id: str) -> list[str]:
    """The Send email nodes nearest upstream of ``node_id`` (fewest edges back), sorted; more than one means
    the default is ambiguous, none means there is no e-mail to check."""
    parents: dict[str, set[str]] = defaultdict(set)
    for edge in document.edges:
        parents[edge.target].add(edge.source)
    seen = {node_id}
    level = parents[node_id]
    while level:
        found = sorted(parent for parent in level if _type_of(document, parent) == SEND_EMAIL)
        if found:
            return found
        seen |= level
        level = {grandparent for parent in level for grandparent in parents[parent]} - seen
    return []


def _type_of(graph: Graph, node_id: str) -> str | None:
    try:
        return graph.node(node_id).type
    except KeyError:  # an edge to an unknown node, which validation reports on its own
        return None


def email_node_of(document: Graph, node_id: str, config: CheckEmailStatusConfig) -> str:
    """The Send email node whose message this node checks."""
    if config.email_node is not None:
        return config.email_node
    found = nearest_upstream_emails(document, node_id)
    if len(found) != 1:  # validation refuses such a document; never route on a guess
        raise ValueError(f"check_email_status {node_id!r}: no single nearest send_email upstream ({found})")
    return found[0]


def status_predicates(email_node: str) -> dict[EmailStatus, ColumnElement[bool]]:
    """Per status above ``undelivered``, a predicate on ``journey_state`` rows whose e-mail from ``email_node``
    in the same entry has at least that status. Applied highest first, they sort customers into the four."""
    js = journey_state

    def message(*condition: ColumnElement[bool]) -> ColumnElement[bool]:
        return probe(
            messages.c.entry_id == js.c.entry_id,
            messages.c.node_id == email_node,
            messages.c.customer_id == js.c.customer_id,
            *condition,
        )

    return {
        "read_clicked": message(messages.c.clicked_at.is_not(None)),
        "read_no_click": message(messages.c.opened_at.is_not(None)),
        "delivered_not_read": message(and_(message_moment("received").is_not(None), messages.c.bounced_at.is_(None))),
    }


class CheckEmailStatus:
    type: ClassVar[str] = "check_email_status"
    title: ClassVar[str] = "Check email status"
    group: ClassVar[PaletteGroup] = PaletteGroup.MESSAGES
    config_model = CheckEmailStatusConfig

    def ports(self, config: CheckEmailStatusConfig) -> Sequence[str]:
        return EMAIL_STATUSES

    def due_on_arrival(self, config: CheckEmailStatusConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def edge_criteria(self) -> Sequence[str]:
        return EMAIL_STATUSES

    def port_titles(self) -> Mapping[str, str]:
        return STATUS_TITLES

    def graph_problems(self, node_id: str, config: CheckEmailStatusConfig, graph: Graph) -> Sequence[tuple[str, str]]:
        if config.email_node is not None:
            return ()  # checked as an upstream reference
        nearest = nearest_upstream_emails(graph, node_id)
        if not nearest:
            return [("config.email_node", "no send_email node lies upstream; add one before this node")]
        if len(nearest) > 1:
            return [
                (
                    "config.email_node",
                    f"send_email nodes {', '.join(map(repr, nearest))} are equally near upstream; name one",
                )
            ]
        return ()

    def upstream_references(self, config: CheckEmailStatusConfig) -> Sequence[UpstreamReference]:
        if config.email_node is None:
            return ()  # the nearest one: validation checks that there is exactly one
        return (UpstreamReference("email_node", config.email_node, SEND_EMAIL),)

    def execute(self, batch: Batch, config: CheckEmailStatusConfig, ctx: Context) -> Routing:
        predicates = status_predicates(email_node_of(ctx.graph, batch.node_id, config))
        routing = Routing()
        for status in reversed(EMAIL_STATUSES):  # highest first: the first that holds is the customer's status
            where = predicates.get(status)  # undelivered: whoever is left
            if ctx.graph.targets(batch.node_id, status):
                routing.to(status, where)
            else:
                routing.drop(NO_MATCHING_CRITERIA, where)
        return routing
