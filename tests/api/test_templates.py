"""Templates over HTTP: a campaign whose template cannot render is refused when saved, naming node, field and
line; ``POST /templates/preview`` renders for a chosen customer, with the trigger of their latest entry or sample
trigger data, warns about missing variables and answers 422 naming the field and the line (both databases)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import add_customers, error_of, start_campaign
from tests.engine.helpers import campaign, email_node

ANN = {
    "external_id": "ann",
    "email": "ann@example.com",
    "first_name": "Ann",
    "last_name": "Lee",
    "city": "Riga",
    "timezone": "Asia/Tokyo",
    "attributes": {"level": "gold"},
}


def setup_ann(client: httpx.Client) -> None:
    declared = client.post("/custom-fields", json={"code": "level", "name": "Loyalty level", "type": "text"})
    assert declared.status_code == 201, declared.text
    add_customers(client, ANN)


def preview(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/templates/preview", json={"customer": "ann", **body})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_template_that_cannot_render_is_refused_when_saved(client: httpx.Client) -> None:
    node = email_node("e1")
    node["config"]["body_html"] = "<p>Hi {{ customer.first_name }}</p>\n{% if customer.level %}\n<p>Gold</p>\n"
    error = error_of(client.post("/campaigns", json=campaign(node, edges=[("trigger", "e1")])), 422)
    assert error["code"] == "campaign.document_invalid"
    assert error["details"] == [
        {"node": "e1", "field": "config.body_html", "message": "line 2: 'if' is never closed; add {% endif %}"}
    ]
    assert error["message"] == (
        "invalid campaign: node 'e1', field 'config.body_html': line 2: 'if' is never closed; add {% endif %}"
    )

    subject = email_node("e1", "Hi {{ customer.first_name | upcase }}\n{{ order.total | mony }}")
    error = error_of(client.post("/campaigns", json=campaign(subject, edges=[("trigger", "e1")])), 422)
    assert error["details"] == [
        {
            "node": "e1",
            "field": "config.subject",
            "message": "line 2: unknown filter 'mony'; did you mean 'money'?",
        }
    ]
    assert client.get("/campaigns").json()["items"] == []

    # editing a saved campaign is checked the same way
    campaign_id = client.post("/campaigns", json=campaign(email_node("e1"), edges=[("trigger", "e1")])).json()["id"]
    broken = campaign(email_node("e1", "{% include 'header' %}"), edges=[("trigger", "e1")])
    error = error_of(client.put(f"/campaigns/{campaign_id}", json=broken), 422)
    assert error["details"][0] == {
        "node": "e1",
        "field": "config.subject",
        "message": "line 1: unexpected tag 'include'",
    }


def test_preview_renders_an_email_for_the_chosen_customer(client: httpx.Client) -> None:
    setup_ann(client)
    result = preview(
        client,
        subject="Hi {{ customer.first_name }} ({{ customer.level }})",
        body="<p>{{ customer.full_name }} of {{ customer.city }}</p>\n"
        "<p>{{ 'now' | date: '%H:%M %Z' }}</p>\n"
        '<a href="{{ unsubscribe_url }}">unsubscribe</a> <a href="{{ preferences_url }}">preferences</a>',
    )
    assert result["channel"] == "email" and result["customer"] == "ann"
    assert result["rendered"]["subject"] == "Hi Ann (gold)"
    assert result["rendered"]["body"] == (
        "<p>Ann Lee of Riga</p>\n<p>19:00 JST</p>\n"  # the clock is 10:00 UTC; Ann lives in Tokyo
        '<a href="http://127.0.0.1:8000/api/v1/unsubscribe/preview">unsubscribe</a> '
        '<a href="http://127.0.0.1:8000/api/v1/unsubscribe/preview">preferences</a>'
    )
    assert result["warnings"] == []


def test_preview_warns_about_missing_variables_per_field_and_line(client: httpx.Client) -> None:
    setup_ann(client)
    result = preview(client, subject="Hi {{ customer.nickname }}", body="<p>\n{{ event.name }}{{ campaign.name }}</p>")
    assert result["rendered"] == {"subject": "Hi ", "body": "<p>\n</p>"}
    assert result["warnings"] == [
        {"field": "subject", "line": 1, "problem": "customer.nickname is not defined; it rendered as empty"},
        {"field": "body", "line": 2, "problem": "event is not defined; it rendered as empty"},
        {"field": "body", "line": 2, "problem": "campaign is not defined; it rendered as empty"},
    ]


def test_preview_with_the_trigger_of_the_latest_entry(client: httpx.Client) -> None:
    setup_ann(client)
    document = campaign(
        email_node("e1"),
        edges=[("trigger", "e1")],
        trigger={"id": "trigger", "type": "event_occurred", "config": {"event": "order_paid"}},
    )
    campaign_id = start_campaign(client, document)
    event = {"customer": "ann", "name": "order_paid", "properties": {"total": 42.5, "coupon": "HELLO"}}
    assert client.post("/events", json={"events": [event]}).json() == {"accepted": 1, "errors": []}
    assert client.post("/clock/advance", json={"by": "PT1M"}).json()["entered"] == 1
    source = (
        "{{ campaign.name }}: {{ event.name }} {{ event.properties.total | money: 'EUR' }} "
        "with {{ event.properties.coupon }} at {{ event.occurred_at | date: '%H:%M' }}"
    )
    result = preview(client, channel="sms", template=source, campaign_id=campaign_id)
    assert result["rendered"] == {"template": "Test campaign: order_paid 42.50 EUR with HELLO at 19:00"}
    assert error_of(
        client.post("/templates/preview", json={"customer": "ann", "template": "x", "campaign_id": 999}), 404
    )


def test_preview_with_sample_trigger_data(client: httpx.Client) -> None:
    setup_ann(client)
    order = {
        "external_id": "A-1",
        "kind": "order",
        "customer": "ann",
        "placed_at": "2026-01-04T16:30:00Z",
        "lines": [{"sku": "SOCKS", "quantity": 3, "price": 4.5}, {"sku": "HAT", "quantity": 1, "price": 20}],
    }
    assert client.post("/orders", json={"orders": [order]}).json() == {"upserted": 1, "errors": []}
    source = (
        "{{ order.id }} {{ order.placed_at | date: '%d.%m %H:%M' }}: "
        "{% for line in order.lines %}{{ line.quantity }}×{{ line.sku }} {% endfor %}= {{ order.total | money }}; "
        "{{ event.name }} {{ event.properties.page }}; {{ context.promo }}"
    )
    result = preview(
        client,
        channel="push",
        template=source,
        order="A-1",
        event={"name": "viewed", "properties": {"page": "/sale"}},
        context={"promo": "WINTER"},
    )
    assert result["rendered"]["template"] == "A-1 05.01 01:30: 3×SOCKS 1×HAT = 33.50; viewed /sale; WINTER"
    error = error_of(client.post("/templates/preview", json={"customer": "ann", "template": "x", "order": "B-2"}), 404)
    assert error["details"] == {"order": "B-2"}


def test_preview_errors_name_the_field_and_the_line(client: httpx.Client) -> None:
    setup_ann(client)
    response = client.post("/templates/preview", json={"customer": "ann", "subject": "Hi", "body": "<p>\n{% endif %}"})
    error = error_of(response, 422)
    assert error["code"] == "template.syntax"
    assert error["message"] == "body: line 2: unexpected tag 'endif'"
    assert error["details"] == {"field": "body", "line": 2, "column": 4, "problem": "unexpected tag 'endif'"}

    loop = "{% for i in (1..1000) %}{% for j in (1..1000) %}x{% endfor %}{% endfor %}"
    error = error_of(client.post("/templates/preview", json={"customer": "ann", "template": loop}), 422)
    assert error["code"] == "template.limit_exceeded"
    assert error["details"]["limit"] == "loop_iterations" and error["details"]["field"] == "template"

    money = "{{ customer.city | money }}"
    error = error_of(client.post("/templates/preview", json={"customer": "ann", "template": money}), 422)
    assert (error["code"], error["message"]) == (
        "template.render",
        "template: line 1: money expects a number, found 'Riga'",
    )

    assert error_of(client.post("/templates/preview", json={"customer": "nobody", "template": "x"}), 404)
    sms = {"customer": "ann", "channel": "sms", "subject": "Hi"}
    assert error_of(client.post("/templates/preview", json=sms), 422)["code"] == "invalid_input"
    assert error_of(client.post("/templates/preview", json={"customer": "ann"}), 422)["code"] == "invalid_input"
