"""Mailing categories: created by hand, named by code, deleted only when nothing depends on them."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from tests.api.helpers import add_customers, error_of, start_campaign
from tidings.services import Services
from tidings.store.tables import category_subscriptions


def category(code: str, **fields: Any) -> dict[str, Any]:
    return {"code": code, "name": code.title(), **fields}


def send_in(code: str) -> dict[str, Any]:
    """A campaign whose e-mail goes to the subscribers of category ``code``."""
    return {
        "name": f"{code} letter",
        "trigger": {"id": "trigger", "type": "api_enrollment", "config": {}},
        "nodes": [
            {
                "id": "e1",
                "type": "send_email",
                "config": {"subject": "Hi", "body_html": "<p>Hi</p>", "category": code},
            }
        ],
        "edges": [{"source": "trigger", "target": "e1"}],
    }


def filter_on(code: str) -> dict[str, Any]:
    """A campaign that only filters on the category subscription (no message node names it)."""
    condition = {"all": [{"subscription": {"channel": "sms", "category": code}, "op": "subscribed"}]}
    return {
        "name": f"{code} filter",
        "trigger": {"id": "trigger", "type": "api_enrollment", "config": {}},
        "nodes": [{"id": "f1", "type": "filter_customers", "config": {"condition": condition}}],
        "edges": [{"source": "trigger", "target": "f1"}],
    }


def test_create_list_read_and_change_categories(client: httpx.Client) -> None:
    created = client.post("/categories", json=category("news", description="Weekly news"))
    assert created.status_code == 201, created.text
    news = created.json()
    assert news == {"id": news["id"], "code": "news", "name": "News", "description": "Weekly news"}
    for code in ("promo", "b2b_deals"):
        assert client.post("/categories", json=category(code)).status_code == 201

    page = client.get("/categories").json()
    assert [item["code"] for item in page["items"]] == ["b2b_deals", "news", "promo"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 100, 0)
    assert [item["code"] for item in client.get("/categories", params={"limit": 1, "offset": 2}).json()["items"]] == [
        "promo"
    ]
    assert client.get("/categories/news").json() == news

    renamed = client.patch("/categories/news", json={"name": "Newsletter"})
    assert renamed.json() == {**news, "name": "Newsletter"}
    cleared = client.patch("/categories/news", json={"description": None})
    assert cleared.json() == {**news, "name": "Newsletter", "description": None}

    # creating an existing code again replaces name and description (a set-up script may run twice)
    again = client.post("/categories", json=category("news", description="Again"))
    assert again.status_code == 200
    assert again.json() == {**news, "description": "Again"}
    assert client.get("/categories").json()["total"] == 3


def test_codes_and_changes_are_validated(client: httpx.Client) -> None:
    for code in ("News", "1news", "news-letter", "", "a" * 65, "news letter"):
        error = error_of(client.post("/categories", json=category("x") | {"code": code}), 422)
        assert error["details"][0]["field"] == "code", code
    error_of(client.post("/categories", json={"code": "news"}), 422)
    error_of(client.post("/categories", json=category("news", colour="red")), 422)
    assert client.post("/categories", json=category("news")).status_code == 201
    for body in ({}, {"name": None}, {"name": ""}, {"code": "other"}):
        assert error_of(client.patch("/categories/news", json=body), 422)["code"] == "invalid_input", body
    missing = error_of(client.get("/categories/nope"), 404)
    assert missing["code"] == "not_found" and "POST /api/v1/categories" in missing["message"]
    error_of(client.patch("/categories/nope", json={"name": "Nope"}), 404)
    error_of(client.delete("/categories/nope"), 404)


def test_a_category_without_members_or_campaigns_is_deleted(client: httpx.Client) -> None:
    client.post("/categories", json=category("news"))
    assert client.delete("/categories/news").status_code == 204
    error_of(client.get("/categories/news"), 404)
    assert client.post("/categories", json=category("news")).status_code == 201  # the code is free again


def test_deleting_a_category_customers_belong_to_needs_force(client: httpx.Client, services: Services) -> None:
    add_customers(client, {"external_id": "ann"}, {"external_id": "bob"}, {"external_id": "cid"})
    for code in ("news", "promo"):
        client.post("/categories", json=category(code))
    rows = [
        {"customer": "ann", "categories": {"news": {"email": "Y", "sms": "Y"}, "promo": {"email": "Y"}}},
        {"customer": "bob", "categories": {"news": {"email": "N"}}},
    ]
    assert client.post("/subscriptions", json={"customers": rows}).json()["errors"] == []

    error = error_of(client.delete("/categories/news"), 409)
    assert error["code"] == "conflict"
    assert error["details"] == {"code": "news", "members": 2, "subscribed": 1}
    assert "force=true" in error["message"]
    assert client.get("/customers/ann/subscriptions").json()["categories"]["news"] == {"email": "Y", "sms": "Y"}

    assert client.delete("/categories/news", params={"force": "true"}).status_code == 204
    assert client.get("/customers/ann/subscriptions").json()["categories"] == {"promo": {"email": "Y"}}
    assert client.get("/customers/bob/subscriptions").json()["categories"] == {}
    with services.db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(category_subscriptions)).scalar_one() == 1
    # a customer with only N rows still belongs to the category
    client.post("/subscriptions", json={"customers": [{"customer": "cid", "categories": {"promo": {"sms": "N"}}}]})
    client.patch("/customers/ann/subscriptions", json={"categories": {"promo": {"email": "ND"}}})
    assert error_of(client.delete("/categories/promo"), 409)["details"]["subscribed"] == 0


def test_a_category_used_by_a_running_campaign_is_never_deleted(client: httpx.Client) -> None:
    for code in ("news", "promo", "spare"):
        client.post("/categories", json=category(code))
    news_campaign = start_campaign(client, send_in("news"))
    promo_campaign = start_campaign(client, filter_on("promo"))
    draft = client.post("/campaigns", json=send_in("spare"))
    assert draft.status_code == 201

    for code, campaign_id in (("news", news_campaign), ("promo", promo_campaign)):
        for params in ({}, {"force": "true"}):
            error = error_of(client.delete(f"/categories/{code}", params=params), 409)
            assert error["details"]["campaigns"] == [
                {"id": campaign_id, "name": f"{code} {'letter' if code == 'news' else 'filter'}"}
            ]
            assert f"{campaign_id} (" in error["message"]
    # paused still counts: it may send again on resume
    assert client.post(f"/campaigns/{news_campaign}/pause").status_code == 200
    error_of(client.delete("/categories/news"), 409)
    # a stopped campaign sends no more; a draft has not started
    assert client.post(f"/campaigns/{news_campaign}/stop").status_code == 200
    assert client.delete("/categories/news").status_code == 204
    assert client.delete("/categories/spare").status_code == 204
