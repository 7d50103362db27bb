"""Limit poll (D5): the limit is set on the poll, invitations are handed out (in waves of K when asked), and
customers who cannot take part any more drop out with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.actions.helpers import make_audience, node, node_metrics
from tests.engine.helpers import (
    add_customers,
    advance,
    campaign,
    counters,
    start,
    trace,
    unbalanced_counters,
    wait_node,
    where_is,
)
from tidings.core.errors import DocumentInvalid
from tidings.document.validation import parse_document
from tidings.engine.polls import record_response
from tidings.services import Services
from tidings.store import polls as poll_sql
from tidings.store.tables import customers, poll_invitations, polls

QUESTIONS = [{"id": "q", "type": "open", "text": "Anything?", "options": [], "max_answers": None, "required": True}]


def make_poll(services: Services) -> int:
    with services.db.engine.begin() as conn:
        inserted = conn.execute(
            poll_sql.insert_poll(name="Survey", questions=QUESTIONS, active=True, now=services.clock.now())
        ).inserted_primary_key
        assert inserted is not None
        conn.execute(poll_sql.set_code(int(inserted[0])))
    return int(inserted[0])


def answer(services: Services, poll_id: int, customer_id: int) -> str | None:
    """Submit an answer the way the voting page does; None when stored, else why it was refused."""
    with services.db.engine.begin() as conn:
        poll = conn.execute(poll_sql.lock_poll(poll_id)).mappings().one()
        store = conn.execute(select(customers.c.store_code).where(customers.c.id == customer_id)).scalar_one()
        recorded = record_response(
            conn,
            services.db.dialect,
            poll=poll,
            customer_id=customer_id,
            store_code=store,
            answers={"q": "yes"},
            event_properties={"poll": poll["code"], "poll_id": poll_id, "q": "yes"},
            now=services.clock.now(),
        )
    return recorded.refused


def invited(services: Services, poll_id: int) -> dict[int, bool]:
    """Invited customers, and whether they answered."""
    query = select(poll_invitations.c.customer_id, poll_invitations.c.answered_at).where(
        poll_invitations.c.poll_id == poll_id
    )
    with services.db.engine.connect() as conn:
        return {int(customer): answered is not None for customer, answered in conn.execute(query)}


def limit_node(poll_id: int, limit: int, **config: Any) -> dict[str, Any]:
    return node("lp", "limit_poll", poll=poll_id, limit=limit, **config)


def people(services: Services, count: int, **fields: Any) -> dict[str, int]:
    return add_customers(services, *({"external_id": f"c{i}", **fields} for i in range(count)))


def run(services: Services, document: dict[str, Any], who: list[str]) -> int:
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, who, None)
    advance(services, minutes=1)
    return campaign_id


def test_the_node_sets_the_limit_invites_everyone_and_drops_who_cannot_take_part(services: Services) -> None:
    ids = people(services, 5)
    poll_id = make_poll(services)
    assert answer(services, poll_id, ids["c0"]) is None  # answered before the campaign
    document = campaign(limit_node(poll_id, 3), wait_node("w1", 1), edges=[("trigger", "lp"), ("lp", "w1")])
    campaign_id = run(services, document, ["c0", "c1", "c2"])

    with services.db.engine.connect() as conn:
        poll = conn.execute(select(polls).where(polls.c.id == poll_id)).mappings().one()
    assert (poll["limit_type"], poll["limit_value"]) == ("total", 3)
    assert trace(services, ids["c0"])[-1] == ("lp", "dropped", None, "poll_already_answered")
    assert where_is(services, ids["c1"]) == ["w1"] and where_is(services, ids["c2"]) == ["w1"]
    assert invited(services, poll_id) == {ids["c1"]: False, ids["c2"]: False}

    assert answer(services, poll_id, ids["c1"]) is None
    assert invited(services, poll_id)[ids["c1"]] is True
    assert answer(services, poll_id, ids["c2"]) is None  # the third answer: the limit is reached
    assert answer(services, poll_id, ids["c3"]) == "closed"  # the page refuses more
    assert answer(services, poll_id, ids["c1"]) == "answered"

    services.campaigns.enroll(campaign_id, ["c3", "c4"], None)
    advance(services, minutes=1)
    assert trace(services, ids["c3"])[-1] == ("lp", "dropped", None, "poll_limit_reached")
    assert node_metrics(counters(services, campaign_id), "lp") == {
        "entered": 5,
        "performed": 2,
        "port:out": 2,
        "dropped:poll_already_answered": 1,
        "dropped:poll_limit_reached": 2,
    }
    assert unbalanced_counters(services, campaign_id) == {}


def test_a_per_store_limit_closes_the_poll_store_by_store(services: Services) -> None:
    riga = people(services, 3, store_code="RIX")
    tallinn = add_customers(services, {"external_id": "t0", "store_code": "TLL"}, {"external_id": "t1"})
    poll_id = make_poll(services)
    document = campaign(limit_node(poll_id, 1, limit_type="per_store"), wait_node("w1", 1),
                        edges=[("trigger", "lp"), ("lp", "w1")])  # fmt: skip
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, ["c0"], None)
    advance(services, minutes=1)
    assert answer(services, poll_id, riga["c0"]) is None  # Riga has its one answer
    assert answer(services, poll_id, riga["c1"]) == "closed"

    services.campaigns.enroll(campaign_id, ["c1", "t0", "t1"], None)
    advance(services, minutes=1)
    assert trace(services, riga["c1"])[-1] == ("lp", "dropped", None, "poll_limit_reached")
    assert where_is(services, tallinn["t0"]) == ["w1"] and where_is(services, tallinn["t1"]) == ["w1"]
    assert answer(services, poll_id, tallinn["t0"]) is None
    assert answer(services, poll_id, tallinn["t1"]) is None  # no store: a bucket of its own


def test_waves_keep_at_most_k_open_invitations_and_an_answer_lets_the_next_one_in(services: Services) -> None:
    ids = people(services, 6)
    poll_id = make_poll(services)
    document = campaign(limit_node(poll_id, 4, wave_size=2), wait_node("w1", 30),
                        edges=[("trigger", "lp"), ("lp", "w1")])  # fmt: skip
    campaign_id = run(services, document, list(ids))

    def at(node_id: str) -> set[str]:
        return {name for name, customer in ids.items() if where_is(services, customer) == [node_id]}

    assert at("w1") == {"c0", "c1"} and at("lp") == {"c2", "c3", "c4", "c5"}
    assert answer(services, poll_id, ids["c0"]) is None  # a slot frees: the customer waiting longest is woken
    advance(services, minutes=1)
    assert at("w1") == {"c0", "c1", "c2"} and at("lp") == {"c3", "c4", "c5"}
    assert set(invited(services, poll_id)) == {ids["c0"], ids["c1"], ids["c2"]}

    for name in ("c1", "c2"):
        assert answer(services, poll_id, ids[name]) is None
    advance(services, minutes=1)
    assert at("w1") == {"c0", "c1", "c2", "c3", "c4"} and at("lp") == {"c5"}  # two slots freed

    assert answer(services, poll_id, ids["c3"]) is None  # the fourth answer reaches the limit: nobody waits on
    assert answer(services, poll_id, ids["c4"]) == "closed"
    advance(services, minutes=1)
    assert at("lp") == set()
    assert trace(services, ids["c5"])[-1] == ("lp", "dropped", None, "poll_limit_reached")
    metrics = node_metrics(counters(services, campaign_id), "lp")
    assert (metrics["performed"], metrics["dropped:poll_limit_reached"]) == (5, 1)
    assert unbalanced_counters(services, campaign_id) == {}


def test_an_invitation_unanswered_for_its_days_frees_its_slot(services: Services) -> None:
    ids = people(services, 2)
    poll_id = make_poll(services)
    document = campaign(limit_node(poll_id, 10, wave_size=1, invitation_days=2), wait_node("w1", 30),
                        edges=[("trigger", "lp"), ("lp", "w1")])  # fmt: skip
    run(services, document, ["c0", "c1"])
    assert where_is(services, ids["c1"]) == ["lp"]
    advance(services, days=1)
    assert where_is(services, ids["c1"]) == ["lp"]
    advance(services, days=1)
    assert where_is(services, ids["c1"]) == ["w1"]


def test_control_customers_pass_without_an_invitation(services: Services) -> None:
    ids = people(services, 3)
    poll_id = make_poll(services)
    holdout = make_audience(services, "Holdout", [ids["c0"]])
    document = campaign(
        node("cg", "control_group", method="audience", audience=holdout),
        limit_node(poll_id, 5, wave_size=1),
        wait_node("w1", 30),
        edges=[("trigger", "cg"), ("cg", "lp"), ("lp", "w1")],
    )
    run(services, document, list(ids))
    assert where_is(services, ids["c0"]) == ["w1"]
    assert trace(services, ids["c0"])[-1] == ("lp", "performed", "out", "control_group")
    assert set(invited(services, poll_id)) == {ids["c1"]}  # the one slot went to a real invitee
    assert where_is(services, ids["c2"]) == ["lp"]


def test_a_deleted_poll_drops_its_customers_with_a_reason(services: Services) -> None:
    ids = people(services, 1)
    campaign_id = run(services, campaign(limit_node(999, 5), edges=[("trigger", "lp")]), ["c0"])
    assert trace(services, ids["c0"])[-1] == ("lp", "dropped", None, "poll_missing")
    assert node_metrics(counters(services, campaign_id), "lp")["dropped:poll_missing"] == 1


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"poll": 1, "limit": 0}, "config.limit", "greater than or equal to 1"),
        ({"poll": 1, "limit": 5, "limit_type": "per_city"}, "config.limit_type", "'total' or 'per_store'"),
        ({"poll": 1, "limit": 5, "invitation_days": 3}, "config", "only applies with a wave_size"),
        ({"poll": 1, "limit": 5, "wave_size": 0}, "config.wave_size", "greater than or equal to 1"),
    ],
)
def test_bad_configs_are_refused_naming_the_node_and_field(config: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(DocumentInvalid) as raised:
        parse_document(campaign(node("lp", "limit_poll", **config), edges=[("trigger", "lp")]))
    [problem] = raised.value.details
    assert (problem["node"], problem["field"]) == ("lp", field)
    assert message in problem["message"]
