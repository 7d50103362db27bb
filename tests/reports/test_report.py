"""The campaign report (spec 3.6, E15): orders credited to the campaign, main vs control, the A/B decisions."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from tests.actions.helpers import control_customers, node
from tests.api.helpers import error_of
from tests.engine.helpers import add_customers, advance, campaign, email_node, filter_node, start
from tests.reports.helpers import order, post_orders
from tidings.services import Services
from tidings.store.tables import messages, users
from tidings.store.tracking import TrackingEvent, record_events

DAY = timedelta(days=1)


def open_mail(services: Services, customers: list[int]) -> None:
    """The customers open the campaign's e-mail now."""
    now = services.clock.now()
    with services.db.engine.begin() as conn:
        ids = conn.execute(select(messages.c.id).where(messages.c.customer_id.in_(customers))).scalars().all()
        record_events(conn, services.db.dialect, [TrackingEvent(i, "open", now) for i in ids], now=now)


def report(client: httpx.Client, campaign_id: int) -> dict[str, Any]:
    response = client.get(f"/campaigns/{campaign_id}/report")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_e15_a_ten_percent_control_group_receives_nothing_and_the_table_compares_both(
    services: Services, client: httpx.Client
) -> None:
    ids = add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(10_000)))
    document = campaign(
        node("cg", "control_group", percent=10), email_node("e1"), edges=[("trigger", "cg"), ("cg", "e1")]
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    held_out = control_customers(services, campaign_id)
    assert 900 <= len(held_out) <= 1_100
    with services.db.engine.connect() as conn:
        contacted = set(conn.execute(select(messages.c.customer_id)).scalars())
    assert contacted.isdisjoint(held_out)  # no control customer is contacted
    by_id = {customer: external for external, customer in ids.items()}
    main = sorted(set(ids.values()) - held_out)
    control = sorted(held_out)

    advance(services, hours=2)
    open_mail(services, main[:400])  # 400 open; 300 of them buy, 50 of those twice
    advance(services, days=1)
    now = services.clock.now()
    rows = [order(f"m{c}", by_id[c], now, total=50) for c in main[:300]]
    rows += [order(f"m{c}-2", by_id[c], now + DAY, total=30) for c in main[:50]]
    rows += [order(f"n{c}", by_id[c], now, total=99) for c in main[400:420]]  # bought without opening: no credit
    rows += [order(f"y{c}", by_id[c], now + 12 * DAY, total=70) for c in main[420:425]]  # after the window
    rows += [order(f"k{c}", by_id[c], now, total=40) for c in control[:20]]  # control, inside the window
    rows += [order(f"x{c}", by_id[c], now + 12 * DAY, total=40) for c in control[20:25]]  # after the window
    rows += [order(f"z{c}", by_id[c], now, total=40, status="cancelled") for c in control[25:30]]
    post_orders(client, *rows)

    body = report(client, campaign_id)
    assert body["attribution_days"] == 10
    assert body["orders"] == {
        "orders": 350,
        "buyers": 300,
        "revenue": 300 * 50 + 50 * 30,
        "by_node": [{"node_id": "e1", "orders": 350, "buyers": 300, "revenue": 16_500.0}],
    }
    table = body["control_group"]
    n1, n2 = len(main), len(control)
    # the table measures both groups alike: every purchase within the window after entry, credited or not
    assert table["main"] == {
        "customers": n1,
        "sent": n1,
        "delivered": 400,
        "buyers": 320,
        "conversion": 320 / n1,
        "receipts": 370,
        "receipts_per_buyer": 370 / 320,
        "revenue": 18_480.0,
        "average_receipt": round(18_480 / 370, 2),
        "revenue_per_buyer": 57.75,
    }
    assert table["control"] == {
        "customers": n2,
        "sent": 0,
        "delivered": 0,
        "buyers": 20,
        "conversion": 20 / n2,
        "receipts": 20,
        "receipts_per_buyer": 1.0,
        "revenue": 800.0,
        "average_receipt": 40.0,
        "revenue_per_buyer": 40.0,
    }
    anticipated = round(n1 * (20 / n2) * 40.0, 2)  # E15: main size × control conversion × control average receipt
    assert table["anticipated_revenue"] == anticipated
    assert table["additional_revenue"] == round(18_480 - anticipated, 2)
    p1, p2 = 320 / n1, 20 / n2
    spread = 1.959964 * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    assert table["conversion_difference"] == p1 - p2
    assert table["conversion_difference_ci95"]["low"] == (p1 - p2) - spread
    assert table["conversion_difference_ci95"]["high"] == (p1 - p2) + spread


def test_anticipated_revenue_follows_control_buyers_who_buy_again(services: Services, client: httpx.Client) -> None:
    ids = add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(300)))
    document = campaign(
        node("cg", "control_group", percent=50), email_node("e1"), edges=[("trigger", "cg"), ("cg", "e1")]
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    by_id = {customer: external for external, customer in ids.items()}
    control = sorted(control_customers(services, campaign_id))
    now = services.clock.now()
    post_orders(
        client,
        *(order(f"a{c}", by_id[c], now + DAY, total=20) for c in control[:10]),
        *(order(f"b{c}", by_id[c], now + 2 * DAY, total=10) for c in control[:10]),
    )
    table = report(client, campaign_id)["control_group"]
    assert (table["control"]["buyers"], table["control"]["receipts"], table["control"]["revenue"]) == (10, 20, 300.0)
    main = table["main"]["customers"]
    # main customers × conversion × receipts per buyer × average receipt = main customers × revenue per customer
    assert table["anticipated_revenue"] == round(main * (10 / len(control)) * 2 * 15, 2)
    assert table["additional_revenue"] == -table["anticipated_revenue"]


def test_a_campaign_that_changes_nothing_shows_no_uplift(services: Services, client: httpx.Client) -> None:
    """Every customer buys the same, whether sent the e-mail or not, and nobody opens it: the two groups must look
    alike (counting only the main group's credited orders would show it losing every sale)."""
    ids = add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(200)))
    document = campaign(
        node("cg", "control_group", percent=50), email_node("e1"), edges=[("trigger", "cg"), ("cg", "e1")]
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    now = services.clock.now()
    post_orders(client, *(order(f"o-{external}", external, now + DAY, total=25) for external in ids))

    body = report(client, campaign_id)
    table = body["control_group"]
    assert body["orders"]["orders"] == 0  # nothing is credited to an e-mail nobody opened
    assert table["main"]["conversion"] == table["control"]["conversion"] == 1.0
    assert table["main"]["revenue"] == 25.0 * table["main"]["customers"]
    assert table["conversion_difference"] == 0
    assert table["additional_revenue"] == 0


def test_only_customers_who_reached_the_split_are_compared(services: Services, client: httpx.Client) -> None:
    ids = add_customers(
        services,
        *(
            {"external_id": f"c{i}", "email": f"c{i}@example.com", "city": "Riga" if i < 60 else "Oslo"}
            for i in range(100)
        ),
    )
    document = campaign(
        filter_node("f1", {"field": "city", "op": "equals", "value": "Riga"}),
        node("cg", "control_group", percent=30),
        email_node("e1"),
        edges=[("trigger", "f1"), ("f1", "cg", "yes"), ("cg", "e1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    table = report(client, campaign_id)["control_group"]
    held_out = len(control_customers(services, campaign_id))
    assert (table["main"]["customers"], table["control"]["customers"]) == (60 - held_out, held_out)


def test_a_campaign_without_a_control_group_reports_its_main_group_alone(
    services: Services, client: httpx.Client
) -> None:
    ids = add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(5)))
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    table = report(client, campaign_id)["control_group"]
    assert (table["main"]["customers"], table["main"]["sent"]) == (5, 5)
    assert table["control"]["customers"] == 0
    assert table["anticipated_revenue"] is None and table["conversion_difference_ci95"] is None


def test_the_report_shows_each_a_b_test_and_its_decisions(services: Services, client: httpx.Client) -> None:
    ids = add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(6)))
    document = campaign(
        {**node("ab", "ab_test", variants=2, sample_size=4, evaluation_days=2), "title": "Subject lines"},
        email_node("e1"),
        email_node("e2"),
        edges=[("trigger", "ab"), ("ab", "e1"), ("ab", "e2")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    [test] = report(client, campaign_id)["ab_tests"]
    full = test["sample_full_at"]
    assert test | {"sample_full_at": None, "decide_at": None} == {
        "node_id": "ab",
        "title": "Subject lines",
        "in_document": True,
        "sample_size": 4,
        "criterion": "opens",
        "round": 1,
        "assigned": 4,
        "dealt": {"variant-1": 2, "variant-2": 2},
        "sample_full_at": None,
        "decide_at": None,
        "winner": None,
        "restart_at": None,
        "decisions": [],
    }
    assert full is not None and test["decide_at"] is not None
    advance(services, days=2)
    [test] = report(client, campaign_id)["ab_tests"]
    assert test["winner"] == 1
    [decision] = test["decisions"]
    assert decision | {"decided_at": None} == {
        "round": 1,
        "criterion": "opens",
        "winner": 1,
        "winner_port": "variant-1",
        "decided_at": None,
        "counts": [
            {"variant": 1, "port": "variant-1", "customers": 2, "value": 0},
            {"variant": 2, "port": "variant-2", "customers": 2, "value": 0},
        ],
    }


def test_an_unknown_campaign_has_no_report(client: httpx.Client) -> None:
    assert error_of(client.get("/campaigns/999/report"), 404)["code"] == "not_found"


def test_the_campaign_list_carries_each_campaign_s_credited_orders_and_revenue(
    services: Services, client: httpx.Client
) -> None:
    ids = add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(5)))
    credited = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    quiet = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]) | {"name": "Quiet"})
    services.campaigns.enroll(credited, ["c0", "c1", "c2"], None)
    advance(services, minutes=1)
    open_mail(services, [ids["c0"], ids["c1"]])
    advance(services, hours=1)
    now = services.clock.now()
    post_orders(
        client,
        order("o1", "c0", now, total=12.5),
        order("o2", "c1", now, total=20),
        order("o3", "c2", now, total=99),  # never opened: not credited
        order("o4", "c3", now, total=99),  # not in the campaign
    )

    listed = {item["id"]: item for item in client.get("/campaigns").json()["items"]}
    assert (listed[credited]["orders"], listed[credited]["revenue"]) == (2, 32.5)
    assert (listed[quiet]["orders"], listed[quiet]["revenue"]) == (0, 0.0)


def test_notes_to_managers_do_not_count_as_customers_reached(services: Services, client: httpx.Client) -> None:
    add_customers(services, *({"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(3)))
    with services.db.engine.begin() as conn:
        now = services.clock.now()
        mia = {"email": "mia@example.com", "name": "Mia", "role": "marketer", "manager": True, "created_at": now}
        conn.execute(users.insert().values(**mia))
    note = node("m1", "notify_manager", subject="Call {{ customer.external_id }}", body_html="<p>Call</p>")
    document = campaign(note, email_node("e1"), edges=[("trigger", "m1"), ("m1", "e1")])
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, ["c0"], None)
    advance(services, minutes=1)
    document_only_notes = campaign(note, edges=[("trigger", "m1")])
    notes_only = start(services, document_only_notes | {"name": "Notes only"})
    services.campaigns.enroll(notes_only, ["c1", "c2"], None)
    advance(services, minutes=1)

    assert report(client, campaign_id)["control_group"]["main"]["sent"] == 1  # the e-mail, not the note
    assert report(client, notes_only)["control_group"]["main"]["sent"] == 0

    # the note node removed in a later version: its notes still never reached anyone
    services.campaigns.update(notes_only, campaign(email_node("e1"), edges=[("trigger", "e1")]) | {"name": "E"})
    assert report(client, notes_only)["control_group"]["main"]["sent"] == 0
