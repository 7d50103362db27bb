"""Check email status (§2.18, E5): customers are routed by what became of their e-mail from an upstream Send
email node in the same entry; criteria sit on the outgoing edges; statuses no edge names drop out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.actions.helpers import audience_ids, make_audience, members_of, node, node_metrics
from tests.engine.helpers import (
    add_customers,
    advance,
    advance_to,
    counters,
    email_node,
    mailbox_count,
    start,
    trace,
    unbalanced_counters,
    wait_node,
    where_is,
)
from tidings.core.errors import DocumentInvalid
from tidings.document.validation import parse_document
from tidings.services import Services
from tidings.store.tables import messages
from tidings.store.tracking import Event, TrackingEvent, record_events

TRIGGER = {"id": "trigger", "type": "api_enrollment", "config": {}}


def document(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], **settings: Any) -> dict[str, Any]:
    return {"name": "Check email status", "settings": settings, "trigger": TRIGGER, "nodes": nodes, "edges": edges}


def edge(source: str, target: str, **extra: str) -> dict[str, Any]:
    return {"source": source, "target": target, **extra}


def check(node_id: str = "chk", **config: Any) -> dict[str, Any]:
    return node(node_id, "check_email_status", **config)


def customers(services: Services, *names: str) -> dict[str, int]:
    return add_customers(services, *({"external_id": name, "email": f"{name}@example.com"} for name in names))


def message_of(services: Services, node_id: str, customer_id: int) -> int:
    query = select(messages.c.id).where(messages.c.node_id == node_id, messages.c.customer_id == customer_id)
    with services.db.engine.connect() as conn:
        return int(conn.execute(query.order_by(messages.c.id.desc()).limit(1)).scalar_one())


def track(services: Services, node_id: str, *events: tuple[int, Event]) -> None:
    """Record tracking events (as the pixel, the click redirect and provider webhooks do) on each customer's
    message from ``node_id``."""
    now = services.clock.now()
    batch = [TrackingEvent(message_of(services, node_id, customer), event, now) for customer, event in events]
    with services.db.engine.begin() as conn:
        record_events(conn, services.db.dialect, batch, now=now)


def set_message(services: Services, node_id: str, customer_id: int, **values: Any) -> None:
    message_id = message_of(services, node_id, customer_id)
    with services.db.engine.begin() as conn:
        conn.execute(update(messages).where(messages.c.id == message_id).values(**values))


def customers_at(services: Services, node_id: str) -> set[int]:
    with services.db.engine.connect() as conn:
        return set(conn.execute(select(messages.c.customer_id).where(messages.c.node_id == node_id)).scalars())


def test_e5_three_days_after_the_email_four_kinds_of_customers_are_routed(services: Services) -> None:
    ids = customers(services, "clicker", "ignorer", "bounced", "failed", "reader")
    engaged = make_audience(services, "Engaged")
    campaign_id = start(
        services,
        document(
            [
                email_node("e1"),
                wait_node("w3", 3),
                check(),  # the nearest send_email upstream: e1
                node("bonus", "audience_action", audience=engaged),  # stands in for Accrue bonuses
                email_node("sms", "Did you see our offer?"),  # stands in for Send SMS
                email_node("again", "Our offer, once more"),
            ],
            [
                edge("trigger", "e1"),
                edge("e1", "w3"),
                edge("w3", "chk"),
                edge("chk", "bonus", criteria="read_clicked"),
                edge("chk", "sms", criteria="delivered_not_read"),
                edge("chk", "again", criteria="undelivered"),
            ],
        ),
    )
    began = services.clock.now()
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert mailbox_count(services) == 5  # the sandbox took every e-mail: status sent
    advance(services, hours=5)
    track(services, "e1", (ids["clicker"], "open"), (ids["clicker"], "click"), (ids["reader"], "open"))
    track(services, "e1", (ids["bounced"], "bounced"))
    set_message(services, "e1", ids["failed"], status="failed", sent_at=None, error="delivery interrupted")

    advance_to(services, began + timedelta(days=3) - timedelta(seconds=1))
    assert all(where_is(services, customer) == ["w3"] for customer in ids.values())
    advance(services, minutes=1)

    assert members_of(services, engaged) == {ids["clicker"]}
    assert customers_at(services, "sms") == {ids["ignorer"]}
    assert customers_at(services, "again") == {ids["bounced"], ids["failed"]}
    assert mailbox_count(services, "ignorer@example.com") == 2
    assert mailbox_count(services, "bounced@example.com") == 2
    assert trace(services, ids["clicker"])[-2:] == [
        ("chk", "performed", "read_clicked", None),
        ("bonus", "performed", "out", None),
    ]
    assert trace(services, ids["reader"])[-1] == ("chk", "dropped", None, "no_matching_criteria")
    assert where_is(services, ids["reader"]) == []
    assert node_metrics(counters(services, campaign_id), "chk") == {
        "entered": 5,
        "performed": 4,
        "port:read_clicked": 1,
        "port:delivered_not_read": 1,
        "port:undelivered": 2,
        "dropped:no_matching_criteria": 1,
    }
    assert unbalanced_counters(services, campaign_id) == {}


def _all_four(upstream: list[dict[str, Any]], upstream_edges: list[dict[str, Any]]) -> dict[str, Any]:
    """``upstream`` then the check, whose four criteria each lead to a wait of their own."""
    statuses = ["undelivered", "delivered_not_read", "read_no_click", "read_clicked"]
    return document(
        [*upstream, check(), *(wait_node(f"w_{status}", 30) for status in statuses)],
        [*upstream_edges, *(edge("chk", f"w_{status}", criteria=status) for status in statuses)],
    )


def _status(services: Services, customer_id: int) -> str:
    (at,) = where_is(services, customer_id)
    return at.removeprefix("w_")


def test_the_rule_engagement_beats_a_bounce_a_click_implies_reading_and_a_sent_email_is_delivered(
    services: Services,
) -> None:
    names = ["sent", "delivered", "opened_bounced", "clicked_only", "undeliverable", "bounced", "complained"]
    ids = customers(services, *names)
    upstream = [email_node("e1"), wait_node("w1", 1)]
    campaign_id = start(services, _all_four(upstream, [edge("trigger", "e1"), edge("e1", "w1"), edge("w1", "chk")]))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    track(services, "e1", (ids["delivered"], "delivered"), (ids["bounced"], "bounced"))
    track(services, "e1", (ids["opened_bounced"], "open"), (ids["opened_bounced"], "bounced"))
    track(services, "e1", (ids["complained"], "spam"))
    # a click seen without the open pixel (images blocked), written as a provider that reports only clicks would
    set_message(services, "e1", ids["clicked_only"], clicked_at=services.clock.now())
    set_message(services, "e1", ids["undeliverable"], status="undeliverable", sent_at=None)
    advance(services, days=1, minutes=1)
    assert {name: _status(services, ids[name]) for name in names} == {
        "sent": "delivered_not_read",
        "delivered": "delivered_not_read",
        "opened_bounced": "read_no_click",
        "clicked_only": "read_clicked",
        "undeliverable": "undelivered",
        "bounced": "undelivered",
        "complained": "delivered_not_read",  # a spam complaint is a flag; the e-mail did arrive
    }
    assert unbalanced_counters(services, campaign_id) == {}


def test_customers_without_the_email_in_this_entry_are_undelivered(services: Services) -> None:
    """A branch that skips the e-mail, and a control-group customer whose e-mail was suppressed, have no message;
    the check itself is not customer-facing, so the control customer is routed like anyone else."""
    ids = customers(services, "mailed", "held_out")
    ids |= add_customers(services, {"external_id": "skipped", "email": "skipped@example.com", "city": "Riga"})
    holdout = make_audience(services, "Holdout", [ids["held_out"]])
    upstream = [
        node("cg", "control_group", method="audience", audience=holdout),
        node("f1", "filter_customers", condition={"field": "city", "op": "equals", "value": "Riga"}),
        email_node("e1"),
        wait_node("w1", 1),
    ]
    edges = [
        edge("trigger", "cg"),
        edge("cg", "f1"),
        edge("f1", "w1", source_port="yes"),
        edge("f1", "e1", source_port="no"),
        edge("e1", "w1"),
        edge("w1", "chk"),
    ]
    campaign_id = start(services, _all_four(upstream, edges))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, days=1, minutes=1)
    assert customers_at(services, "e1") == {ids["mailed"]}
    assert trace(services, ids["held_out"])[3] == ("e1", "performed", "out", "control_group")
    assert {name: _status(services, customer) for name, customer in ids.items()} == {
        "mailed": "delivered_not_read",
        "skipped": "undelivered",
        "held_out": "undelivered",
    }
    assert trace(services, ids["held_out"])[-1] == ("chk", "performed", "undelivered", None)
    assert unbalanced_counters(services, campaign_id) == {}


def test_email_node_names_which_email_and_only_this_entrys_message_counts(services: Services) -> None:
    ids = customers(services, "ann")
    nodes = [email_node("first"), email_node("second"), wait_node("w1", 1), check(email_node="first")]
    campaign_id = start(
        services,
        document(
            [*nodes, node("clicked", "audience_action", create_audience="Clicked the first")],
            [
                edge("trigger", "first"),
                edge("first", "second"),
                edge("second", "w1"),
                edge("w1", "chk"),
                edge("chk", "clicked", criteria="read_clicked"),
            ],
        ),
    )
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, minutes=1)
    track(services, "first", (ids["ann"], "click"))
    advance(services, days=1, minutes=1)
    clicked = audience_ids(services)["Clicked the first"]
    assert members_of(services, clicked) == {ids["ann"]}

    # a second entry: the click on the first entry's e-mail is not this entry's status
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, minutes=1)
    track(services, "second", (ids["ann"], "click"))  # the other e-mail of this entry
    advance(services, days=1, minutes=1)
    assert trace(services, ids["ann"])[-1] == ("chk", "dropped", None, "no_matching_criteria")
    assert unbalanced_counters(services, campaign_id) == {}


# -- the document: criteria on edges, the referenced e-mail --------------------------------------------------


def problems(raw: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(DocumentInvalid) as raised:
        parse_document(raw)
    details: list[dict[str, Any]] = raised.value.details
    return details


def only(raw: dict[str, Any]) -> dict[str, Any]:
    found = problems(raw)
    assert len(found) == 1, found
    return found[0]


def first(raw: dict[str, Any]) -> dict[str, Any]:
    """The first problem: a refused edge also leaves its target unreachable."""
    return problems(raw)[0]


BASE = [email_node("e1"), wait_node("w1", 3), check(), wait_node("w2", 1)]
BASE_EDGES = [edge("trigger", "e1"), edge("e1", "w1"), edge("w1", "chk")]


def test_a_valid_document_keeps_its_criteria_and_other_edges_do_not_grow_the_field() -> None:
    raw = document(BASE, [*BASE_EDGES, edge("chk", "w2", criteria="read_no_click")])
    parsed = parse_document(raw)
    assert parsed.targets("chk", "read_no_click") == ["w2"]
    dumped = parsed.model_dump(mode="json")["edges"]
    assert dumped[-1]["criteria"] == "read_no_click"
    assert all("criteria" not in item for item in dumped[:-1])
    both = document(BASE, [*BASE_EDGES, edge("chk", "w2", criteria="read_no_click", source_port="read_no_click")])
    assert parse_document(both).targets("chk", "read_no_click") == ["w2"]


def test_criteria_on_an_edge_that_does_not_leave_a_check_is_refused() -> None:
    found = first(document(BASE, [*BASE_EDGES[:2], edge("w1", "chk", criteria="read_clicked")]))
    assert (found["node"], found["field"]) == ("w1", "edges[2].criteria")
    assert "only on edges leaving a check_email_status" in found["message"]


def test_an_unknown_criterion_names_the_node_the_field_and_the_choices() -> None:
    found = only(document(BASE, [*BASE_EDGES, edge("chk", "w2", criteria="opened")]))
    assert (found["node"], found["field"]) == ("chk", "edges[3].criteria")
    for status in ("undelivered", "delivered_not_read", "read_no_click", "read_clicked"):
        assert status in found["message"]


def test_an_edge_leaving_the_check_needs_criteria_and_a_port_may_only_repeat_them() -> None:
    missing = first(document(BASE, [*BASE_EDGES, edge("chk", "w2")]))
    assert (missing["node"], missing["field"]) == ("chk", "edges[3].criteria")
    assert "needs criteria" in missing["message"]
    as_port = first(document(BASE, [*BASE_EDGES, edge("chk", "w2", source_port="read_clicked")]))
    assert (as_port["node"], as_port["field"]) == ("chk", "edges[3].criteria")
    differing = first(document(BASE, [*BASE_EDGES, edge("chk", "w2", criteria="read_clicked", source_port="out")]))
    assert (differing["node"], differing["field"]) == ("chk", "edges[3].source_port")


def test_the_default_email_must_exist_upstream_and_be_unambiguous() -> None:
    none_upstream = only(document([wait_node("w1", 1), check()], [edge("trigger", "w1"), edge("w1", "chk")]))
    assert none_upstream == {
        "node": "chk",
        "field": "config.email_node",
        "message": "no send_email node lies upstream; add one before this node",
    }
    downstream_only = only(
        document([check(), email_node("e1")], [edge("trigger", "chk"), edge("chk", "e1", criteria="undelivered")])
    )
    assert (downstream_only["node"], downstream_only["field"]) == ("chk", "config.email_node")
    twins = only(
        document(
            [node("f1", "filter_customers"), email_node("a"), email_node("b"), check()],
            [
                edge("trigger", "f1"),
                edge("f1", "a", source_port="yes"),
                edge("f1", "b", source_port="no"),
                edge("a", "chk"),
                edge("b", "chk"),
            ],
        )
    )
    assert (twins["node"], twins["field"]) == ("chk", "config.email_node")
    assert "'a', 'b' are equally near" in twins["message"]
    nearer = document(
        [email_node("far"), email_node("near"), check()],
        [edge("trigger", "far"), edge("far", "near"), edge("near", "chk"), edge("trigger", "chk")],
    )
    parsed = parse_document(nearer)
    assert parsed.node("chk").config.email_node is None


def test_a_named_email_node_must_be_an_upstream_send_email() -> None:
    downstream = only(
        document(
            [email_node("e1"), check(email_node="e2"), email_node("e2")],
            [edge("trigger", "e1"), edge("e1", "chk"), edge("chk", "e2", criteria="undelivered")],
        )
    )
    assert (downstream["node"], downstream["field"]) == ("chk", "config.email_node")
    assert "not upstream" in downstream["message"]
    a_wait = only(document([*BASE[:2], check(email_node="w1")], BASE_EDGES))
    assert a_wait["message"] == "node 'w1' is a wait, not a send_email"
    unknown = only(document([*BASE[:2], check(email_node="ghost")], BASE_EDGES))
    assert unknown["field"] == "config.email_node" and "unknown node 'ghost'" in unknown["message"]
