"""Popups (D7) over HTTP: the app gets at most one pending popup for an action — the highest priority, then the
newest, active and not expired — and a confirmed popup is never answered again."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from tests.api.helpers import add_customers, error_of
from tests.conftest import START
from tests.engine.helpers import advance
from tidings.services import Services
from tidings.store import popups as popup_sql
from tidings.store.tables import customers

_made = iter(range(1, 1_000_000))


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def customer_ids(services: Services) -> dict[str, int]:
    with services.db.engine.connect() as conn:
        return {row.external_id: row.id for row in conn.execute(select(customers.c.external_id, customers.c.id))}


def make(services: Services, customer: str, title: str, **extra: Any) -> None:
    """A pending popup as Show PopUp creates it (now, for a day, at `open_app`, priority 0, unless told)."""
    now = services.clock.now()
    row = {
        "campaign_id": 1,
        "entry_id": next(_made),
        "node_id": "p1",
        "customer_id": customer_ids(services)[customer],
        "app_action": "open_app",
        "content": {"title": title},
        "priority": 0,
        "created_at": now,
        "expires_at": now + timedelta(days=1),
    } | extra
    with services.db.engine.begin() as conn:
        conn.execute(popup_sql.insert_rows(services.db.dialect, [row]))


def ask(client: httpx.Client, customer: str, action: str = "open_app") -> dict[str, Any] | None:
    answer = client.post("/popups/query", json={"customer": customer, "action": action})
    assert answer.status_code == 200, answer.text
    popup: dict[str, Any] | None = answer.json()["popup"]
    return popup


def title(popup: dict[str, Any] | None) -> str | None:
    return None if popup is None else str(popup["title"])


def confirm(client: httpx.Client, customer: str, popup: dict[str, Any] | None) -> dict[str, Any]:
    assert popup is not None
    confirmed = client.post("/popups/confirm", json={"popup_id": popup["id"], "customer": customer})
    assert confirmed.status_code == 200, confirmed.text
    body: dict[str, Any] = confirmed.json()
    return body


def test_the_highest_priority_then_the_newest_then_never_again_once_confirmed(
    client: httpx.Client, services: Services
) -> None:
    add_customers(client, {"external_id": "ann"}, {"external_id": "bob"})
    hour = timedelta(hours=1)
    make(services, "ann", "older", created_at=START - 2 * hour)
    make(services, "ann", "newer", created_at=START - hour)
    make(services, "ann", "urgent", priority=10, created_at=START - 3 * hour)
    make(services, "ann", "any action", app_action="any", priority=-1)
    make(services, "ann", "for the cart", app_action="view_cart", priority=50)
    make(services, "ann", "expired", priority=99, created_at=START - 3 * hour, expires_at=START - hour)
    make(services, "ann", "not yet", priority=99, created_at=START + hour, expires_at=START + 2 * hour)
    make(services, "bob", "bob's", priority=99)

    shown = []
    while (popup := ask(client, "ann")) is not None:
        shown.append(title(popup))
        assert confirm(client, "ann", popup) == {"popup_id": popup["id"], "shown_at": iso(START)}
    assert shown == ["urgent", "newer", "older", "any action"]
    assert title(ask(client, "ann", "view_cart")) == "for the cart"
    assert title(ask(client, "bob")) == "bob's"
    advance(services, hours=1, minutes=1)  # "not yet" became active
    assert title(ask(client, "ann")) == "not yet"
    advance(services, hours=1)  # … and expired unshown
    assert ask(client, "ann") is None


def test_the_answer_carries_the_content_and_confirming_twice_is_harmless(
    client: httpx.Client, services: Services
) -> None:
    add_customers(client, {"external_id": "ann"}, {"external_id": "bob"})
    content = {
        "title": "Your cart",
        "subtitle": "Still there",
        "text": "Finish today",
        "image_url": "https://example.com/cart.png",
        "button": {"label": "Checkout", "link": "myapp://cart"},
        "promo_code": "CART-ANN",
        "style": {"main_color": "#112233"},
    }
    make(services, "ann", "", content=content, app_action="view_cart", priority=3)
    popup = ask(client, "ann", "view_cart")
    assert popup == {
        "id": popup["id"] if popup else None,
        "action": "view_cart",
        "priority": 3,
        "created_at": iso(START),
        "expires_at": iso(START + timedelta(days=1)),
        "title": "Your cart",
        "subtitle": "Still there",
        "text": "Finish today",
        "image_url": "https://example.com/cart.png",
        "button": {"label": "Checkout", "link": "myapp://cart"},
        "promo_code": "CART-ANN",
        "style": {"main_color": "#112233", "second_color": None},
    }
    assert popup is not None
    first = confirm(client, "ann", popup)
    advance(services, minutes=3)
    assert confirm(client, "ann", popup) == first  # the first confirmation stands

    error = error_of(client.post("/popups/confirm", json={"popup_id": popup["id"], "customer": "bob"}), 404)
    assert error["details"] == {"customer": "bob", "popup_id": popup["id"]}
    error_of(client.post("/popups/confirm", json={"popup_id": 999_999, "customer": "ann"}), 404)
    error_of(client.post("/popups/query", json={"customer": "nobody", "action": "open_app"}), 404)
    error_of(client.post("/popups/query", json={"customer": "ann"}), 422)
    error_of(client.post("/popups/query", json={"customer": "ann", "action": "open_app", "extra": 1}), 422)
    error_of(client.post("/popups/confirm", json={"popup_id": 0, "customer": "ann"}), 422)
