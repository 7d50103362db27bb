"""Send push: eligibility on push tokens and subscriptions, the delivery window, and the config."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from tests.actions.helpers import node
from tests.engine.helpers import (
    add_category,
    add_customers,
    advance,
    advance_to,
    campaign,
    start,
    subscribe_category,
    trace,
)
from tidings.core.errors import DocumentInvalid
from tidings.document.validation import parse_document
from tidings.services import Services
from tidings.store.account import save_account
from tidings.store.tables import messages, push_tokens

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def push(node_id: str = "p1", **config: Any) -> dict[str, Any]:
    return node(node_id, "send_push", **({"title": "Hi", "text": "News"} | config))


def add_token(services: Services, customer_id: int, token: str, active: bool = True) -> None:
    with services.db.engine.begin() as conn:
        conn.execute(
            push_tokens.insert().values(
                customer_id=customer_id, token=token, platform="fcm", active=active, created_at=NOW
            )
        )


def test_eligibility_reasons(services: Services) -> None:
    news = add_category(services, "news")
    ids = add_customers(
        services,
        {"external_id": "ok"},
        {"external_id": "tokenless"},
        {"external_id": "stale"},
        {"external_id": "refused", "subscriptions": {"push": False}},
        {"external_id": "uninterested"},
    )
    for name in ("ok", "refused", "uninterested"):
        add_token(services, ids[name], f"t-{name}")
    add_token(services, ids["stale"], "t-stale", active=False)
    for name in ("ok", "tokenless", "stale", "refused"):
        subscribe_category(services, ids[name], news, channel="push")
    subscribe_category(services, ids["uninterested"], news, status="N", channel="push")

    campaign_id = start(services, campaign(push(category="news", deliver_immediately=True), edges=[("trigger", "p1")]))
    services.campaigns.enroll(campaign_id, list(ids), None)
    advance(services, minutes=1)

    assert {name: trace(services, ids[name])[-1][1:] for name in ids} == {
        "ok": ("performed", "out", None),
        "tokenless": ("dropped", None, "no_contact"),
        "stale": ("dropped", None, "invalid_contact"),
        "refused": ("dropped", None, "unsubscribed_channel"),
        "uninterested": ("dropped", None, "unsubscribed_category"),
    }
    with services.db.engine.connect() as conn:
        sent = conn.execute(select(messages.c.customer_id, messages.c.channel, messages.c.status)).all()
    assert [tuple(row) for row in sent] == [(ids["ok"], "push", "sent")]


def test_push_waits_for_the_window_in_the_customer_time_zone(services: Services) -> None:
    with services.db.engine.begin() as conn:
        save_account(conn, {"timezone": "Europe/Riga"})
    ids = add_customers(services, {"external_id": "ann", "timezone": "Asia/Tokyo"})  # UTC+9
    add_token(services, ids["ann"], "t-ann")
    campaign_id = start(services, campaign(push(), edges=[("trigger", "p1")]))
    advance_to(services, datetime(2026, 1, 5, 13, tzinfo=UTC))  # 22:00 in Tokyo, 15:00 in Riga
    services.campaigns.enroll(campaign_id, ["ann"], None)
    advance(services, days=1)
    with services.db.engine.connect() as conn:
        sent_at = conn.execute(select(messages.c.sent_at)).scalar_one()
    assert sent_at == datetime(2026, 1, 6, 0, tzinfo=UTC)  # 09:00 in Tokyo


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"text": "x"}, "title"),
        ({"title": "x"}, "text"),
        ({"title": "x", "text": "y", "image_url": "cdn/x.png"}, "not an http(s) URL"),
        ({"title": "x", "text": "y", "lifetime": {"amount": 1, "unit": "weeks"}}, "lifetime"),
    ],
)
def test_bad_configs_are_refused_at_save_time(config: dict[str, Any], problem: str) -> None:
    with pytest.raises(DocumentInvalid) as refused:
        parse_document(campaign(node("p1", "send_push", **config), edges=[("trigger", "p1")]))
    assert "p1" in str(refused.value.details) and problem in str(refused.value.details)
