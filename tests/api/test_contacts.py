"""Push tokens on the customer: idempotent by token, moved to the customer who registers it, deactivated by
DELETE."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from tests.api.helpers import add_customers, error_of
from tidings.core.clock import ManualClock
from tidings.services import Services
from tidings.store.tables import customers, push_tokens

NOW = "2026-01-05T10:00:00Z"
FCM = "fcm-token:APA91b_x-1"


def push(token: str = FCM, platform: str = "fcm", device: str | None = "Pixel 8") -> dict[str, Any]:
    return {"type": "push", "platform": platform, "token": token, "device": device}


def stored(services: Services) -> list[tuple[str, str, str, bool]]:
    """(token, owner external id, platform, active) of every stored token."""
    query = (
        select(push_tokens.c.token, customers.c.external_id, push_tokens.c.platform, push_tokens.c.active)
        .join(customers, customers.c.id == push_tokens.c.customer_id)
        .order_by(push_tokens.c.id)
    )
    with services.db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def test_register_list_and_register_again(client: httpx.Client, services: Services, clock: ManualClock) -> None:
    add_customers(client, {"external_id": "ann"})
    created = client.post("/customers/ann/contacts", json=push())
    assert created.status_code == 201, created.text
    token = {
        "type": "push",
        "platform": "fcm",
        "token": FCM,
        "device": "Pixel 8",
        "active": True,
        "created_at": NOW,
    }
    assert created.json() == token
    apns = client.post("/customers/ann/contacts", json=push("a1b2c3", "apns", None))
    assert apns.status_code == 201

    # the same token again: one row, platform and device updated, same first registration time
    clock.set(clock.now() + timedelta(minutes=5))
    again = client.post("/customers/ann/contacts", json=push(device="Pixel 9"))
    assert again.status_code == 200
    assert again.json() == {**token, "device": "Pixel 9"}

    listed = client.get("/customers/ann/contacts").json()
    assert listed["customer"] == "ann"
    assert [(item["token"], item["platform"], item["device"]) for item in listed["items"]] == [
        (FCM, "fcm", "Pixel 9"),
        ("a1b2c3", "apns", None),
    ]
    assert len(stored(services)) == 2


def test_a_token_moves_to_the_customer_who_registers_it(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "ann"}, {"external_id": "bob"})
    client.post("/customers/ann/contacts", json=push())
    moved = client.post("/customers/bob/contacts", json=push(platform="hms", device="Mate"))
    assert moved.status_code == 200
    assert stored(services) == [(FCM, "bob", "hms", True)]
    assert client.get("/customers/ann/contacts").json()["items"] == []
    assert [item["token"] for item in client.get("/customers/bob/contacts").json()["items"]] == [FCM]


def test_delete_deactivates_and_registering_reactivates(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "ann"}, {"external_id": "bob"})
    client.post("/customers/ann/contacts", json=push())
    client.post("/customers/ann/contacts", json=push("rs/tok+en=", "rustore"))

    assert client.delete(f"/customers/ann/contacts/{FCM}").status_code == 204
    assert client.delete(f"/customers/ann/contacts/{FCM}").status_code == 204  # again: harmless
    assert client.delete("/customers/ann/contacts/rs/tok+en=").status_code == 204  # a token with a slash
    assert [item["active"] for item in client.get("/customers/ann/contacts").json()["items"]] == [False, False]

    # a token the customer does not hold
    assert error_of(client.delete(f"/customers/bob/contacts/{FCM}"), 404)["code"] == "not_found"
    error_of(client.delete("/customers/ann/contacts/unknown"), 404)
    error_of(client.delete(f"/customers/nobody/contacts/{FCM}"), 404)
    assert stored(services) == [(FCM, "ann", "fcm", False), ("rs/tok+en=", "ann", "rustore", False)]

    assert client.post("/customers/ann/contacts", json=push()).json()["active"] is True
    assert stored(services)[0] == (FCM, "ann", "fcm", True)


def test_contacts_are_validated(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "ann"})
    for body, field in (
        ({**push(), "type": "email"}, "type"),
        ({**push(), "platform": "webpush"}, "platform"),
        (push(token=""), "token"),
        (push(token="with space"), "token"),
        (push(token="x" * 513), "token"),
        (push(device="d" * 201), "device"),
        ({"type": "push", "token": FCM}, "platform"),
        ({**push(), "subtype": "fcm"}, "subtype"),
    ):
        error = error_of(client.post("/customers/ann/contacts", json=body), 422)
        assert error["details"][0]["field"] == field, body
    assert stored(services) == []
    error_of(client.post("/customers/nobody/contacts", json=push()), 404)
    error_of(client.get("/customers/nobody/contacts"), 404)
