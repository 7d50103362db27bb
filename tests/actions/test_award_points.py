"""Award points (D10): one ledger row per entry × node × customer, the balance moves in the same transaction,
deductions stop at zero, control customers get nothing, and nothing is ever credited twice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update

from tests.actions.helpers import make_audience, node, node_metrics
from tests.conftest import START
from tests.engine.helpers import (
    add_customers,
    advance,
    campaign,
    chunks_at_once,
    counters,
    filter_node,
    set_points,
    start,
    trace,
    unbalanced_counters,
    wait_node,
    where_is,
)
from tidings.engine.advance import DueNode, advance_chunk
from tidings.services import Services
from tidings.store.tables import customers, journey_state, points_ledger


def award(node_id: str, amount: float, **config: Any) -> dict[str, Any]:
    return node(node_id, "award_points", amount=amount, **config)


def people(services: Services, count: int) -> dict[str, int]:
    return add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(count)))


def balances(services: Services) -> dict[int, Decimal]:
    with services.db.engine.connect() as conn:
        return {row.id: row.points_balance for row in conn.execute(select(customers.c.id, customers.c.points_balance))}


def ledger(services: Services) -> list[tuple[int, Decimal, str | None, str | None]]:
    query = select(
        points_ledger.c.customer_id, points_ledger.c.amount, points_ledger.c.node_id, points_ledger.c.reason
    ).order_by(points_ledger.c.customer_id, points_ledger.c.id)
    with services.db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def test_points_are_credited_once_per_customer_and_the_balance_is_usable_in_a_filter(services: Services) -> None:
    ids = people(services, 3)
    set_points(services, ids["c2"], 60)
    document = campaign(
        award("p1", 50.25, comment="Spring promo"),
        filter_node("rich", {"field": "points_balance", "op": "gte", "value": 100}),
        wait_node("w_yes", 1),
        wait_node("w_no", 1),
        edges=[("trigger", "p1"), ("p1", "rich"), ("rich", "w_yes", "yes"), ("rich", "w_no", "no")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)

    assert balances(services) == {
        ids["c0"]: Decimal("50.25"),
        ids["c1"]: Decimal("50.25"),
        ids["c2"]: Decimal("110.25"),
    }
    assert ledger(services) == [(ids[f"c{i}"], Decimal("50.25"), "p1", "Spring promo") for i in range(3)]
    assert where_is(services, ids["c2"]) == ["w_yes"]
    assert where_is(services, ids["c0"]) == ["w_no"]
    assert trace(services, ids["c0"])[1] == ("p1", "performed", "out", None)
    assert node_metrics(counters(services, campaign_id), "p1") == {"entered": 3, "performed": 3, "port:out": 3}
    assert unbalanced_counters(services, campaign_id) == {}


def test_a_negative_amount_deducts_and_never_takes_a_balance_below_zero(services: Services) -> None:
    ids = people(services, 3)
    set_points(services, ids["c0"], 100)
    set_points(services, ids["c1"], 30)  # exactly enough
    campaign_id = start(
        services, campaign(award("p1", -30), wait_node("w1", 1), edges=[("trigger", "p1"), ("p1", "w1")])
    )
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)

    assert balances(services) == {ids["c0"]: Decimal("70.00"), ids["c1"]: Decimal("0.00"), ids["c2"]: Decimal("0.00")}
    assert [(customer, amount) for customer, amount, _, _ in ledger(services)] == [
        (ids["c0"], Decimal("-30.00")),
        (ids["c1"], Decimal("-30.00")),
    ]
    assert trace(services, ids["c2"])[-1] == ("p1", "dropped", None, "insufficient_points")
    assert where_is(services, ids["c2"]) == []
    assert node_metrics(counters(services, campaign_id), "p1") == {
        "entered": 3,
        "performed": 2,
        "port:out": 2,
        "dropped:insufficient_points": 1,
    }


def test_control_group_customers_continue_but_get_no_points(services: Services) -> None:
    ids = people(services, 3)
    holdout = make_audience(services, "Holdout", [ids["c1"]])
    document = campaign(
        node("cg", "control_group", method="audience", audience=holdout),
        award("p1", 10),
        wait_node("w1", 1),
        edges=[("trigger", "cg"), ("cg", "p1"), ("p1", "w1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)

    assert balances(services)[ids["c1"]] == Decimal("0.00")
    assert {customer for customer, _, _, _ in ledger(services)} == {ids["c0"], ids["c2"]}
    assert where_is(services, ids["c1"]) == ["w1"]
    assert trace(services, ids["c1"])[-1] == ("p1", "performed", "out", "control_group")
    assert node_metrics(counters(services, campaign_id), "p1")["suppressed:control_group"] == 1


def test_merged_branches_credit_an_entry_once_whether_its_arrivals_share_a_chunk_or_not(services: Services) -> None:
    ids = people(services, 2)
    document = campaign(
        wait_node("a", 1, "hours"),
        wait_node("b", 1, "hours"),
        wait_node("late", 2, "hours"),
        award("p1", 5),
        wait_node("w1", 1),
        edges=[("trigger", "a"), ("trigger", "b"), ("trigger", "late"), ("a", "p1"), ("b", "p1"), ("late", "p1"),
               ("p1", "w1")],
    )  # fmt: skip
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, hours=3)

    assert balances(services) == {ids["c0"]: Decimal("5.00"), ids["c1"]: Decimal("5.00")}
    assert len(ledger(services)) == 2
    assert node_metrics(counters(services, campaign_id), "p1") == {
        "entered": 6,
        "performed": 2,
        "port:out": 2,
        "dropped:already_awarded": 4,  # the twin in the first chunk, and the late arrival
    }
    assert unbalanced_counters(services, campaign_id) == {}


def test_replaying_a_chunk_is_a_no_op(services: Services) -> None:
    ids = people(services, 4)
    campaign_id = start(services, campaign(award("p1", 7), wait_node("w1", 1), edges=[("trigger", "p1"), ("p1", "w1")]))
    services.campaigns.enroll(campaign_id, list(ids), None)
    for _ in range(2):
        advance_chunk(services.db, services.documents, DueNode(campaign_id, "p1"), services.clock.now(), limit=100)
    assert set(balances(services).values()) == {Decimal("7.00")}
    assert len(ledger(services)) == 4
    assert counters(services, campaign_id)[("p1", "performed")] == 4


def test_two_chunks_holding_one_entry_at_the_node_at_once_credit_it_once(services: Services) -> None:
    """Merged branches put two tokens of one entry at the node; two workers advance them concurrently."""
    ids = people(services, 1)
    document = campaign(
        wait_node("a", 1, "hours"),
        wait_node("b", 1, "hours"),
        award("p1", 3),
        edges=[("trigger", "a"), ("trigger", "b"), ("a", "p1"), ("b", "p1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    with services.db.engine.begin() as conn:
        conn.execute(update(journey_state).values(node_id="p1", due_at=START))
    chunks_at_once(services, campaign_id, "p1", 1, 1)
    assert balances(services) == {ids["c0"]: Decimal("3.00")}
    with services.db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(points_ledger)).scalar_one() == 1
    metrics = node_metrics(counters(services, campaign_id), "p1")
    assert (metrics["performed"], metrics["dropped:already_awarded"]) == (1, 1)
