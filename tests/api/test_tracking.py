"""Tracking endpoints over HTTP: the pixel, tracked links, one-click unsubscribe and provider callbacks."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from tests.api.helpers import add_customers, error_of, start_campaign
from tests.engine.helpers import campaign
from tidings.services import Services
from tidings.store.bulk_import import import_customers
from tidings.store.tables import channel_subscriptions, messages

JSON = {"content-type": "application/json"}
BODY = (  # an image of its own, so the open pixel is added (never to a mail without one)
    '<img src="https://shop.example/logo.png" alt="Shop"><p>Hi {{ customer.first_name }}</p>'
    '<p><a href="https://shop.example/new?utm_medium=sms">New</a></p>'
)


def origin(client: httpx.Client) -> str:
    return f"{client.base_url.scheme}://{client.base_url.netloc.decode()}"


def path_of(url: str) -> str:
    return urlsplit(url).path


def send(client: httpx.Client, *people: str) -> dict[str, dict[str, Any]]:
    """Send one e-mail to each person through the sandbox; their messages by external id."""
    add_customers(client, *({"external_id": p, "email": f"{p}@example.com", "first_name": p.title()} for p in people))
    node = {
        "id": "e1",
        "type": "send_email",
        "config": {"subject": "Hi", "body_html": BODY, "utm": {"source": "tidings", "campaign": "new"}},
    }
    campaign_id = start_campaign(client, campaign(node, edges=[("trigger", "e1")]))
    assert client.post(f"/campaigns/{campaign_id}/enroll", json={"customers": list(people)}).status_code == 200
    assert client.post("/clock/advance", json={"by": "PT1M"}).status_code == 200
    return {m["customer"]: m for m in client.get("/messages").json()["items"]}


def links(body: str) -> tuple[str, str]:
    """(click link, pixel) of a sent body."""
    (click,) = re.findall(r'href="([^"]+/t/c/[^"]+)"', body)
    (pixel,) = re.findall(r'src="([^"]+/t/o/[^"]+)"', body)
    return path_of(click), path_of(pixel)


def status(client: httpx.Client, customer: str) -> str:
    (message,) = client.get("/messages", params={"customer": customer}).json()["items"]
    return str(message["status"])


def row(services: Services, message_id: int) -> dict[str, Any]:
    with services.db.engine.connect() as conn:
        return dict(conn.execute(select(messages).where(messages.c.id == message_id)).mappings().one())


def email_channel(services: Services, message_id: int) -> str | None:
    query = (
        select(channel_subscriptions.c.status)
        .join(messages, messages.c.customer_id == channel_subscriptions.c.customer_id)
        .where(messages.c.id == message_id, channel_subscriptions.c.channel == "email")
    )
    with services.db.engine.connect() as conn:
        return conn.execute(query).scalar_one_or_none()


def test_open_then_click_then_open_again(client: httpx.Client, services: Services) -> None:
    ann = send(client, "ann")["ann"]
    click, pixel = links(ann["body"])
    assert ann["status"] == "sent"

    with httpx.Client(base_url=origin(client), trust_env=False) as public:
        opened = public.get(pixel)
        assert (opened.status_code, opened.headers["content-type"]) == (200, "image/gif")
        assert status(client, "ann") == "opened"
        followed = public.get(click)
        assert followed.status_code == 302
        # a parameter the link already had is kept; the others are appended
        assert (
            followed.headers["location"]
            == "https://shop.example/new?utm_medium=sms&utm_source=tidings&utm_campaign=new"
        )
        assert status(client, "ann") == "clicked"
        assert public.get(pixel).status_code == 200
        assert status(client, "ann") == "clicked"
    stored = row(services, ann["id"])
    assert stored["opened_at"] == stored["clicked_at"] == stored["delivered_at"] == services.clock.now()


def test_a_click_alone_counts_as_an_open(client: httpx.Client, services: Services) -> None:
    bob = send(client, "bob")["bob"]
    click, _ = links(bob["body"])
    assert httpx.get(origin(client) + click, trust_env=False).status_code == 302
    stored = row(services, bob["id"])
    assert (stored["status"], stored["opened_at"]) == ("clicked", services.clock.now())


def bad_tokens(services: Services, message_id: int) -> dict[str, list[str]]:
    tracker = services.delivery.tracker
    opened = tracker.token("open", message_id)
    click = tracker.token("click", message_id, "https://shop.example/")
    unsubscribe = tracker.token("unsubscribe", message_id)
    garbage = ["x", "1.2", "...", "%00", "%E2%98%83", "a" * 5000, f"{message_id}.{'A' * 22}"]
    return {
        "open": [opened.replace(f"{message_id}.", f"{message_id + 1}."), unsubscribe, click, *garbage],
        "click": [click[:-3] + "abc", opened, click.replace(".aHR0", ".aHR1"), *garbage],
        "unsubscribe": [unsubscribe[:-1] + "_", opened, *garbage],
    }


def test_forged_and_tampered_tokens_answer_404_and_change_nothing(client: httpx.Client, services: Services) -> None:
    ann = send(client, "ann")["ann"]
    bad = bad_tokens(services, ann["id"])
    with httpx.Client(base_url=origin(client), trust_env=False) as public:
        answers = [public.get(f"/t/o/{token}.gif") for token in bad["open"]]
        answers += [public.get(f"/t/c/{token}") for token in bad["click"]]
        answers += [client.get(f"/unsubscribe/{token}") for token in bad["unsubscribe"]]
        answers += [client.post(f"/unsubscribe/{token}") for token in bad["unsubscribe"]]
    errors = [error_of(answer, 404) for answer in answers]
    assert {(e["code"], e["message"], e["details"]) for e in errors} == {
        ("tracking.not_found", "no such link; it may have been mistyped or cut short", None)
    }
    assert (status(client, "ann"), email_channel(services, ann["id"])) == ("sent", None)
    assert row(services, ann["id"])["unsubscribed_at"] is None


def test_unsubscribe_page_then_one_click(client: httpx.Client, services: Services) -> None:
    messages_by_customer = send(client, "ann", "bob")
    ann = messages_by_customer["ann"]
    url = services.delivery.tracker.unsubscribe_url(ann["id"])
    assert url.startswith("http://127.0.0.1:8000/api/v1/unsubscribe/")
    path = path_of(url).removeprefix("/api/v1")

    page = client.get(path)
    assert page.status_code == 200 and "<button" in page.text
    assert email_channel(services, ann["id"]) is None  # looking is not unsubscribing

    for _ in range(2):  # the second time is harmless
        done = client.post(
            path,
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert email_channel(services, ann["id"]) == "N"
    assert email_channel(services, messages_by_customer["bob"]["id"]) is None
    assert client.post(path).status_code == 200  # a bare POST (the page's form with no body) too
    stored = row(services, ann["id"])
    assert (stored["status"], stored["unsubscribed_at"]) == ("sent", services.clock.now())


# -- provider callbacks ---------------------------------------------------------------------------------------


def test_provider_events_by_either_id_with_per_row_errors(client: httpx.Client, services: Services) -> None:
    sent = send(client, "ann", "bob", "cy", "dee")
    ann, bob, cy, dee = (sent[name] for name in ("ann", "bob", "cy", "dee"))
    assert ann["provider"] == "sandbox"
    now = services.clock.now()
    earlier = now - timedelta(seconds=30)
    answer = client.post(
        "/webhooks/sandbox/events",
        json={
            "events": [
                {"message_id": ann["id"], "event": "delivered", "at": earlier.isoformat()},
                {"provider_message_id": bob["provider_message_id"], "event": "bounced"},
                {"message_id": cy["id"], "event": "spam", "at": (now + timedelta(days=1)).isoformat()},
                {"provider_message_id": dee["provider_message_id"], "event": "unsubscribed"},
                {"message_id": 999_999, "event": "open"},
                {"provider_message_id": "nobody", "event": "open"},
                {"message_id": ann["id"], "provider_message_id": ann["provider_message_id"], "event": "open"},
                {"event": "open"},
                {"message_id": ann["id"], "event": "read"},
                {"message_id": ann["id"], "event": "open", "at": "2026-01-05T10:00:00"},
                {"message_id": ann["id"], "event": "open", "extra": 1},
                "open",
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 4
    assert [(e["index"], e["provider_message_id"], e["field"]) for e in body["errors"]] == [
        (4, None, "message_id"),
        (5, "nobody", "provider_message_id"),
        (6, ann["provider_message_id"], None),
        (7, None, None),
        (8, None, "event"),
        (9, None, "at"),
        (10, None, "extra"),
        (11, None, None),
    ]
    assert body["errors"][0]["message"] == "no message 999999 was sent through 'sandbox'"
    assert "exactly one of message_id and provider_message_id" in body["errors"][2]["message"]

    assert [(row(services, m["id"])["status"]) for m in (ann, bob, cy, dee)] == ["delivered", "bounced", "sent", "sent"]
    assert row(services, ann["id"])["delivered_at"] == earlier
    assert row(services, bob["id"])["bounced_at"] == now
    assert row(services, cy["id"])["complained_at"] == now  # a time in the future counts as now
    assert row(services, dee["id"])["unsubscribed_at"] == now
    assert [email_channel(services, m["id"]) for m in (ann, bob, cy, dee)] == [None, None, "N", "N"]


def test_provider_events_never_move_a_status_back(client: httpx.Client, services: Services) -> None:
    ann = send(client, "ann")["ann"]

    def post(*events: str) -> None:
        rows = [{"message_id": ann["id"], "event": event} for event in events]
        assert client.post("/webhooks/sandbox/events", json={"events": rows}).status_code == 200

    post("click")
    assert status(client, "ann") == "clicked"
    post("open", "delivered")
    assert status(client, "ann") == "clicked"
    post("bounced")
    assert status(client, "ann") == "clicked"  # it was read: the bounce report is recorded, the status stays
    assert row(services, ann["id"])["bounced_at"] == services.clock.now()


def test_bounced_is_terminal(client: httpx.Client, services: Services) -> None:
    ann = send(client, "ann")["ann"]
    for event in ("bounced", "delivered", "open", "click"):
        rows = [{"provider_message_id": ann["provider_message_id"], "event": event}]
        assert client.post("/webhooks/sandbox/events", json={"events": rows}).status_code == 200
        assert status(client, "ann") == "bounced"


def test_provider_events_refused_as_a_whole(client: httpx.Client, services: Services) -> None:
    ann = send(client, "ann")["ann"]
    # the message was not sent through that provider
    error = error_of(
        client.post("/webhooks/smtp/events", json={"events": [{"message_id": ann["id"], "event": "open"}]}), 422
    )
    assert error["details"] == [
        {
            "index": 0,
            "provider_message_id": None,
            "field": "message_id",
            "message": f"no message {ann['id']} was sent through 'smtp'",
        }
    ]
    assert status(client, "ann") == "sent"
    assert (
        error_of(client.post("/webhooks/sandbox/events", json={"events": []}), 422)["details"][0]["field"] == "events"
    )
    assert error_of(client.post("/webhooks/sandbox/events", json=[{"message_id": 1}]), 422)
    assert error_of(client.post("/webhooks/sandbox/events", content=b"{", headers=JSON), 400)["code"] == "invalid_json"
    assert (
        error_of(client.post("/webhooks/sandbox/events", content=b'{"events": [NaN]}', headers=JSON), 400)["code"]
        == "invalid_json"
    )
    bad_provider = error_of(client.post("/webhooks/Not%20A%20Provider/events", json={"events": []}), 422)
    assert bad_provider["details"][0] == {
        "field": "provider",
        "in": "path",
        "message": bad_provider["details"][0]["message"],
    }


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_webhooks_accept_only_post(client: httpx.Client, method: str) -> None:
    assert error_of(client.request(method.upper(), "/webhooks/sandbox/events"), 405)["code"] == "method_not_allowed"


# -- the suppression list ------------------------------------------------------------------------------------------


def test_imports_never_resubscribe_a_channel_the_customer_stopped(
    client: httpx.Client, services: Services, tmp_path: Path
) -> None:
    """A bulk import with subscribed_email=yes re-subscribed a customer who had filed a spam complaint, without
    notice. Complaints and unsubscribes form a suppression list: imports leave those channels off and say so."""
    sent = send(client, "ann", "bob", "cy")
    events = [
        {"message_id": sent["ann"]["id"], "event": "spam"},
        {"message_id": sent["bob"]["id"], "event": "unsubscribed"},
    ]
    assert client.post("/webhooks/sandbox/events", json={"events": events}).status_code == 200
    answer = client.post(
        "/customers",
        json={
            "customers": [
                {"external_id": "ann", "first_name": "Ann", "subscriptions": {"email": True, "sms": True}},
                {"external_id": "bob", "subscriptions": {"email": True}},
                {"external_id": "cy", "subscriptions": {"email": True}},
            ]
        },
    ).json()
    assert answer["upserted"] == 3 and answer["errors"] == []
    assert [(item["index"], item["external_id"], item["field"]) for item in answer["withheld"]] == [
        (0, "ann", "subscriptions.email"),
        (1, "bob", "subscriptions.email"),
    ]
    assert "spam complaint" in answer["withheld"][0]["message"]
    assert "unsubscribe" in answer["withheld"][1]["message"]
    assert email_channel(services, sent["ann"]["id"]) == "N"
    assert email_channel(services, sent["bob"]["id"]) == "N"
    assert client.get("/customers/ann").json()["first_name"] == "Ann"  # the rest of the row is applied

    path = tmp_path / "customers.csv"
    path.write_text("external_id,city,subscribed_email\nann,Riga,yes\ncy,Oslo,no\n", encoding="utf-8")
    report = import_customers(services.db, path, now=services.clock.now())
    assert (report.imported, report.failed) == (2, 0)
    assert [(note.line, note.external_id, note.field) for note in report.notes] == [(2, "ann", "subscriptions.email")]
    assert email_channel(services, sent["ann"]["id"]) == "N"
    assert client.get("/customers/ann").json()["city"] == "Riga"

    # the customer's own consent turns it on again
    again = client.patch("/customers/ann/subscriptions", json={"channels": {"email": "Y"}})
    assert again.status_code == 200, again.text
    assert email_channel(services, sent["ann"]["id"]) == "Y"
    assert (
        client.post(
            "/customers", json={"customers": [{"external_id": "ann", "subscriptions": {"email": True}}]}
        ).json()["withheld"]
        == []
    )
