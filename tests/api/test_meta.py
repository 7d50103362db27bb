from __future__ import annotations

import httpx

from tests.api.conftest import serve
from tidings.api.app import create_app
from tidings.engine.clock import ManualClock
from tidings.model.campaign import CampaignDocument
from tidings.settings import Settings


def test_health(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "clock": "manual", "now": "2026-01-05T10:00:00Z"}


def test_campaign_schema(client: httpx.Client) -> None:
    schema = client.get("/schema/campaign").json()
    assert schema == CampaignDocument.model_json_schema()
    assert {"name", "trigger", "nodes", "edges"} <= set(schema["properties"])


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
        assert httpx.get(f"{url}/api/v1/campaigns", trust_env=False).json() == {"items": []}
    assert app.state.services.db.engine.pool.checkedout() == 0
