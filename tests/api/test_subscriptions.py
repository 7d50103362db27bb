"""Channel and category subscriptions through the API (spec 5.2): Y / N / ND, the loyalty sync rule (E22), the
PATCH semantics (E23), the batch with per-row errors, and send_email eligibility following what the API set."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import select

from tests.api.helpers import add_customers, error_of
from tests.engine.helpers import advance, campaign, counters, mailbox_count, start, trace
from tidings.services import Services
from tidings.store.tables import category_subscriptions, channel_subscriptions, customers, loyalty_requests

ALL_Y = {"email": "Y", "sms": "Y", "viber": "Y", "push": "Y", "app": "Y"}


def add_categories(client: httpx.Client, *codes: str) -> None:
    for code in codes:
        response = client.post("/categories", json={"code": code, "name": code.title()})
        assert response.status_code == 201, response.text


def sync_requests(services: Services) -> list[dict[str, Any]]:
    """The loyalty requests recorded, with the customer's external id."""
    query = (
        select(loyalty_requests, customers.c.external_id)
        .join(customers, customers.c.id == loyalty_requests.c.customer_id)
        .order_by(loyalty_requests.c.id)
    )
    with services.db.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def sync_payloads(services: Services) -> list[tuple[str, dict[str, Any]]]:
    return [(row["external_id"], row["payload"]) for row in sync_requests(services)]


def patch(client: httpx.Client, customer: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.patch(f"/customers/{customer}/subscriptions", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# -- channels -------------------------------------------------------------------------------------------------
def test_channels_default_to_subscribed_and_only_given_channels_change(client: httpx.Client) -> None:
    add_customers(client, {"external_id": "ann", "email": "ann@example.com", "subscriptions": {"sms": False}})
    assert client.get("/customers/ann/channels").json() == {**ALL_Y, "sms": "N"}

    changed = client.post("/customers/ann/channels", json={"email": "N", "push": "Y", "sms": "Y"})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {**ALL_Y, "email": "N"}
    assert client.get("/customers/ann/channels").json() == {**ALL_Y, "email": "N"}
    assert client.post("/customers/ann/channels", json={"viber": "N"}).json() == {**ALL_Y, "email": "N", "viber": "N"}
    # the profile shows the same consent
    assert client.get("/customers/ann").json()["subscriptions"] == {
        "email": False,
        "sms": True,
        "push": True,
        "viber": False,
    }


def test_channel_changes_are_validated(client: httpx.Client) -> None:
    add_customers(client, {"external_id": "ann"})
    for body, field in (
        ({"email": "X"}, "email"),
        ({"email": "ND"}, "email"),  # ND is for categories: a channel is on or off
        ({"email": True}, "email"),
        ({"fax": "N"}, "fax"),
        ({}, None),
        (["email"], None),
    ):
        error = error_of(client.post("/customers/ann/channels", json=body), 422)
        assert error["code"] == "invalid_input"
        assert (error["details"][0]["field"] or "").split(".")[0] == (field or ""), (body, error)
    assert client.get("/customers/ann/channels").json() == ALL_Y
    for method in ("GET", "POST"):
        error = error_of(client.request(method, "/customers/nobody/channels", json={"email": "N"}), 404)
        assert error["details"] == {"external_id": "nobody"}


# -- E22 ------------------------------------------------------------------------------------------------------
def test_e22_category_unsubscribe_is_not_synced_but_a_whole_channel_is(
    client: httpx.Client, services: Services
) -> None:
    add_customers(client, {"external_id": "ann", "email": "ann@example.com"})
    add_categories(client, "news")
    patch(client, "ann", {"categories": {"news": {"email": "Y"}}})

    # unsubscribe from category News on e-mail only → no call to loyalty
    assert patch(client, "ann", {"categories": {"news": {"email": "N"}}})["categories"] == {"news": {"email": "N"}}
    assert sync_requests(services) == []

    # disable the whole e-mail channel → the loyalty "Mailings" e-mail subscription becomes inactive
    assert client.post("/customers/ann/channels", json={"email": "N"}).json()["email"] == "N"
    [request] = sync_requests(services)
    assert {name: request[name] for name in ("kind", "campaign_id", "entry_id", "node_id", "status")} == {
        "kind": "subscription",
        "campaign_id": 0,
        "entry_id": None,
        "node_id": None,
        "status": "pending",
    }
    assert request["payload"] == {"type": "Mailings", "channel": "email", "active": False}
    assert request["external_id"] == "ann"
    assert request["created_at"] == services.clock.now()


def test_only_a_real_channel_change_is_synced(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "ann"})
    client.post("/customers/ann/channels", json={"sms": "Y"})  # never set means subscribed: no change
    assert sync_payloads(services) == []
    client.post("/customers/ann/channels", json={"email": "N", "sms": "N"})
    client.post("/customers/ann/channels", json={"email": "N"})  # N → N records nothing
    client.post("/customers/ann/channels", json={"email": "Y", "sms": "N"})  # re-enabled: active again
    client.post("/customers/ann/channels", json={"email": "Y"})
    assert sync_payloads(services) == [
        ("ann", {"type": "Mailings", "channel": "email", "active": False}),
        ("ann", {"type": "Mailings", "channel": "sms", "active": False}),
        ("ann", {"type": "Mailings", "channel": "email", "active": True}),
    ]
    # channels changed through PATCH …/subscriptions are synced the same way, categories never
    add_categories(client, "news")
    patch(client, "ann", {"channels": {"push": "N"}, "categories": {"news": {"push": "N", "email": "Y"}}})
    assert sync_payloads(services)[3:] == [("ann", {"type": "Mailings", "channel": "push", "active": False})]


def test_concurrent_identical_changes_record_one_sync(client: httpx.Client, services: Services) -> None:
    """Each change is judged against the status it replaces, even when requests race: one real change, one row."""
    add_customers(client, {"external_id": "ann"})
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: client.post("/customers/ann/channels", json={"email": "N"}), range(16)))
    assert {answer.status_code for answer in answers} == {200}
    assert sync_payloads(services) == [("ann", {"type": "Mailings", "channel": "email", "active": False})]


def test_a_refused_change_records_no_sync(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "ann"})
    error = error_of(
        client.patch(
            "/customers/ann/subscriptions", json={"channels": {"email": "N"}, "categories": {"x": {"email": "Y"}}}
        ),
        422,
    )
    assert "'x'" in error["message"]
    assert sync_requests(services) == []
    assert client.get("/customers/ann/channels").json() == ALL_Y


# -- E23 ------------------------------------------------------------------------------------------------------
def test_e23_patch_leaves_other_categories_alone_and_nd_removes(client: httpx.Client) -> None:
    add_customers(client, {"external_id": "ann"})
    add_categories(client, "news", "promo", "tips")
    assert client.get("/customers/ann/subscriptions").json() == {"channels": ALL_Y, "categories": {}}
    patch(client, "ann", {"categories": {"news": {"email": "Y", "sms": "N"}, "promo": {"email": "Y", "push": "Y"}}})

    # PATCH {categories: {promo: {email: N}}} leaves other categories (and promo's other channels) unchanged
    after = patch(client, "ann", {"categories": {"promo": {"email": "N"}}})
    assert after["categories"] == {"news": {"email": "Y", "sms": "N"}, "promo": {"email": "N", "push": "Y"}}

    # ND removes the customer from the category on that channel ...
    after = patch(client, "ann", {"categories": {"promo": {"email": "ND"}}})
    assert after["categories"] == {"news": {"email": "Y", "sms": "N"}, "promo": {"push": "Y"}}
    # ... and a category with no channel left is no longer listed by GET
    patch(client, "ann", {"categories": {"promo": {"push": "ND"}}})
    listed = client.get("/customers/ann/subscriptions").json()
    assert listed["categories"] == {"news": {"email": "Y", "sms": "N"}}
    assert "promo" not in listed["categories"]
    # ND of a channel the customer is not in, and of a category never joined, changes nothing
    assert patch(client, "ann", {"categories": {"tips": {"email": "ND"}, "news": {"push": "ND"}}})["categories"] == {
        "news": {"email": "Y", "sms": "N"}
    }
    # joining again works
    assert patch(client, "ann", {"categories": {"promo": {"sms": "Y"}}})["categories"]["promo"] == {"sms": "Y"}


def test_unknown_categories_are_refused_naming_them_and_nothing_changes(
    client: httpx.Client, services: Services
) -> None:
    add_customers(client, {"external_id": "ann"})
    add_categories(client, "news")
    response = client.patch(
        "/customers/ann/subscriptions",
        json={"categories": {"news": {"email": "Y"}, "promo": {"email": "N"}, "deals": {"sms": "Y"}}},
    )
    error = error_of(response, 422)
    assert error["code"] == "invalid_input"
    assert "'deals'" in error["message"] and "and 1 more" in error["message"]
    assert [item["field"] for item in error["details"]] == ["categories.deals", "categories.promo"]
    assert client.get("/customers/ann/subscriptions").json()["categories"] == {}
    with services.db.engine.connect() as conn:
        assert conn.execute(select(category_subscriptions)).all() == []


def test_subscription_patches_are_validated(client: httpx.Client) -> None:
    add_customers(client, {"external_id": "ann"})
    add_categories(client, "news")
    for body in (
        {},
        {"categories": {}},
        {"categories": {"news": {}}},
        {"categories": {"news": {"email": "maybe"}}},
        {"categories": {"news": {"fax": "Y"}}},
        {"categories": {"news": "Y"}},
        {"channels": {"email": "ND"}},
        {"categories": {"news": {"email": "Y"}}, "extra": 1},
    ):
        assert error_of(client.patch("/customers/ann/subscriptions", json=body), 422)["code"] == "invalid_input"
    assert client.get("/customers/ann/subscriptions").json()["categories"] == {}
    error_of(client.patch("/customers/nobody/subscriptions", json={"categories": {"news": {"email": "Y"}}}), 404)
    error_of(client.get("/customers/nobody/subscriptions"), 404)


# -- the batch ------------------------------------------------------------------------------------------------
def test_batch_keeps_good_rows_and_reports_bad_ones(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "ann"}, {"external_id": "bob"}, {"external_id": "cid"})
    add_categories(client, "news")
    response = client.post(
        "/subscriptions",
        json={
            "customers": [
                {"customer": "ann", "channels": {"email": "N"}, "categories": {"news": {"email": "Y"}}},
                {"customer": "ghost", "channels": {"email": "N"}},
                {"customer": "bob", "categories": {"promo": {"email": "Y"}}},
                {"customer": "bob", "channels": {"sms": "maybe"}},
                "not an object",
                {"customer": "cid", "categories": {"news": {"sms": "Y"}}},
                {"customer": "bob"},
                {"customer": "bob", "channels": {"push": "N"}, "colour": "red"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["applied"], body["loyalty_sync"]) == (2, 1)
    assert [(e["index"], e["customer"], e["field"]) for e in body["errors"]] == [
        (1, "ghost", "customer"),
        (2, "bob", "categories.promo"),
        (3, "bob", "channels.sms"),
        (4, None, None),
        (6, "bob", None),
        (7, "bob", "colour"),
    ]
    assert "unknown customer 'ghost'" in body["errors"][0]["message"]
    assert "unknown mailing category 'promo'" in body["errors"][1]["message"]
    assert client.get("/customers/ann/subscriptions").json() == {
        "channels": {**ALL_Y, "email": "N"},
        "categories": {"news": {"email": "Y"}},
    }
    assert client.get("/customers/bob/subscriptions").json() == {"channels": ALL_Y, "categories": {}}
    assert client.get("/customers/cid/subscriptions").json()["categories"] == {"news": {"sms": "Y"}}
    assert sync_payloads(services) == [("ann", {"type": "Mailings", "channel": "email", "active": False})]


def test_batch_applies_repeated_customers_in_order_as_a_net_result(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "ann"}, {"external_id": "bob"})
    add_categories(client, "news")
    rows = [
        {"customer": "ann", "channels": {"email": "N", "sms": "N"}, "categories": {"news": {"email": "Y"}}},
        {"customer": "bob", "channels": {"viber": "N"}},
        {"customer": "ann", "channels": {"email": "Y"}, "categories": {"news": {"email": "ND", "sms": "N"}}},
    ]
    body = client.post("/subscriptions", json={"customers": rows}).json()
    assert (body["applied"], body["loyalty_sync"], body["errors"]) == (3, 2, [])
    assert client.get("/customers/ann/subscriptions").json() == {
        "channels": {**ALL_Y, "sms": "N"},
        "categories": {"news": {"sms": "N"}},
    }
    assert sorted(sync_payloads(services), key=lambda item: item[0]) == [
        ("ann", {"type": "Mailings", "channel": "sms", "active": False}),
        ("bob", {"type": "Mailings", "channel": "viber", "active": False}),
    ]


def test_batch_with_only_bad_rows_is_refused(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "ann"})
    error = error_of(
        client.post(
            "/subscriptions",
            json={
                "customers": [{"customer": "ghost", "channels": {"email": "N"}}, {"customer": "ann", "channels": {}}]
            },
        ),
        422,
    )
    assert error["message"].startswith("no subscription change stored: all 2 rows are invalid; row 0, customer:")
    assert [(item["index"], item["field"]) for item in error["details"]] == [(0, "customer"), (1, "channels")]
    for body in ({"customers": []}, {}, {"customers": [{"customer": "ann", "channels": {"email": "N"}}], "x": 1}):
        error_of(client.post("/subscriptions", json=body), 422)
    with services.db.engine.connect() as conn:
        assert conn.execute(select(channel_subscriptions)).all() == []
    assert sync_requests(services) == []


# -- eligibility follows the API ------------------------------------------------------------------------------
def test_send_email_eligibility_follows_subscriptions_set_through_the_api(
    client: httpx.Client, services: Services
) -> None:
    names = ("sent", "channel_off", "category_n", "category_nd", "never_joined", "other_channel", "channel_back")
    add_customers(client, *({"external_id": name, "email": f"{name}@example.com"} for name in names))
    add_categories(client, "news")
    rows: list[dict[str, Any]] = [
        {"customer": "sent", "categories": {"news": {"email": "Y"}}},
        {"customer": "channel_off", "channels": {"email": "N"}, "categories": {"news": {"email": "Y"}}},
        {"customer": "category_n", "categories": {"news": {"email": "N"}}},
        {"customer": "category_nd", "categories": {"news": {"email": "Y"}}},
        {"customer": "other_channel", "categories": {"news": {"sms": "Y"}}},
        {"customer": "channel_back", "channels": {"email": "N"}, "categories": {"news": {"email": "Y"}}},
    ]
    assert client.post("/subscriptions", json={"customers": rows}).json()["errors"] == []
    patch(client, "category_nd", {"categories": {"news": {"email": "ND"}}})
    assert client.post("/customers/channel_back/channels", json={"email": "Y"}).status_code == 200

    node = {
        "id": "e1",
        "type": "send_email",
        "config": {"subject": "News", "body_html": "<p>News</p>", "category": "news"},
    }
    plain = {"id": "e2", "type": "send_email", "config": {"subject": "Hello", "body_html": "<p>Hi</p>"}}
    news_id = start(services, campaign(node, edges=[("trigger", "e1")]))
    plain_id = start(services, campaign(plain, edges=[("trigger", "e2")]))
    for campaign_id in (news_id, plain_id):
        enrolled = client.post(f"/campaigns/{campaign_id}/enroll", json={"customers": list(names)})
        assert enrolled.json()["entered"] == len(names)
    advance(services, minutes=1)

    with services.db.engine.connect() as conn:
        ids = dict(conn.execute(select(customers.c.external_id, customers.c.id)).all())
    expected = {
        "sent": None,
        "channel_back": None,
        "channel_off": "unsubscribed_channel",
        "category_n": "unsubscribed_category",
        "category_nd": "unsubscribed_category",
        "never_joined": "unsubscribed_category",
        "other_channel": "unsubscribed_category",
    }
    for name, reason in expected.items():
        [step] = [step for step in trace(services, ids[name]) if step[0] == "e1"]
        assert step == (("e1", "performed", "out", None) if reason is None else ("e1", "dropped", None, reason)), name
    news = counters(services, news_id)
    assert (news[("e1", "performed")], news[("e1", "dropped:unsubscribed_channel")]) == (2, 1)
    assert news[("e1", "dropped:unsubscribed_category")] == 4
    # without a category only the channel counts: everyone but channel_off receives it
    plain_counts = counters(services, plain_id)
    assert (plain_counts[("e2", "performed")], plain_counts[("e2", "dropped:unsubscribed_channel")]) == (6, 1)
    assert mailbox_count(services, "channel_off@example.com") == 0
    assert mailbox_count(services, "sent@example.com") == 2


def test_a_customer_upsert_that_switches_a_channel_off_is_synced_to_loyalty(
    client: httpx.Client, services: Services
) -> None:
    client.post("/customers", json={"customers": [{"external_id": "zoe", "email": "zoe@example.com"}]})
    client.post("/customers", json={"customers": [{"external_id": "zoe", "subscriptions": {"email": False}}]})
    client.post("/customers", json={"customers": [{"external_id": "zoe", "subscriptions": {"email": False}}]})
    assert client.get("/customers/zoe/channels").json()["email"] == "N"
    assert sync_payloads(services) == [("zoe", {"type": "Mailings", "channel": "email", "active": False})]
