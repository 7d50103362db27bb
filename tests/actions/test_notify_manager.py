"""Notify manager (D8): a note per customer to the chosen user, else the responsible manager, else a manager
round-robin; output = all input customers; control customers are left out unless asked; one note per entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

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
)
from tidings.services import Services
from tidings.store.tables import customers, mailbox, messages, users


def notify(node_id: str = "m1", **config: Any) -> dict[str, Any]:
    defaults = {"subject": "Call {{ customer.first_name }}", "body_html": "<p>{{ customer.external_id }} is back</p>"}
    return node(node_id, "notify_manager", **(defaults | config))


def add_user(services: Services, email: str, *, manager: bool = True, active: bool = True) -> int:
    with services.db.engine.begin() as conn:
        inserted = conn.execute(
            users.insert().values(
                email=email,
                name=email.split("@")[0],
                role="marketer",
                manager=manager,
                active=active,
                created_at=services.clock.now(),
            )
        ).inserted_primary_key
    assert inserted is not None
    return int(inserted[0])


def assign(services: Services, customer_id: int, user_id: int) -> None:
    with services.db.engine.begin() as conn:
        conn.execute(update(customers).where(customers.c.id == customer_id).values(manager_id=user_id))


def notes(services: Services, campaign_id: int) -> dict[int, str]:
    """Recipient of each customer's note, by customer id."""
    query = select(messages.c.customer_id, messages.c.recipient, messages.c.channel).where(
        messages.c.campaign_id == campaign_id
    )
    with services.db.engine.connect() as conn:
        rows = conn.execute(query).all()
    assert all(row.channel == "email" for row in rows)
    return {row.customer_id: row.recipient for row in rows}


def chain(**config: Any) -> dict[str, Any]:
    return campaign(notify(**config), wait_node("w1", 1), edges=[("trigger", "m1"), ("m1", "w1")])


def test_automatic_the_responsible_manager_else_managers_in_turn(services: Services) -> None:
    mia = add_user(services, "mia@example.com")
    add_user(services, "root@example.com", manager=False)  # not a manager: never picked in turn
    add_user(services, "gone@example.com", active=False)  # deactivated: never picked in turn
    leo = add_user(services, "leo@example.com")
    boss = add_user(services, "boss@example.com", manager=False)
    ids = add_customers(services, *({"external_id": f"c{i}", "first_name": f"C{i}"} for i in range(6)))
    assign(services, ids["c0"], boss)  # any user may be a customer's responsible manager
    assign(services, ids["c1"], mia)
    campaign_id = start(services, chain())
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)

    in_turn = ["mia@example.com", "leo@example.com"]  # managers by id
    expected = {ids["c0"]: "boss@example.com", ids["c1"]: "mia@example.com"}
    expected |= {ids[f"c{i}"]: in_turn[ids[f"c{i}"] % 2] for i in range(2, 6)}
    assert notes(services, campaign_id) == expected
    assert {in_turn[ids[f"c{i}"] % 2] for i in range(2, 6)} == set(in_turn)  # spread over both
    assert leo > mia

    with services.db.engine.connect() as conn:
        mail = conn.execute(select(mailbox.c.recipient, mailbox.c.subject, mailbox.c.body_html)).all()
    assert ("boss@example.com", "Call C0") in {(row.recipient, row.subject) for row in mail}
    assert any("c0 is back" in row.body_html for row in mail)
    assert node_metrics(counters(services, campaign_id), "m1") == {"entered": 6, "performed": 6, "port:out": 6}
    assert all(trace(services, customer)[-1] == ("m1", "performed", "out", None) for customer in ids.values())
    assert unbalanced_counters(services, campaign_id) == {}


def test_a_chosen_user_gets_every_note_whatever_the_customers_consent(services: Services) -> None:
    add_user(services, "mia@example.com")
    chosen = add_user(services, "root@example.com", manager=False)
    ids = add_customers(
        services,
        {"external_id": "quiet", "email": "quiet@example.com", "subscriptions": {"email": False}},
        {"external_id": "no_email"},
    )
    campaign_id = start(services, chain(user=chosen))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert notes(services, campaign_id) == {customer: "root@example.com" for customer in ids.values()}


def test_without_a_recipient_customers_go_on_counted_as_no_manager(services: Services) -> None:
    ids = add_customers(services, {"external_id": "ann"})
    nobody = start(services, chain())  # automatic, and no user is a manager
    gone = start(services, chain(user=4242))  # a chosen user who does not exist
    for campaign_id in (nobody, gone):
        services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, minutes=1)
    for campaign_id in (nobody, gone):
        assert notes(services, campaign_id) == {}
        assert node_metrics(counters(services, campaign_id), "m1") == {
            "entered": 1,
            "performed": 1,
            "port:out": 1,
            "suppressed:no_manager": 1,
        }
        assert counters(services, campaign_id)[("w1", "entered")] == 1
    assert trace(services, ids["ann"])[-1] == ("m1", "performed", "out", "no_manager")


def test_control_customers_are_left_out_unless_asked(services: Services) -> None:
    add_user(services, "mia@example.com")
    ids = add_customers(services, {"external_id": "main"}, {"external_id": "held_out"})
    holdout = make_audience(services, "Holdout", [ids["held_out"]])

    def document(**config: Any) -> dict[str, Any]:
        return campaign(
            node("cg", "control_group", method="audience", audience=holdout),
            notify(**config),
            wait_node("w1", 1),
            edges=[("trigger", "cg"), ("cg", "m1"), ("m1", "w1")],
        )

    left_out = start(services, document())
    included = start(services, document(include_control_group=True))
    for campaign_id in (left_out, included):
        services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert set(notes(services, left_out)) == {ids["main"]}
    assert node_metrics(counters(services, left_out), "m1")["suppressed:control_group"] == 1
    assert set(notes(services, included)) == {ids["main"], ids["held_out"]}
    for campaign_id in (left_out, included):
        assert counters(services, campaign_id)[("w1", "entered")] == 2
        assert unbalanced_counters(services, campaign_id) == {}


def test_merged_branches_report_a_customer_once_per_entry(services: Services) -> None:
    add_user(services, "mia@example.com")
    ids = add_customers(services, {"external_id": "ann"})
    campaign_id = start(
        services,
        campaign(
            wait_node("a", 1, "minutes"),
            wait_node("b", 1, "minutes"),
            wait_node("c", 1, "hours"),
            notify(),
            edges=[("trigger", "a"), ("trigger", "b"), ("trigger", "c"), ("a", "m1"), ("b", "m1"), ("c", "m1")],
        ),
    )
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, hours=2)
    assert notes(services, campaign_id) == {ids["ann"]: "mia@example.com"}
    outcomes = sorted((row[1], str(row[3])) for row in trace(services, ids["ann"]) if row[0] == "m1")
    assert outcomes == [("dropped", "already_sent"), ("dropped", "already_sent"), ("performed", "None")]
    assert unbalanced_counters(services, campaign_id) == {}


def test_a_note_is_not_tracked(services: Services) -> None:
    """The manager's opens and clicks are not the customer's: no pixel, no tracked links (and, over SMTP, no
    unsubscribe headers: ``test_smtp_provider``)."""
    mia = add_user(services, "mia@example.com")
    ids = add_customers(services, {"external_id": "vip", "first_name": "Vera"})
    body = '<p>{{ customer.external_id }} left a cart: <a href="https://crm.example/c/1">open in the CRM</a></p>'
    campaign_id = start(services, chain(user=mia, body_html=body))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)

    with services.db.engine.connect() as conn:
        [(stored, status)] = conn.execute(select(messages.c.body, messages.c.status)).all()
        [received] = conn.execute(select(mailbox.c.body_html)).scalars().all()
    expected = '<p>vip left a cart: <a href="https://crm.example/c/1">open in the CRM</a></p>'
    assert received == stored == expected  # the link as written, no open pixel
    assert status == "sent"
