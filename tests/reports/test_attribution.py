"""Order attribution (spec 5.8): last touch among the messages received within each campaign's window."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from tests.conftest import START
from tests.engine.helpers import add_customers
from tests.reports.helpers import credited, make_campaign, message, order, post_orders
from tidings.document.campaign import CampaignSettings
from tidings.services import Services
from tidings.store.attribution import DEFAULT_ATTRIBUTION_DAYS
from tidings.store.order_import import import_orders
from tidings.store.tables import attributions

DAY = timedelta(days=1)


def test_an_order_is_credited_to_the_last_message_received_before_it(services: Services, client: httpx.Client) -> None:
    ids = add_customers(services, {"external_id": "ann"}, {"external_id": "bob"})
    first, second = make_campaign(services), make_campaign(services)
    ann, bob = ids["ann"], ids["bob"]
    message(services, first, ann, sent=START - 6 * DAY, opened=START - 5 * DAY)
    latest = message(services, second, ann, sent=START - 3 * DAY, opened=START - 2 * DAY)
    message(services, first, ann, sent=START - DAY)  # sent, never opened: not received
    message(services, second, ann, "sms", sent=START, delivered=START + DAY)  # received after the order
    sms = message(services, second, bob, "sms", sent=START - 3 * DAY, delivered=START - 3 * DAY)
    message(services, first, bob, sent=START - 5 * DAY, opened=START - 4 * DAY)
    post_orders(client, order("r-ann", "ann", START, total=25), order("r-bob", "bob", START))
    assert credited(services) == {"r-ann": latest, "r-bob": sms}
    with services.db.engine.connect() as conn:
        row = conn.execute(select(attributions).where(attributions.c.message_id == latest)).mappings().one()
    assert (row["campaign_id"], row["node_id"], row["customer_id"]) == (second, "e1", ann)
    assert (float(row["revenue"]), row["attributed_at"]) == (25.0, START - 2 * DAY)


def test_each_campaign_s_window_bounds_its_messages_both_ends_included(
    services: Services, client: httpx.Client
) -> None:
    ids = add_customers(services, *({"external_id": name} for name in ("ann", "bob", "cid", "dan")))
    short, long_, off = make_campaign(services, 2), make_campaign(services, 10), make_campaign(services, 0)
    older = message(services, long_, ids["ann"], sent=START - 7 * DAY, opened=START - 6 * DAY)
    message(services, short, ids["ann"], sent=START - 3 * DAY, opened=START - 3 * DAY)  # outside its 2 days
    edge = message(services, short, ids["bob"], sent=START - 2 * DAY, opened=START - 2 * DAY)  # exactly 2 days
    message(services, long_, ids["cid"], sent=START - 11 * DAY, opened=START - 10 * DAY - timedelta(seconds=1))
    message(services, off, ids["dan"], sent=START - DAY, opened=START - DAY)  # 0 days: attribution off
    now = message(services, long_, ids["dan"], sent=START, opened=START)  # received at the very moment
    post_orders(client, *(order(f"r-{name}", name, START) for name in ("ann", "bob", "cid", "dan")))
    assert credited(services) == {"r-ann": older, "r-bob": edge, "r-dan": now}


def test_received_means_opened_for_email_and_push_delivered_for_sms_and_viber(
    services: Services, client: httpx.Client
) -> None:
    names = ("email_delivered", "email_opened", "push_delivered", "push_opened", "sms", "viber", "app")
    ids = add_customers(services, *({"external_id": name} for name in names))
    campaign_id = make_campaign(services)
    at = START - DAY
    message(services, campaign_id, ids["email_delivered"], "email", sent=at, delivered=at)
    opened = message(services, campaign_id, ids["email_opened"], "email", sent=at, opened=at)
    message(services, campaign_id, ids["push_delivered"], "push", sent=at, delivered=at)
    pushed = message(services, campaign_id, ids["push_opened"], "push", sent=at, opened=at)
    sms = message(services, campaign_id, ids["sms"], "sms", sent=at, delivered=at)
    viber = message(services, campaign_id, ids["viber"], "viber", sent=at, delivered=at)
    message(services, campaign_id, ids["app"], "app", sent=at, opened=at)
    post_orders(client, *(order(f"r-{name}", name, START) for name in names))
    assert credited(services) == {"r-email_opened": opened, "r-push_opened": pushed, "r-sms": sms, "r-viber": viber}


def test_a_tie_in_time_goes_to_the_newer_message(services: Services, client: httpx.Client) -> None:
    ids = add_customers(services, {"external_id": "ann"})
    campaign_id = make_campaign(services)
    message(services, campaign_id, ids["ann"], sent=START - DAY, opened=START - DAY, node_id="a")
    newer = message(services, campaign_id, ids["ann"], "sms", sent=START - DAY, delivered=START - DAY, node_id="b")
    post_orders(client, order("r-1", "ann", START))
    assert credited(services) == {"r-1": newer}


def test_posting_an_order_again_recomputes_its_credit(services: Services, client: httpx.Client) -> None:
    ids = add_customers(services, {"external_id": "ann"})
    campaign_id = make_campaign(services, 3)
    touch = message(services, campaign_id, ids["ann"], sent=START - DAY, opened=START - DAY)
    post_orders(client, order("r-1", "ann", START))
    assert credited(services) == {"r-1": touch}
    post_orders(client, order("r-1", "ann", START, status="cancelled"))
    assert credited(services) == {}
    post_orders(client, order("r-1", "ann", START + 5 * DAY))  # outside the window now
    assert credited(services) == {}
    post_orders(client, order("r-1", "ann", START + DAY, status="returned"))
    assert credited(services) == {}
    post_orders(client, order("r-1", "ann", START + DAY))
    assert credited(services) == {"r-1": touch}


def test_an_open_reported_after_the_order_counts_when_the_order_is_attributed_again(
    services: Services, client: httpx.Client
) -> None:
    ids = add_customers(services, {"external_id": "ann"})
    campaign_id = make_campaign(services)
    post_orders(client, order("r-1", "ann", START))
    assert credited(services) == {}
    late = message(services, campaign_id, ids["ann"], sent=START - DAY, opened=START - DAY)
    post_orders(client, order("r-1", "ann", START))
    assert credited(services) == {"r-1": late}


def test_imported_orders_are_attributed(services: Services, tmp_path: Path) -> None:
    ids = add_customers(services, {"external_id": "ann"}, {"external_id": "bob"})
    campaign_id = make_campaign(services)
    touch = message(services, campaign_id, ids["ann"], sent=START - DAY, opened=START - DAY)
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(order(f"r-{n}", n, START)) + "\n" for n in ("ann", "bob")))
    report = import_orders(services.db, path, now=services.clock.now())
    assert report.imported == 2
    assert credited(services) == {"r-ann": touch}


def test_the_default_window_is_the_document_s() -> None:
    assert CampaignSettings().attribution_days == DEFAULT_ATTRIBUTION_DAYS
