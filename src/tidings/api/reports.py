"""The campaign report (spec 3.6): orders and revenue credited to the campaign, the control-group table, and the
A/B tests with every decision they made. Every figure is a SQL aggregate (``tidings.store.attribution``,
``tidings.store.ab_tests``); Python only divides.

The control-group table compares the entries that passed a control-group node (D1): the flagged ones are the
*control* group, the others the *main* group (without a control-group node in the current document: every entry,
split by the flag). Both groups are measured alike, as the spec asks ("the same purchase metrics"): an order
counts for a group when it is placed within the attribution window after one of the group's entries
(``entered_at ≤ placed_at ≤ entered_at + attribution_days``). Only then does the difference between the groups
estimate what the communication changed: counting the main group's orders credited to its messages (last touch,
spec 5.8) would compare a part of its purchases — those of customers who opened — with all of the control
group's, and show a loss where there was no effect. The orders credited by last touch are the report's
``orders`` block (the campaign's orders and revenue).

Anticipated revenue is what the main group would have earned buying like the control group: main customers ×
control conversion × control receipts per buyer × control average receipt (with one receipt per buyer, the
spec's main customers × control conversion × control average receipt). Additional revenue = main revenue −
anticipated revenue. The 95 % confidence interval of the difference in conversion (main − control) is the normal
approximation for two independent proportions, ``d ± 1.96 · √(p₁(1−p₁)/n₁ + p₂(1−p₂)/n₂)`` — sound once each
group has some ten buyers and ten non-buyers; with fewer, read it as a rough guide.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from tidings.actions.ab_test import AbTestConfig
from tidings.actions.ab_test import port as variant_port
from tidings.actions.control_group import ControlGroup
from tidings.api.deps import CampaignIdPath, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.core.errors import NotFound
from tidings.document.campaign import CampaignDocument
from tidings.services import Services
from tidings.store import ab_tests as ab_sql
from tidings.store import attribution as report_sql
from tidings.store import campaigns as campaign_sql
from tidings.store.tracking import campaign_email_outcomes

router = APIRouter(prefix="/campaigns", tags=["campaigns"], route_class=StrictJsonRoute)

#: The 0.975 quantile of the standard normal distribution: a two-sided 95 % interval.
Z95 = 1.959964


class NodeOrders(BaseModel):
    node_id: str
    orders: int
    buyers: int
    revenue: float


class Orders(BaseModel):
    orders: int = Field(description="Orders and receipts credited to the campaign's messages (last touch).")
    buyers: int = Field(description="Distinct customers among them.")
    revenue: float = Field(description="Their total.")
    by_node: list[NodeOrders] = Field(description="The same per message node.")


class GroupFigures(BaseModel):
    customers: int = Field(description="Customers in the group.")
    sent: int = Field(description="Customers sent a message of the campaign (the control group is sent nothing).")
    delivered: int = Field(description="Customers with a message delivered.")
    buyers: int = Field(description="Customers who bought within the attribution window after entering.")
    conversion: float | None = Field(description="buyers ÷ customers; null for an empty group.")
    receipts: int = Field(description="Their orders and receipts within that window.")
    receipts_per_buyer: float | None = Field(description="receipts ÷ buyers (receipts per purchasing customer).")
    revenue: float = Field(description="Total of those receipts.")
    average_receipt: float | None = Field(description="revenue ÷ receipts.")
    revenue_per_buyer: float | None = Field(description="revenue ÷ buyers (revenue per purchasing customer).")


class Interval(BaseModel):
    low: float
    high: float


class ControlGroupResults(BaseModel):
    main: GroupFigures
    control: GroupFigures
    anticipated_revenue: float | None = Field(
        description="Main customers × control conversion × control receipts per buyer × control average receipt; "
        "null without a control group."
    )
    additional_revenue: float | None = Field(description="Main revenue − anticipated revenue (the uplift).")
    conversion_difference: float | None = Field(description="Main conversion − control conversion.")
    conversion_difference_ci95: Interval | None = Field(
        description="95 % confidence interval of the difference (normal approximation, two independent groups)."
    )


class VariantCount(BaseModel):
    variant: int
    port: str
    customers: int = Field(description="Customers dealt this variant in the round.")
    value: int = Field(description="The criterion's count when the decision was made.")


class Decision(BaseModel):
    round: int
    criterion: str
    winner: int
    winner_port: str
    decided_at: datetime
    counts: list[VariantCount]


class AbTestResults(BaseModel):
    node_id: str
    title: str | None
    in_document: bool = Field(description="False when the node is gone from the current document.")
    sample_size: int | None
    criterion: str | None
    round: int = Field(description="The current round (1, then one more per restart).")
    assigned: int = Field(description="Customers dealt in the current round.")
    dealt: dict[str, int] = Field(description="Customers dealt in the current round, per variant port.")
    sample_full_at: datetime | None
    decide_at: datetime | None = Field(description="When the current round is (or was) decided.")
    winner: int | None = Field(description="The current round's winning variant, once decided.")
    restart_at: datetime | None = Field(description="When the next round starts, if a restart is planned.")
    decisions: list[Decision] = Field(description="Every decision made, oldest first.")


class EmailOutcomes(BaseModel):
    """What became of the campaign's e-mails, as providers, mailboxes and recipients reported it."""

    sent: int
    delivered: int
    bounced: int = Field(description="Hard bounces: the address is suppressed.")
    complaints: int = Field(description="Marked as spam by the recipient (a provider's complaint loop).")
    unsubscribed: int


class CampaignReport(BaseModel):
    campaign_id: int
    attribution_days: int
    emails: EmailOutcomes
    orders: Orders
    control_group: ControlGroupResults
    ab_tests: list[AbTestResults]


@router.get("/{campaign_id}/report", summary="Orders, control-group results and A/B decisions of a campaign")
def report(campaign_id: CampaignIdPath, services: ServicesDep) -> CampaignReport:
    """Orders and revenue credited to the campaign; per group (main, control): customers, sent, delivered,
    buyers, conversion, receipts, receipts per buyer, revenue, average receipt, revenue per buyer; the anticipated
    and additional revenue with a 95 % confidence interval of the difference in conversion; every A/B test with
    its current round and its decisions. Definitions: the module docstring of ``tidings.api.reports``."""
    with services.db.engine.connect() as conn:
        row = conn.execute(campaign_sql.get_campaign(campaign_id)).mappings().first()
        if row is None:
            raise NotFound(f"campaign {campaign_id} does not exist", details={"campaign_id": campaign_id})
        document = services.documents.get(conn, campaign_id, row["current_version"])
        days = document.settings.attribution_days
        return CampaignReport(
            campaign_id=campaign_id,
            attribution_days=days,
            emails=_emails(conn, campaign_id),
            orders=_orders(conn, campaign_id),
            control_group=_control_group(conn, campaign_id, document, days, _note_nodes(services, conn, row)),
            ab_tests=_ab_tests(conn, campaign_id, document),
        )


def _emails(conn: Connection, campaign_id: int) -> EmailOutcomes:
    sent, delivered, bounced, complaints, unsubscribed = conn.execute(campaign_email_outcomes(campaign_id)).one()
    return EmailOutcomes(
        sent=sent, delivered=delivered, bounced=bounced, complaints=complaints, unsubscribed=unsubscribed
    )


def _money(value: Any) -> float:
    return float(Decimal(value).quantize(Decimal("0.01")))


def _orders(conn: Connection, campaign_id: int) -> Orders:
    count, buyers, revenue = conn.execute(report_sql.campaign_orders(campaign_id)).one()
    by_node = [
        NodeOrders(node_id=node_id, orders=int(n), buyers=int(b), revenue=_money(r))
        for node_id, n, b, r in conn.execute(report_sql.campaign_orders_by_node(campaign_id))
    ]
    return Orders(orders=int(count), buyers=int(buyers), revenue=_money(revenue), by_node=by_node)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _group(customers: int, sent: int, delivered: int, buyers: int, receipts: int, revenue: Decimal) -> GroupFigures:
    return GroupFigures(
        customers=customers,
        sent=sent,
        delivered=delivered,
        buyers=buyers,
        conversion=_ratio(buyers, customers),
        receipts=receipts,
        receipts_per_buyer=_ratio(receipts, buyers),
        revenue=_money(revenue),
        average_receipt=None if not receipts else _money(revenue / receipts),
        revenue_per_buyer=None if not buyers else _money(revenue / buyers),
    )


def _note_nodes(services: Services, conn: Connection, campaign: Any) -> list[str]:
    """Nodes that send internal notes (Notify manager) in any version of the campaign: their messages, even from
    a node since removed, never reached the customer."""
    notes: set[str] = set()
    for version in range(1, int(campaign["current_version"]) + 1):
        document = services.documents.get(conn, int(campaign["id"]), version)
        for node in document.nodes:
            rules = document.delivery_rules(node.id)
            if rules is not None and rules.internal:
                notes.add(node.id)
    return sorted(notes)


def _control_group(
    conn: Connection, campaign_id: int, document: CampaignDocument, days: int, notes: list[str]
) -> ControlGroupResults:
    control_nodes = [node.id for node in document.nodes if node.type == ControlGroup.type]
    members = report_sql.report_members(campaign_id, control_nodes)
    reached = {
        bool(row[0]): row[1:] for row in conn.execute(report_sql.group_figures(campaign_id, members, notes=notes))
    }
    bought = {bool(row[0]): row[1:] for row in conn.execute(report_sql.group_purchases(members, days=days))}
    figures = {}
    for flag in (False, True):
        customers, sent, delivered = reached.get(flag, (0, 0, 0))
        buyers, receipts, revenue = bought.get(flag, (0, 0, 0))
        figures[flag] = _group(int(customers), int(sent), int(delivered), int(buyers), int(receipts), Decimal(revenue))
    return compare(figures[False], figures[True])


def compare(main: GroupFigures, control: GroupFigures) -> ControlGroupResults:
    """The anticipated and additional revenue and the difference in conversion with its 95 % interval."""
    anticipated = additional = difference = None
    interval = None
    if control.customers and main.customers:
        p1, n1 = main.buyers / main.customers, main.customers
        p2, n2 = control.buyers / control.customers, control.customers
        anticipated = _money(Decimal(main.customers) * Decimal(str(control.revenue)) / Decimal(control.customers))
        additional = _money(Decimal(str(main.revenue)) - Decimal(str(anticipated)))
        difference = p1 - p2
        spread = Z95 * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        interval = Interval(low=difference - spread, high=difference + spread)
    return ControlGroupResults(
        main=main,
        control=control,
        anticipated_revenue=anticipated,
        additional_revenue=additional,
        conversion_difference=difference,
        conversion_difference_ci95=interval,
    )


def _ab_tests(conn: Connection, campaign_id: int, document: CampaignDocument) -> list[AbTestResults]:
    decisions: dict[str, list[Decision]] = defaultdict(list)
    for row in conn.execute(ab_sql.decisions_of_campaign(campaign_id)).mappings():
        decisions[row["node_id"]].append(
            Decision(
                round=row["round"],
                criterion=row["criterion"],
                winner=row["winner"],
                winner_port=variant_port(row["winner"]),
                decided_at=row["decided_at"],
                counts=[VariantCount(**count) for count in row["counts"]],
            )
        )
    dealt: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
    for node_id, round_, variant, count in conn.execute(ab_sql.assigned_per_variant(campaign_id)):
        dealt[(node_id, int(round_))][variant_port(int(variant))] = int(count)
    results = []
    for row in conn.execute(ab_sql.tests_of_campaign(campaign_id)).mappings():
        node_id = row["node_id"]
        config = document.node(node_id).config if document.has_node(node_id) else None
        known = isinstance(config, AbTestConfig)
        results.append(
            AbTestResults(
                node_id=node_id,
                title=document.node(node_id).title if known else None,
                in_document=known,
                sample_size=config.sample_size if isinstance(config, AbTestConfig) else None,
                criterion=config.criterion if isinstance(config, AbTestConfig) else None,
                round=row["round"],
                assigned=row["assigned"],
                dealt=dealt.get((node_id, row["round"]), {}),
                sample_full_at=row["sample_full_at"],
                decide_at=row["decide_at"],
                winner=row["winner"],
                restart_at=row["restart_at"],
                decisions=decisions.get(node_id, []),
            )
        )
    return results
