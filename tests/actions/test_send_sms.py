"""Send SMS: eligibility (E6), the delivery window in the recipient's time zone (E4), the campaign example of
E14, the Viber → SMS channel choice, and config validation. Delivered to the sandbox on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.actions.helpers import node
from tests.engine.helpers import (
    add_category,
    add_customers,
    advance,
    advance_to,
    campaign,
    counters,
    email_node,
    post_events,
    start,
    subscribe_category,
    trace,
    wait_node,
    where_is,
)
from tidings.core.errors import DocumentInvalid
from tidings.document.validation import parse_document
from tidings.services import Services
from tidings.store.account import save_account
from tidings.store.tables import customers, messages
from tidings.store.tracking import TrackingEvent, record_events


def sms(node_id: str, **config: Any) -> dict[str, Any]:
    return node(node_id, "send_sms", **({"text": "Hi {{ customer.first_name }}"} | config))


def account(services: Services, timezone: str, start: int = 9 * 60, end: int = 21 * 60) -> None:
    with services.db.engine.begin() as conn:
        save_account(conn, {"timezone": timezone, "delivery_window_start": start, "delivery_window_end": end})


def message_rows(services: Services, node_id: str | None = None) -> list[dict[str, Any]]:
    query = select(messages).order_by(messages.c.id)
    if node_id is not None:
        query = query.where(messages.c.node_id == node_id)
    with services.db.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """2026-01-<day> hour:minute UTC."""
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


# -- E4: the delivery window -----------------------------------------------------------------------------------
def test_e4_sms_fired_at_2230_local_is_sent_at_0900_next_day(services: Services) -> None:
    account(services, "Europe/Riga")  # UTC+2 in January
    add_customers(services, {"external_id": "ann", "phone": "+37120000001", "first_name": "Ann"})
    campaign_id = start(services, campaign(sms("s1"), wait_node("w1", 1), edges=[("trigger", "s1"), ("s1", "w1")]))
    advance_to(services, at(5, 20, 30))  # 22:30 in Riga
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, minutes=1)

    [queued] = message_rows(services)
    assert (queued["status"], queued["send_after"]) == ("queued", at(6, 7))  # 09:00 in Riga
    assert where_is(services, queued["customer_id"]) == ["w1"]  # the customer moved on at once (D14)

    advance_to(services, at(6, 12))
    [sent] = message_rows(services)
    assert (sent["status"], sent["sent_at"], sent["provider"]) == ("sent", at(6, 7), "sandbox")
    assert (sent["channel"], sent["recipient"], sent["body"]) == ("sms", "+37120000001", "Hi Ann")


def test_e4_deliver_immediately_sends_at_2230(services: Services) -> None:
    account(services, "Europe/Riga")
    add_customers(services, {"external_id": "ann", "phone": "+37120000001", "first_name": "Ann"})
    campaign_id = start(services, campaign(sms("s1", deliver_immediately=True), edges=[("trigger", "s1")]))
    advance_to(services, at(5, 20, 30))
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, minutes=1)

    [sent] = message_rows(services)
    assert (sent["status"], sent["sent_at"]) == ("sent", at(5, 20, 30))


def test_e4_a_customer_in_another_time_zone_gets_it_at_0900_their_time(services: Services) -> None:
    account(services, "Europe/Riga")
    add_customers(
        services,
        {"external_id": "ann", "phone": "+37120000001", "timezone": "Europe/London"},  # UTC+0: Riga − 2 h
        {"external_id": "bob", "phone": "+37120000002"},  # no time zone: the account's
        {"external_id": "eve", "phone": "+37120000003"},
    )
    with services.db.engine.begin() as conn:  # a zone the API would refuse, from older data: the account's
        conn.execute(update(customers).where(customers.c.external_id == "eve").values(timezone="Mars/Olympus"))
    campaign_id = start(services, campaign(sms("s1"), edges=[("trigger", "s1")]))
    advance_to(services, at(6, 6))  # 08:00 in Riga, 06:00 in London
    services.campaigns.enroll(campaign_id, ["ann", "bob", "eve"], None)
    advance(services, minutes=1)

    by_recipient = {row["recipient"]: row for row in message_rows(services)}
    assert by_recipient["+37120000001"]["send_after"] == at(6, 9)  # 09:00 in London
    assert by_recipient["+37120000002"]["send_after"] == at(6, 7)  # 09:00 in Riga
    assert by_recipient["+37120000003"]["send_after"] == at(6, 7)
    advance_to(services, at(6, 8))
    assert {row["recipient"]: row["status"] for row in message_rows(services)} == {
        "+37120000001": "queued",
        "+37120000002": "sent",
        "+37120000003": "sent",
    }
    advance_to(services, at(6, 10))
    [ann] = [row for row in message_rows(services) if row["recipient"] == "+37120000001"]
    assert (ann["status"], ann["sent_at"]) == ("sent", at(6, 9))


def test_inside_the_window_the_sms_goes_at_once_and_the_window_end_is_exclusive(services: Services) -> None:
    account(services, "UTC")
    add_customers(
        services, {"external_id": "ann", "phone": "+37120000001"}, {"external_id": "bob", "phone": "+4412345678"}
    )
    campaign_id = start(services, campaign(sms("s1"), edges=[("trigger", "s1")]))
    advance_to(services, at(5, 20, 59))
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance_to(services, at(5, 21))
    services.campaigns.enroll(campaign_id, ["bob"], None)
    advance(services, minutes=1)
    sent_at = {row["recipient"]: row["send_after"] for row in message_rows(services)}
    assert sent_at == {"+37120000001": at(5, 20, 59), "+4412345678": at(6, 9)}


def test_a_window_opening_in_a_dst_gap_resolves_to_the_next_valid_instant(services: Services) -> None:
    # Europe/Riga springs forward on 2026-03-29 at 03:00 → 04:00; a window opening at 03:30 does not exist then
    account(services, "Europe/Riga", start=3 * 60 + 30, end=21 * 60)
    add_customers(services, {"external_id": "ann", "phone": "+37120000001"})
    campaign_id = start(services, campaign(sms("s1"), edges=[("trigger", "s1")]))
    advance_to(services, datetime(2026, 3, 28, 22, tzinfo=UTC))  # 00:00 local on the 29th
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, minutes=1)
    [queued] = message_rows(services)
    assert queued["send_after"] == datetime(2026, 3, 29, 1, tzinfo=UTC)  # 04:00 EEST, the gap's end


# -- E6: eligibility -------------------------------------------------------------------------------------------
def test_e6_five_customers_only_the_eligible_one_is_sent_and_reaches_the_child(services: Services) -> None:
    promo = add_category(services, "promo")
    ids = add_customers(
        services,
        {"external_id": "a", "phone": "+37120000001"},
        {"external_id": "b"},
        {"external_id": "c", "phone": "12345"},
        {"external_id": "d", "phone": "+37120000004", "subscriptions": {"sms": False}},
        {"external_id": "e", "phone": "+37120000005"},
    )
    for name in "abcd":
        subscribe_category(services, ids[name], promo, channel="sms")
    subscribe_category(services, ids["e"], promo, status="N", channel="sms")
    document = campaign(
        sms("s1", category="promo", deliver_immediately=True),
        wait_node("w1", 1),
        edges=[("trigger", "s1"), ("s1", "w1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)

    assert [(row["customer_id"], row["status"]) for row in message_rows(services)] == [(ids["a"], "sent")]
    assert where_is(services, ids["a"]) == ["w1"]
    reasons = {name: trace(services, ids[name])[-1] for name in "abcde"}
    assert reasons == {
        "a": ("s1", "performed", "out", None),
        "b": ("s1", "dropped", None, "no_contact"),
        "c": ("s1", "dropped", None, "invalid_contact"),
        "d": ("s1", "dropped", None, "unsubscribed_channel"),
        "e": ("s1", "dropped", None, "unsubscribed_category"),
    }
    assert all(where_is(services, ids[name]) == [] for name in "bcde")
    values = counters(services, campaign_id)
    assert values[("s1", "performed")] == 1 and values[("w1", "entered")] == 1
    for reason in ("no_contact", "invalid_contact", "unsubscribed_channel", "unsubscribed_category"):
        assert values[("s1", f"dropped:{reason}")] == 1


@pytest.mark.parametrize(
    ("phone", "valid"),
    [
        ("+37120000001", True),
        ("+1234567", True),  # 7 digits: the shortest
        ("+123456789012345", True),  # 15 digits: the longest
        ("+123456", False),
        ("+1234567890123456", False),
        ("+0123456789", False),
        ("37120000001", False),
        ("+3712000000a", False),
        ("+371 2000 0001", False),
        ("++37120000001", False),
    ],
)
def test_e164_validity(services: Services, phone: str, valid: bool) -> None:
    ids = add_customers(services, {"external_id": "ann"})
    with services.db.engine.begin() as conn:  # stored as given: the profile API would normalise some of these
        conn.execute(update(customers).where(customers.c.id == ids["ann"]).values(phone=phone))
    campaign_id = start(services, campaign(sms("s1", deliver_immediately=True), edges=[("trigger", "s1")]))
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, minutes=1)
    expected = ("s1", "performed", "out", None) if valid else ("s1", "dropped", None, "invalid_contact")
    assert trace(services, ids["ann"])[-1] == expected


def test_a_merged_branch_sends_once_and_control_customers_get_nothing(services: Services) -> None:
    ids = add_customers(services, *({"external_id": f"c{i}", "phone": f"+3712000{i:04d}"} for i in range(40)))
    document = campaign(
        node("cg", "control_group", percent=50),
        node("f1", "filter_customers", condition={"all": []}),
        sms("s1", deliver_immediately=True),
        edges=[("trigger", "cg"), ("cg", "f1"), ("f1", "s1", "yes"), ("cg", "s1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    values = counters(services, campaign_id)
    suppressed = values.get(("s1", "suppressed:control_group"), 0)
    assert 0 < suppressed < 40
    assert len(message_rows(services)) == 40 - suppressed  # one message per entry (D15), none for control (D1)
    assert values[("s1", "dropped:already_sent")] == 40


# -- Viber and the cascade: which channel ------------------------------------------------------------------------
def test_the_cascade_uses_viber_where_it_may_and_sms_for_those_who_refused_viber(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "ann", "phone": "+37120000001"},
        {"external_id": "bob", "phone": "+37120000002", "subscriptions": {"viber": False}},
        {"external_id": "eve", "phone": "+37120000003", "subscriptions": {"viber": False, "sms": False}},
    )
    campaign_id = start(
        services, campaign(sms("s1", mode="viber_sms", deliver_immediately=True), edges=[("trigger", "s1")])
    )
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)
    assert [(row["recipient"], row["channel"], row["status"]) for row in message_rows(services)] == [
        ("+37120000001", "viber", "sent"),
        ("+37120000002", "sms", "sent"),
    ]
    assert trace(services, ids["eve"])[-1] == ("s1", "dropped", None, "unsubscribed_channel")


def test_viber_only_mode_needs_the_viber_subscription(services: Services) -> None:
    ids = add_customers(
        services,
        {"external_id": "ann", "phone": "+37120000001"},
        {"external_id": "bob", "phone": "+37120000002", "subscriptions": {"viber": False}},
    )
    document = campaign(
        sms("s1", mode="viber", viber_button_text="Open", viber_button_url="https://shop.example/x"),
        edges=[("trigger", "s1")],
    )
    campaign_id = start(services, document)
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, days=1)
    assert [(row["channel"], row["status"]) for row in message_rows(services)] == [("viber", "sent")]
    assert trace(services, ids["bob"])[-1] == ("s1", "dropped", None, "unsubscribed_channel")


# -- E14: order → e-mail at 11:00 → 3 days → not opened and a phone → SMS, within the window -----------------------
def test_e14_order_email_three_days_then_sms_to_those_who_did_not_open(services: Services) -> None:
    account(services, "UTC")
    ids = add_customers(
        services,
        {"external_id": "opener", "email": "o@example.com", "phone": "+37120000001"},
        {"external_id": "ignorer", "email": "i@example.com", "phone": "+37120000002", "first_name": "Ivo"},
        {"external_id": "phoneless", "email": "p@example.com"},
        {"external_id": "late", "email": "l@example.com", "phone": "+37120000004"},
    )
    trigger = {"id": "trigger", "type": "event_occurred", "config": {"event": "order_placed"}}

    def document(campaign_id: int) -> dict[str, Any]:
        condition = {
            "all": [
                {"message": {"campaign": campaign_id, "node": "e1", "status": "opened"}, "op": "no"},
                {"field": "phone", "op": "not_empty"},
            ]
        }
        return campaign(
            wait_node("w1", 1, "hours"),
            email_node("e1", "Your order"),
            wait_node("w2", 3, "days"),
            node("f1", "filter_customers", condition=condition),
            sms("s1", text="{{ customer.first_name }}, your order is waiting"),
            edges=[("trigger", "w1"), ("w1", "e1"), ("e1", "w2"), ("w2", "f1"), ("f1", "s1", "yes")],
            trigger=trigger,
        )

    campaign_id = int(services.campaigns.create(document(1))["id"])
    services.campaigns.update(campaign_id, document(campaign_id))
    services.campaigns.transition(campaign_id, "activate")

    post_events(services, *((ids[name], "order_placed", {}) for name in ("opener", "ignorer", "phoneless")))  # 10:00
    advance_to(services, at(5, 20, 30))
    post_events(services, (ids["late"], "order_placed", {}))  # 20:30: its SMS falls at 21:30 on day 3
    advance_to(services, at(5, 21, 31))

    emails = {row["customer_id"]: row for row in message_rows(services, "e1")}
    assert {emails[ids[name]]["sent_at"] for name in ("opener", "ignorer", "phoneless")} == {at(5, 11)}
    assert emails[ids["late"]]["sent_at"] == at(5, 21, 30)
    with services.db.engine.begin() as conn:
        opened = [TrackingEvent(emails[ids["opener"]]["id"], "open", at(5, 12))]
        record_events(conn, services.db.dialect, opened, now=at(5, 12))

    advance_to(services, at(8, 10, 59))
    assert message_rows(services, "s1") == []
    advance_to(services, at(8, 11, 1))
    [ignorer] = message_rows(services, "s1")
    assert (ignorer["customer_id"], ignorer["sent_at"], ignorer["body"]) == (
        ids["ignorer"],
        at(8, 11),
        "Ivo, your order is waiting",
    )
    assert trace(services, ids["opener"])[-1] == ("f1", "performed", "no", None)
    assert trace(services, ids["phoneless"])[-1] == ("f1", "performed", "no", None)

    advance_to(services, at(9, 12))
    late = [row for row in message_rows(services, "s1") if row["customer_id"] == ids["late"]]
    assert [(row["created_at"], row["sent_at"]) for row in late] == [(at(8, 21, 30), at(9, 9))]  # held overnight


# -- configuration ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"text": ""}, "text"),
        ({"text": "x", "mode": "fax"}, "mode"),
        ({"text": "x", "viber_image_url": "https://x.example/i.png"}, "viber_image_url: only for mode"),
        ({"text": "x", "mode": "viber", "viber_button_text": "Go"}, "give both or neither"),
        ({"text": "x", "mode": "viber", "viber_image_url": "ftp://x"}, "not an http(s) URL"),
        ({"text": "x", "lifetime": {"amount": 0, "unit": "hours"}}, "lifetime"),
        ({"text": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_configs_are_refused_at_save_time(config: dict[str, Any], problem: str) -> None:
    with pytest.raises(DocumentInvalid) as refused:
        parse_document(campaign(node("s1", "send_sms", **config), edges=[("trigger", "s1")]))
    assert "s1" in str(refused.value.details) and problem in str(refused.value.details)


def test_the_lifetime_runs_from_the_window_opening(services: Services) -> None:
    account(services, "UTC")
    add_customers(services, {"external_id": "ann", "phone": "+37120000001"})
    document = campaign(sms("s1", lifetime={"amount": 2, "unit": "hours"}), edges=[("trigger", "s1")])
    campaign_id = start(services, document)
    advance_to(services, at(5, 23))
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, minutes=1)
    [queued] = message_rows(services)
    assert (queued["send_after"], queued["expires_at"]) == (at(6, 9), at(6, 9) + timedelta(hours=2))
