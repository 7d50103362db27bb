"""Order attribution (spec 5.8) and the statements of the campaign report (spec 3.6).

**Attribution, last touch.** An order or receipt is credited to the most recent message its customer
*received* within the attribution window of the message's campaign before the order was placed:

* received = an e-mail or push message opened (``opened_at``), an SMS or Viber message delivered
  (``delivered_at``); other messages never credit an order;
* window = ``settings.attribution_days`` of the campaign's current document (default 10; 0 turns attribution
  off for that campaign): ``placed_at - days ≤ received ≤ placed_at``, both ends inclusive;
* the latest received message wins; a tie in time goes to the newer message (higher id);
* cancelled and returned orders are credited to nothing.

One ``attributions`` row per credited order holds the message, its campaign, node and entry, the order's total
as ``revenue``, and ``attributed_at`` = the moment the credited message was received (the touch), so that
attributing the same data again gives the same rows. ``reattribute`` recomputes the credit of a set of orders
in two statements (delete, then ``INSERT … SELECT`` with a window function), on both databases.

When it runs: for every batch of orders stored through the API or the bulk import (``attribute_stored``), and
for the orders of an A/B test's customers right before the test is decided on orders. An open or delivery
reported after the order was stored is taken into account the next time that order is attributed (re-posting
it, or a decision that counts it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Delete,
    Insert,
    Select,
    Subquery,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    select,
    true,
)

from tidings.store.catalog_data import chunks
from tidings.store.orders import Resolved, order_ids
from tidings.store.tables import (
    attributions,
    campaign_versions,
    campaigns,
    entries,
    journey_trace,
    messages,
    orders,
)

DAY_MICROS = 86_400_000_000
#: ``CampaignSettings.attribution_days``' default (checked by a test): a document without the setting uses it.
DEFAULT_ATTRIBUTION_DAYS = 10
OPENED_CHANNELS = ("email", "push")
DELIVERED_CHANNELS = ("sms", "viber")
#: Orders in these statuses are no purchase: they are never credited and never count in a report.
NOT_PURCHASES = ("cancelled", "returned")


def received_at() -> ColumnElement[Any]:
    """When the message counts as received by its customer (null while it does not)."""
    return case(
        (messages.c.channel.in_(OPENED_CHANNELS), messages.c.opened_at),
        (messages.c.channel.in_(DELIVERED_CHANNELS), messages.c.delivered_at),
        else_=None,
    )


def attribution_days(document: ColumnElement[Any]) -> ColumnElement[int]:
    days = document[("settings", "attribution_days")].as_integer()
    return func.coalesce(days, DEFAULT_ATTRIBUTION_DAYS)


def windows() -> Subquery:
    """(campaign_id, days): each campaign's attribution window, from its current document."""
    current = and_(
        campaign_versions.c.campaign_id == campaigns.c.id, campaign_versions.c.version == campaigns.c.current_version
    )
    return (
        select(campaigns.c.id.label("campaign_id"), attribution_days(campaign_versions.c.document).label("days"))
        .join_from(campaigns, campaign_versions, current)
        .subquery("windows")
    )


def is_purchase() -> ColumnElement[bool]:
    return orders.c.status.not_in(NOT_PURCHASES)


def delete_attributions(where: ColumnElement[bool]) -> Delete:
    """Forget the credit of the orders matching ``where`` (a predicate on ``orders``)."""
    return delete(attributions).where(attributions.c.order_id.in_(select(orders.c.id).where(where)))


def insert_attributions(where: ColumnElement[bool]) -> Insert:
    """Credit each order matching ``where`` (a predicate on ``orders``) to its last touch, if it has one."""
    received = received_at()
    window = windows()
    candidates = (
        select(
            orders.c.id.label("order_id"),
            messages.c.id.label("message_id"),
            messages.c.campaign_id,
            messages.c.node_id,
            messages.c.entry_id,
            messages.c.customer_id,
            orders.c.total.label("revenue"),
            received.label("received"),
            func.row_number()
            .over(partition_by=orders.c.id, order_by=(received.desc(), messages.c.id.desc()))
            .label("touch"),
        )
        .join_from(orders, messages, messages.c.customer_id == orders.c.customer_id)
        .join(window, window.c.campaign_id == messages.c.campaign_id)
        .where(
            where,
            is_purchase(),
            window.c.days > 0,
            received <= orders.c.placed_at,
            received >= orders.c.placed_at - cast(window.c.days, BigInteger) * literal(DAY_MICROS, BigInteger),
        )
        .subquery("candidates")
    )
    columns = ["order_id", "message_id", "campaign_id", "node_id", "entry_id", "customer_id", "revenue"]
    rows = select(*(candidates.c[name] for name in columns), candidates.c.received).where(candidates.c.touch == 1)
    return attributions.insert().from_select([*columns, "attributed_at"], rows)


def reattribute(conn: Connection, where: ColumnElement[bool]) -> int:
    """Recompute the credit of the orders matching ``where``; returns how many are credited now."""
    conn.execute(delete_attributions(where))
    return int(conn.execute(insert_attributions(where)).rowcount)


def attribute_orders(conn: Connection, ids: Iterable[int]) -> int:
    """Recompute the credit of the orders with these ids, a chunk of ids per pair of statements."""
    return sum(reattribute(conn, orders.c.id.in_(chunk)) for chunk in chunks(ids))


def attribute_stored(conn: Connection, rows: Sequence[Resolved]) -> int:
    """Attribute a batch of orders just stored by ``store_orders`` (same transaction)."""
    if not rows:
        return 0
    return attribute_orders(conn, order_ids(conn, {(row.order.kind, row.order.external_id) for row in rows}).values())


def attribute_customers(conn: Connection, customers: Select[Any], *, placed_from: Any) -> int:
    """Recompute the credit of the orders of ``customers`` (a one-column select) placed at or after
    ``placed_from``."""
    return reattribute(
        conn, and_(orders.c.customer_id.in_(customers.scalar_subquery()), orders.c.placed_at >= placed_from)
    )


def attribute_all(conn: Connection) -> int:
    """Recompute every order's credit (after a bulk load of orders and message statuses)."""
    return reattribute(conn, true())


# -- the campaign report -----------------------------------------------------------------------------------
def report_members(campaign_id: int, control_nodes: Sequence[str]) -> Subquery:
    """The entries the control-group report compares: (entry_id, customer_id, is_control, entered_at).

    Without a control-group node every entry is in the main group. With one, only the entries that passed a
    control-group node are compared — flagged ones are the control group, the others the main group — so
    customers who dropped out before the split (a filter in front of it) weigh on neither side."""
    query = select(entries.c.id.label("entry_id"), entries.c.customer_id, entries.c.is_control, entries.c.entered_at)
    query = query.where(entries.c.campaign_id == campaign_id)
    if control_nodes:
        passed = exists().where(
            journey_trace.c.customer_id == entries.c.customer_id,
            journey_trace.c.entry_id == entries.c.id,
            journey_trace.c.node_id.in_(control_nodes),
            journey_trace.c.outcome == "performed",
        )
        query = query.where(passed)
    return query.subquery("members")


def group_figures(campaign_id: int, members: Subquery, *, notes: Sequence[str] = ()) -> Select[Any]:
    """Per group: (is_control, customers, customers sent a message, customers with a message delivered), leaving
    out the messages of the ``notes`` nodes (internal notes to users, which never reach the customer). One pass
    over the members: messages are first counted per entry, then per customer, then per group (no
    ``count(DISTINCT …)``, whose sorts are what made this slow)."""
    reaching = messages.c.campaign_id == campaign_id
    if notes:
        reaching = and_(reaching, messages.c.node_id.not_in(notes))
    reached = (
        select(
            messages.c.entry_id,
            func.count(messages.c.sent_at).label("sent"),
            func.count(messages.c.delivered_at).label("delivered"),
        )
        .where(reaching)
        .group_by(messages.c.entry_id)
        .subquery("reached")
    )
    per_customer = (
        select(
            members.c.is_control,
            members.c.customer_id,
            func.max(reached.c.sent).label("sent"),
            func.max(reached.c.delivered).label("delivered"),
        )
        .select_from(members.outerjoin(reached, reached.c.entry_id == members.c.entry_id))
        .group_by(members.c.is_control, members.c.customer_id)
        .subquery("per_customer")
    )
    c = per_customer.c
    return select(
        c.is_control,
        func.count(),
        func.count(case((c.sent > 0, 1))),
        func.count(case((c.delivered > 0, 1))),
    ).group_by(c.is_control)


def group_purchases(members: Subquery, *, days: int) -> Select[Any]:
    """Per group: (is_control, buyers, orders, revenue) — the purchases placed within the attribution window
    after an entry of the group (``entered_at ≤ placed_at ≤ entered_at + days``), the same measure for both
    groups; an order inside two windows of one group counts once."""
    bought = (
        select(members.c.is_control, orders.c.id, orders.c.customer_id, orders.c.total)
        .join_from(members, orders, orders.c.customer_id == members.c.customer_id)
        .where(
            is_purchase(),
            orders.c.placed_at >= members.c.entered_at,
            orders.c.placed_at <= members.c.entered_at + literal(days * DAY_MICROS, BigInteger),
        )
        .distinct()
        .subquery("bought")
    )
    return select(
        bought.c.is_control,
        func.count(bought.c.customer_id.distinct()),
        func.count(),
        func.coalesce(func.sum(bought.c.total), 0),
    ).group_by(bought.c.is_control)


def campaign_orders(campaign_id: int) -> Select[Any]:
    """(orders, buyers, revenue) credited to the campaign."""
    return select(
        func.count(),
        func.count(attributions.c.customer_id.distinct()),
        func.coalesce(func.sum(attributions.c.revenue), 0),
    ).where(attributions.c.campaign_id == campaign_id)


def campaign_orders_by_node(campaign_id: int) -> Select[Any]:
    """(node_id, orders, buyers, revenue) credited to each message node of the campaign."""
    return (
        select(
            attributions.c.node_id,
            func.count(),
            func.count(attributions.c.customer_id.distinct()),
            func.coalesce(func.sum(attributions.c.revenue), 0),
        )
        .where(attributions.c.campaign_id == campaign_id)
        .group_by(attributions.c.node_id)
        .order_by(attributions.c.node_id)
    )


def attributions_of_order(order_id: int) -> Select[Any]:
    return select(attributions).where(attributions.c.order_id == order_id)
