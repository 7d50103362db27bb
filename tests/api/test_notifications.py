"""The in-app inbox (D6) over HTTP: what Send notification stored, newest first, without expired items; marking
one read records the first read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from tests.api.helpers import add_customers, error_of
from tests.conftest import START
from tests.engine.helpers import advance
from tidings.services import Services
from tidings.store import notifications as notification_sql
from tidings.store.tables import customers

_made = iter(range(1, 1_000_000))


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def customer_ids(services: Services) -> dict[str, int]:
    with services.db.engine.connect() as conn:
        return {row.external_id: row.id for row in conn.execute(select(customers.c.external_id, customers.c.id))}


def store(services: Services, customer: str, title: str, *, age: timedelta, **extra: Any) -> None:
    """A notification as Send notification stores it, created ``age`` ago."""
    row = {
        "campaign_id": 1,
        "entry_id": next(_made),
        "node_id": "n1",
        "customer_id": customer_ids(services)[customer],
        "title": title,
        "text": f"{title} text",
        "image_url": None,
        "link": None,
        "category": None,
        "created_at": services.clock.now() - age,
        "expires_at": None,
    } | extra
    with services.db.engine.begin() as conn:
        conn.execute(notification_sql.insert_rows(services.db.dialect, [row]))


def titles(page: dict[str, Any]) -> list[str]:
    return [item["title"] for item in page["items"]]


def test_the_inbox_is_newest_first_without_expired_items(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "ann"}, {"external_id": "bob"})
    store(services, "ann", "old", age=timedelta(days=3))
    store(services, "ann", "new", age=timedelta(hours=1), link="myapp://x", category="promo")
    store(services, "ann", "expired", age=timedelta(days=2), expires_at=START - timedelta(seconds=1))
    store(services, "ann", "expiring", age=timedelta(days=1), expires_at=START + timedelta(hours=1))
    store(services, "bob", "bob's", age=timedelta(hours=1))

    page = client.get("/customers/ann/notifications").json()
    assert titles(page) == ["new", "expiring", "old"]
    assert (page["total"], page["unread"], page["limit"], page["offset"]) == (3, 3, 100, 0)
    new = page["items"][0]
    assert new == {
        "id": new["id"],
        "title": "new",
        "text": "new text",
        "image_url": None,
        "link": "myapp://x",
        "category": "promo",
        "created_at": iso(START - timedelta(hours=1)),
        "expires_at": None,
        "read_at": None,
    }
    assert titles(client.get("/customers/ann/notifications", params={"limit": 1, "offset": 1}).json()) == ["expiring"]
    advance(services, hours=2)
    assert titles(client.get("/customers/ann/notifications").json()) == ["new", "old"]
    assert titles(client.get("/customers/bob/notifications").json()) == ["bob's"]
    assert client.get("/customers/carl/notifications").status_code == 404


def test_marking_read_records_the_first_read_and_only_for_the_owner(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "ann"}, {"external_id": "bob"})
    store(services, "ann", "first", age=timedelta(hours=2))
    store(services, "ann", "second", age=timedelta(hours=1))
    store(services, "bob", "bob's", age=timedelta(hours=1))
    first, bobs = (client.get(f"/customers/{who}/notifications").json()["items"][-1]["id"] for who in ("ann", "bob"))

    read = client.post(f"/customers/ann/notifications/{first}/read")
    assert read.status_code == 200, read.text
    assert (read.json()["title"], read.json()["read_at"]) == ("first", iso(START))
    advance(services, minutes=5)
    again = client.post(f"/customers/ann/notifications/{first}/read").json()
    assert again["read_at"] == iso(START)  # the first read stands

    page = client.get("/customers/ann/notifications").json()
    assert (page["total"], page["unread"]) == (2, 1)
    unread = client.get("/customers/ann/notifications", params={"unread": "true"}).json()
    assert (titles(unread), unread["total"], unread["unread"]) == (["second"], 1, 1)

    error = error_of(client.post(f"/customers/ann/notifications/{bobs}/read"), 404)
    assert error["details"] == {"customer": "ann", "id": bobs}
    assert client.get("/customers/bob/notifications").json()["unread"] == 1
    error_of(client.post("/customers/ann/notifications/999999/read"), 404)
    error_of(client.post("/customers/nobody/notifications/1/read"), 404)
    error_of(client.post("/customers/ann/notifications/0/read"), 422)
    error_of(client.get("/customers/ann/notifications", params={"limit": 0}), 422)
