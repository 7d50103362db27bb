"""A/B test (spec 2.1, D2, D3, E1, E2): an even sample, a decision after the evaluation period, the winner."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tests.actions.helpers import node, node_metrics
from tests.engine.helpers import (
    add_customers,
    advance,
    advance_to,
    campaign,
    chunks_at_once,
    counters,
    email_node,
    start,
    unbalanced_counters,
    where_is,
)
from tidings.core.clock import ManualClock
from tidings.core.errors import DocumentInvalid
from tidings.document.validation import parse_document
from tidings.model.orders import OrderIn, OrderLineIn
from tidings.services import Services
from tidings.settings import Settings
from tidings.store.attribution import attribute_stored
from tidings.store.orders import Resolved, resolve_orders, store_orders
from tidings.store.tables import ab_assignments, ab_decisions, ab_tests, journey_state, messages
from tidings.store.tracking import Event, TrackingEvent, record_events


def ab(node_id: str = "ab", **config: Any) -> dict[str, Any]:
    return node(node_id, "ab_test", **config)


def two_mails(**config: Any) -> dict[str, Any]:
    """trigger → ab → e1 (variant 1) / e2 (variant 2)."""
    return campaign(
        ab("ab", variants=2, **config),
        email_node("e1"),
        email_node("e2"),
        edges=[("trigger", "ab"), ("ab", "e1"), ("ab", "e2")],
    )


def people(services: Services, count: int, prefix: str = "c") -> dict[str, int]:
    return add_customers(
        services, *({"external_id": f"{prefix}{i}", "email": f"{prefix}{i}@example.com"} for i in range(count))
    )


def dealt(services: Services, campaign_id: int, round_: int = 1) -> dict[int, int]:
    """Customers dealt per variant in a round."""
    query = select(ab_assignments.c.variant).where(
        ab_assignments.c.campaign_id == campaign_id, ab_assignments.c.round == round_
    )
    with services.db.engine.connect() as conn:
        return dict(sorted(Counter(int(v) for v in conn.execute(query).scalars()).items()))


def ports(services: Services, campaign_id: int, node_id: str = "ab") -> dict[str, int]:
    metrics = node_metrics(counters(services, campaign_id), node_id)
    return {metric.removeprefix("port:"): n for metric, n in sorted(metrics.items()) if metric.startswith("port:")}


def decisions(services: Services, campaign_id: int) -> list[dict[str, Any]]:
    query = select(ab_decisions).where(ab_decisions.c.campaign_id == campaign_id).order_by(ab_decisions.c.id)
    with services.db.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def state_of(services: Services, campaign_id: int) -> dict[str, Any]:
    with services.db.engine.connect() as conn:
        return dict(conn.execute(select(ab_tests).where(ab_tests.c.campaign_id == campaign_id)).mappings().one())


def waiting_at(services: Services, campaign_id: int, node_id: str = "ab") -> int:
    query = select(journey_state.c.id).where(
        journey_state.c.campaign_id == campaign_id, journey_state.c.node_id == node_id
    )
    with services.db.engine.connect() as conn:
        return len(conn.execute(query).all())


def react(services: Services, node_id: str, customers: list[int], event: Event = "open") -> None:
    """Record an open (or click) now on the messages sent to ``customers`` at ``node_id``."""
    query = select(messages.c.id).where(messages.c.node_id == node_id, messages.c.customer_id.in_(customers))
    now = services.clock.now()
    with services.db.engine.begin() as conn:
        ids = conn.execute(query).scalars().all()
        assert len(ids) == len(customers)
        record_events(conn, services.db.dialect, [TrackingEvent(i, event, now) for i in ids], now=now)


def mailed(services: Services, node_id: str) -> list[int]:
    query = select(messages.c.customer_id).where(messages.c.node_id == node_id).order_by(messages.c.customer_id)
    with services.db.engine.connect() as conn:
        return [int(c) for c in conn.execute(query).scalars()]


@pytest.fixture
def small_chunks(database_url: str, clock: ManualClock) -> Iterator[Services]:
    """Chunks of 48 customers: the sample of 500 is dealt over many chunks, one of them straddling its end."""
    built = Services.build(Settings(database_url=database_url, clock="manual", chunk_size=48), clock=clock)
    yield built
    built.close()


def test_e1_a_sample_of_500_is_dealt_250_250_then_everyone_goes_to_the_winner(small_chunks: Services) -> None:
    services = small_chunks
    ids = people(services, 1_000)
    campaign_id = start(services, two_mails(sample_size=500, evaluation_days=1))
    external = list(ids)
    for first in range(0, 1_000, 120):  # they keep arriving, in groups a minute apart
        services.campaigns.enroll(campaign_id, external[first : first + 120], None)
        advance(services, minutes=1)

    assert dealt(services, campaign_id) == {1: 250, 2: 250}
    assert ports(services, campaign_id) == {"variant-1": 250, "variant-2": 250}
    assert waiting_at(services, campaign_id) == 500  # the sample is full: the rest wait for the decision
    assert state_of(services, campaign_id)["assigned"] == 500

    react(services, "e2", mailed(services, "e2")[:10])
    react(services, "e1", mailed(services, "e1")[:4])
    advance(services, days=1)

    [decision] = decisions(services, campaign_id)
    assert decision["winner"] == 2
    assert ports(services, campaign_id) == {"variant-1": 250, "variant-2": 750}
    assert len(mailed(services, "e1")) == 250 and len(mailed(services, "e2")) == 750
    assert waiting_at(services, campaign_id) == 0

    later = people(services, 5, prefix="late")
    services.campaigns.enroll(campaign_id, list(later), None)
    advance(services, minutes=1)
    assert ports(services, campaign_id)["variant-2"] == 755  # after the decision: straight to the winner
    assert unbalanced_counters(services, campaign_id) == {}


def test_e1_three_variants_deal_167_167_166(services: Services) -> None:
    ids = people(services, 1_000)
    document = campaign(
        ab("ab", variants=3, sample_size=500, evaluation_days=2),
        email_node("e1"),
        email_node("e2"),
        email_node("e3"),
        edges=[("trigger", "ab"), ("ab", "e1"), ("ab", "e2"), ("ab", "e3")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert dealt(services, campaign_id) == {1: 167, 2: 167, 3: 166}
    assert ports(services, campaign_id) == {"variant-1": 167, "variant-2": 167, "variant-3": 166}

    react(services, "e3", mailed(services, "e3")[:3])
    advance(services, days=2)
    assert decisions(services, campaign_id)[0]["winner"] == 3
    assert ports(services, campaign_id) == {"variant-1": 167, "variant-2": 167, "variant-3": 666}


def test_e2_the_winner_is_decided_after_the_evaluation_period_by_the_opens_counted_then(services: Services) -> None:
    ids = people(services, 600)
    campaign_id = start(services, two_mails(sample_size=500, evaluation_days=7))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    state = state_of(services, campaign_id)
    sample_full_at = state["sample_full_at"]
    assert state["decide_at"] == sample_full_at + timedelta(days=7)
    first, second = mailed(services, "e1"), mailed(services, "e2")

    advance(services, days=2)
    react(services, "e1", first[:30])
    advance(services, days=1)
    react(services, "e2", second[:40])
    react(services, "e2", second[:20])  # opening again counts once
    react(services, "e2", second[:5], event="click")
    advance_to(services, sample_full_at + timedelta(days=7) - timedelta(seconds=1))
    assert decisions(services, campaign_id) == []
    assert waiting_at(services, campaign_id) == 100

    advance(services, hours=1)
    [decision] = decisions(services, campaign_id)
    assert decision["decided_at"] == sample_full_at + timedelta(days=7)
    assert decision["decided_at"] - sample_full_at >= timedelta(days=7)
    assert (decision["round"], decision["criterion"], decision["winner"]) == (1, "opens", 2)
    assert decision["counts"] == [
        {"variant": 1, "port": "variant-1", "customers": 250, "value": 30},
        {"variant": 2, "port": "variant-2", "customers": 250, "value": 40},
    ]
    assert ports(services, campaign_id) == {"variant-1": 250, "variant-2": 350}

    react(services, "e1", first[30:130])  # opens after the decision change nothing
    advance(services, days=30)
    assert len(decisions(services, campaign_id)) == 1


def test_a_decision_is_made_at_its_moment_even_when_nobody_waits(services: Services) -> None:
    ids = people(services, 4)
    campaign_id = start(services, two_mails(sample_size=4, evaluation_days=3, criterion="clicks"))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    react(services, "e1", mailed(services, "e1")[:1], event="click")
    advance(services, days=5)
    [decision] = decisions(services, campaign_id)
    assert decision["decided_at"] == state_of(services, campaign_id)["sample_full_at"] + timedelta(days=3)
    assert (decision["criterion"], decision["winner"]) == ("clicks", 1)


def test_a_tie_goes_to_the_lowest_variant_and_no_evaluation_period_decides_at_once(services: Services) -> None:
    ids = people(services, 7)
    campaign_id = start(services, two_mails(sample_size=4))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    [decision] = decisions(services, campaign_id)
    assert decision["winner"] == 1
    assert [c["value"] for c in decision["counts"]] == [0, 0]
    assert ports(services, campaign_id) == {"variant-1": 5, "variant-2": 2}


def test_reactions_count_downstream_of_the_test_only(services: Services) -> None:
    """An e-mail before the test is opened by everyone: it is not the test's doing and decides nothing."""
    ids = people(services, 4)
    document = campaign(
        email_node("before"),
        ab("ab", variants=2, sample_size=4, evaluation_days=1),
        email_node("e1"),
        email_node("e2"),
        edges=[("trigger", "before"), ("before", "ab"), ("ab", "e1"), ("ab", "e2")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    react(services, "before", list(ids.values()))
    react(services, "e2", mailed(services, "e2")[:1])
    advance(services, days=1)
    [decision] = decisions(services, campaign_id)
    assert [c["value"] for c in decision["counts"]] == [0, 1]
    assert decision["winner"] == 2


def buy(services: Services, external_id: str, customer: str, placed_at: datetime) -> None:
    """Store a receipt as the orders API does: stored and attributed in one transaction."""
    line = OrderLineIn(sku="SKU-1", quantity=Decimal(1), price=Decimal(10))
    row = OrderIn(external_id=external_id, kind="receipt", customer=customer, placed_at=placed_at, lines=[line])
    with services.db.engine.begin() as conn:
        resolved = [r for r in resolve_orders(conn, [row]) if isinstance(r, Resolved)]
        store_orders(conn, services.db.dialect, resolved, now=services.clock.now())
        attribute_stored(conn, resolved)


def test_the_orders_criterion_counts_orders_credited_to_each_branch_s_messages(services: Services) -> None:
    ids = people(services, 5)
    by_id = {customer: external for external, customer in ids.items()}
    campaign_id = start(services, two_mails(sample_size=4, evaluation_days=3, criterion="orders"))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    first, second = mailed(services, "e1"), mailed(services, "e2")
    react(services, "e1", first)
    react(services, "e2", second[:1])
    advance(services, hours=1)
    now = services.clock.now()
    buy(services, "a", by_id[first[0]], now)
    buy(services, "b", by_id[second[0]], now)
    buy(services, "c", by_id[second[0]], now + timedelta(hours=1))
    buy(services, "d", by_id[second[1]], now + timedelta(hours=2))  # stored before its customer's open is known
    advance(services, minutes=30)
    react(services, "e2", second[1:])  # the open is reported late, still before the order
    buy(services, "e", by_id[first[1]], now + timedelta(days=10))  # after the decision: not counted
    advance(services, days=3)
    [decision] = decisions(services, campaign_id)
    assert [(c["customers"], c["value"]) for c in decision["counts"]] == [(2, 1), (2, 3)]
    assert (decision["criterion"], decision["winner"]) == ("orders", 2)
    assert ports(services, campaign_id) == {"variant-1": 2, "variant-2": 3}


def test_restart_every_few_days_deals_a_new_sample_and_decides_again(services: Services) -> None:
    first = people(services, 6, prefix="a")
    campaign_id = start(services, two_mails(sample_size=4, evaluation_days=1, restart_days=3))
    services.campaigns.enroll(campaign_id, list(first), None)
    advance(services, minutes=1)
    assert dealt(services, campaign_id, round_=1) == {1: 2, 2: 2}
    react(services, "e2", mailed(services, "e2")[:1])
    advance(services, days=1)
    decided = decisions(services, campaign_id)[0]["decided_at"]
    assert decisions(services, campaign_id)[0]["winner"] == 2
    assert state_of(services, campaign_id)["restart_at"] == decided + timedelta(days=3)
    assert ports(services, campaign_id) == {"variant-1": 2, "variant-2": 4}

    advance_to(services, decided + timedelta(days=3))
    state = state_of(services, campaign_id)
    assert (state["round"], state["assigned"], state["winner"], state["decide_at"]) == (2, 0, None, None)

    second = people(services, 6, prefix="b")
    services.campaigns.enroll(campaign_id, list(second), None)
    advance(services, minutes=1)
    assert dealt(services, campaign_id, round_=2) == {1: 2, 2: 2}
    round_two = [c for c in mailed(services, "e1") if c in second.values()]
    react(services, "e1", round_two)
    advance(services, days=1)
    rounds = decisions(services, campaign_id)
    assert [(d["round"], d["winner"]) for d in rounds] == [(1, 2), (2, 1)]
    assert [c["customers"] for c in rounds[1]["counts"]] == [2, 2]  # round one's customers are not counted again
    assert ports(services, campaign_id) == {"variant-1": 2 + 4, "variant-2": 4 + 2}
    assert state_of(services, campaign_id)["restart_at"] == rounds[1]["decided_at"] + timedelta(days=3)


def test_restart_at_a_date_starts_one_new_round(services: Services) -> None:
    now = services.clock.now()
    restart = now + timedelta(days=10)
    ids = people(services, 4, prefix="a")
    campaign_id = start(services, two_mails(sample_size=2, evaluation_days=1, restart_at=restart.isoformat()))
    services.campaigns.enroll(campaign_id, list(ids)[:2], None)
    advance(services, days=2)
    assert state_of(services, campaign_id)["restart_at"] == restart
    advance_to(services, restart)
    assert state_of(services, campaign_id)["round"] == 2
    services.campaigns.enroll(campaign_id, list(ids)[2:], None)
    advance(services, days=2)
    state = state_of(services, campaign_id)
    assert (state["round"], state["restart_at"]) == (2, None)  # the date is used up: no third round
    assert [d["round"] for d in decisions(services, campaign_id)] == [1, 2]


def test_a_restart_waits_for_an_undecided_round(services: Services) -> None:
    now = services.clock.now()
    ids = people(services, 3)
    document = two_mails(sample_size=2, evaluation_days=5, restart_at=(now + timedelta(days=1)).isoformat())
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, days=2)
    assert state_of(services, campaign_id)["round"] == 1
    assert waiting_at(services, campaign_id) == 1
    advance(services, days=4)
    assert state_of(services, campaign_id)["round"] == 2  # right after round one's decision
    assert waiting_at(services, campaign_id) == 0
    assert sum(ports(services, campaign_id).values()) == 3


def test_a_customer_arriving_again_in_the_same_entry_keeps_the_variant(services: Services) -> None:
    """Merged branches: the entry reaches the test twice (fan-out from the trigger through two waits)."""
    ids = people(services, 2)
    document = campaign(
        node("w1", "wait", amount=1, unit="hours"),
        node("w2", "wait", amount=2, unit="hours"),
        ab("ab", variants=2, sample_size=10),
        node("x1", "wait", amount=1, unit="days"),
        node("x2", "wait", amount=1, unit="days"),
        edges=[("trigger", "w1"), ("trigger", "w2"), ("w1", "ab"), ("w2", "ab"), ("ab", "x1"), ("ab", "x2")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, hours=3)
    assert dealt(services, campaign_id) == {1: 1, 2: 1}
    assert state_of(services, campaign_id)["assigned"] == 2
    for customer in ids.values():
        assert len(set(where_is(services, customer))) == 1  # both tokens of an entry went the same way


def test_concurrent_chunks_deal_one_sequence(services: Services) -> None:
    ids = people(services, 10)
    campaign_id = start(services, two_mails(sample_size=9, evaluation_days=1))
    services.campaigns.enroll(campaign_id, list(ids), None)
    chunks_at_once(services, campaign_id, "ab", 5, 5)
    assert dealt(services, campaign_id) == {1: 5, 2: 4}
    assert state_of(services, campaign_id)["assigned"] == 9
    assert waiting_at(services, campaign_id) == 1


def test_the_editor_s_edges_in_variant_order_are_valid(services: Services) -> None:
    """The editor writes an A/B test's edges without ports, in variant order; explicit ports must match."""
    document = two_mails(sample_size=10)
    parsed = parse_document(document)
    assert (parsed.targets("ab", "variant-1"), parsed.targets("ab", "variant-2")) == (["e1"], ["e2"])
    named = {**document, "edges": [*document["edges"][:1], *(dict(e) for e in document["edges"][1:])]}
    named["edges"][1]["source_port"], named["edges"][2]["source_port"] = "variant-1", "variant-2"
    assert parse_document(named).targets("ab", "variant-2") == ["e2"]
    named["edges"][1]["source_port"] = "variant-2"
    with pytest.raises(DocumentInvalid) as refused:
        parse_document(named)
    assert refused.value.details[0]["node"] == "ab"
    assert refused.value.details[0]["field"] == "edges[1].source_port"


def test_fewer_edges_than_variants_is_allowed_more_is_refused() -> None:
    document = campaign(ab("ab", variants=2, sample_size=10), email_node("e1"), edges=[("trigger", "ab"), ("ab", "e1")])
    assert parse_document(document).targets("ab", "variant-2") == []
    three = campaign(
        ab("ab", variants=2, sample_size=10),
        email_node("e1"),
        email_node("e2"),
        email_node("e3"),
        edges=[("trigger", "ab"), ("ab", "e1"), ("ab", "e2"), ("ab", "e3")],
    )
    with pytest.raises(DocumentInvalid) as refused:
        parse_document(three)
    assert refused.value.details[0]["node"] == "ab"
    assert refused.value.details[0]["field"] == "edges[3]"
    assert "2 outputs" in refused.value.details[0]["message"]


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"variants": 1, "sample_size": 10}, "config.variants"),
        ({"variants": 17, "sample_size": 10}, "config.variants"),
        ({"variants": 2, "sample_size": 0}, "config.sample_size"),
        ({"variants": 2}, "config.sample_size"),
        ({"variants": 2, "sample_size": 5, "criterion": "likes"}, "config.criterion"),
        ({"variants": 2, "sample_size": 5, "evaluation_days": -1}, "config.evaluation_days"),
        ({"variants": 2, "sample_size": 5, "restart_days": 0}, "config.restart_days"),
        ({"variants": 2, "sample_size": 5, "restart_at": "2026-02-01T00:00:00"}, "config.restart_at"),
        (
            {"variants": 2, "sample_size": 5, "restart_at": "2026-02-01T00:00:00Z", "restart_days": 3},
            "config.restart_days",
        ),
    ],
)
def test_bad_configs_are_refused_naming_node_and_field(config: dict[str, Any], field: str) -> None:
    document = campaign(ab("ab", **config), email_node("e1"), edges=[("trigger", "ab"), ("ab", "e1")])
    with pytest.raises(DocumentInvalid) as refused:
        parse_document(document)
    assert (refused.value.details[0]["node"], refused.value.details[0]["field"]) == ("ab", field)


def test_the_editor_sees_settings_dependent_outputs() -> None:
    from tidings.api.ui import editor_catalog

    served = editor_catalog({})["actions"]["ab_test"]
    assert served["ports_counted_by"] == "variants"  # a node has as many of these outputs as it has variants
    assert [port["id"] for port in served["ports"]] == [f"variant-{k}" for k in range(1, 17)]
