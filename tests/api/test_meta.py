from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import serve
from tidings.api.app import create_app
from tidings.core.clock import ManualClock
from tidings.document.campaign import CampaignDocument
from tidings.document.registry import ACTIONS
from tidings.settings import Settings


def test_health(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "clock": "manual", "now": "2026-01-05T10:00:00Z"}


def test_campaign_schema(client: httpx.Client) -> None:
    schema = client.get("/schema/campaign").json()
    assert schema == CampaignDocument.model_json_schema()
    assert {"name", "trigger", "nodes", "edges"} <= set(schema["properties"])


#: The Liquid fields of each action (``TemplateText``), which the editor shows as templates with a preview.
TEMPLATE_FIELDS = {
    "send_email": {"subject", "body_html"},
    "notify_manager": {"subject", "body_html"},
    "send_sms": {"text", "viber_button_text"},
    "send_push": {"title", "text", "link"},
    "send_notification": {"title", "text"},
    "show_popup": {"title", "subtitle", "text", "promo_code"},
}


def action_config(schema: dict[str, Any], node_type: str) -> dict[str, Any]:
    mapping = schema["properties"]["nodes"]["items"]["discriminator"]["mapping"]
    node = schema["$defs"][mapping[node_type].rsplit("/", 1)[-1]]
    config: dict[str, Any] = schema["$defs"][node["properties"]["config"]["$ref"].rsplit("/", 1)[-1]]
    return config


def is_template(field: dict[str, Any]) -> bool:
    """Marked on the string itself, or on the string of an optional field's ``anyOf``."""
    return any(option.get("x-template") is True for option in [field, *field.get("anyOf", [])])


def test_campaign_schema_marks_template_fields(client: httpx.Client) -> None:
    schema = client.get("/schema/campaign").json()
    email = action_config(schema, "send_email")["properties"]
    assert email["subject"]["x-template"] is True
    assert email["body_html"]["x-template"] is True
    assert (email["subject"]["type"], email["subject"]["maxLength"]) == ("string", 998)  # constraints kept
    assert "x-template" not in email["sender_name"] and not is_template(email["sender_name"])
    sms = action_config(schema, "send_sms")["properties"]
    assert sms["text"]["x-template"] is True
    assert [option.get("x-template") for option in sms["viber_button_text"]["anyOf"]] == [True, None]
    marked = {
        node_type: {
            name for name, field in action_config(schema, node_type)["properties"].items() if is_template(field)
        }
        for node_type in ACTIONS
    }
    assert {node_type: names for node_type, names in marked.items() if names} == TEMPLATE_FIELDS


def test_openapi_documents_every_route_under_the_prefix(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert all(path.startswith("/api/v1/") for path in spec["paths"])
    assert {
        "/api/v1/customers",
        "/api/v1/events",
        "/api/v1/campaigns/{campaign_id}/stats",
        "/api/v1/clock/advance",
        "/api/v1/mailbox",
        "/api/v1/settings",
    } <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    assert "external_id" in schemas["CustomerIn"]["properties"]
    assert "properties" in schemas["EventIn"]["properties"]
    create = spec["paths"]["/api/v1/campaigns"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"trigger", "nodes"} <= set(create["properties"])
    assert client.get("/docs").status_code == 200


def test_an_app_built_from_settings_owns_its_services(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, clock="manual"), clock=ManualClock())
    with serve(app) as url:
        health = httpx.get(f"{url}/api/v1/health", trust_env=False).json()
        assert (health["status"], health["clock"]) == ("ok", "manual")
        assert httpx.get(f"{url}/api/v1/campaigns", trust_env=False).status_code == 401
    assert app.state.services.db.engine.pool.checkedout() == 0
